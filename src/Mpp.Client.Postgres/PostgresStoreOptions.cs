namespace Mpp.Client.Postgres;

/// <summary>Where in PostgreSQL the stores live.</summary>
public sealed class PostgresStoreOptions
{
    /// <summary>Gets or sets the schema (PostgreSQL namespace) holding MppClient's tables; created when missing.</summary>
    /// <value>The default is <c>mpp</c>.</value>
    public string Schema { get; set; } = "mpp";
}

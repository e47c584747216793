using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Mpp.Client;
using Mpp.Client.Postgres;
using Mpp.Client.Tempo;
using Npgsql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Keeps MppClient's state in PostgreSQL, shared by a fleet of agents.</summary>
public static class PostgresMppBuilderExtensions
{
    /// <summary>
    /// Keeps the budget ledger, the payment journal, the receipts and the Tempo session channels in PostgreSQL: every agent
    /// pointed at the same database and schema spends one budget and shares its channels under leases. The schema is created
    /// or migrated when the host starts; an unreachable or unusable database fails start-up (and, later, any payment) with a
    /// <see cref="PaymentStoreException"/>, and nothing is paid.
    /// </summary>
    /// <param name="builder">The MPP builder.</param>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="configure">Sets the schema.</param>
    /// <returns>The builder.</returns>
    public static MppBuilder UsePostgres(this MppBuilder builder, string connectionString, Action<PostgresStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return Register(builder, configure, (options, time) => MppPostgresDatabase.Open(connectionString, options, time));
    }

    /// <summary>Keeps MppClient's state in PostgreSQL through a data source you own (pooling, credentials and its lifetime stay yours).</summary>
    /// <param name="builder">The MPP builder.</param>
    /// <param name="dataSource">The data source.</param>
    /// <param name="configure">Sets the schema.</param>
    /// <returns>The builder.</returns>
    public static MppBuilder UsePostgres(this MppBuilder builder, NpgsqlDataSource dataSource, Action<PostgresStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dataSource);
        return Register(builder, configure, (options, time) => MppPostgresDatabase.Open(dataSource, options, time));
    }

    private static MppBuilder Register(MppBuilder builder, Action<PostgresStoreOptions>? configure, Func<PostgresStoreOptions, TimeProvider, MppPostgresDatabase> open)
    {
        var options = new PostgresStoreOptions();
        configure?.Invoke(options);
        builder.Services.Replace(ServiceDescriptor.Singleton(sp => open(options, sp.GetRequiredService<TimeProvider>())));
        builder.Services.Replace(ServiceDescriptor.Singleton<IChannelStore>(sp => new PostgresChannelStore(
            sp.GetRequiredService<MppPostgresDatabase>(),
            sp.GetService<IOptions<TempoSessionOptions>>()?.Value.LeaseDuration)));
        return builder.UseStores(
            sp => new PostgresSpendLedger(sp.GetRequiredService<MppPostgresDatabase>()),
            sp => new PostgresPaymentJournal(sp.GetRequiredService<MppPostgresDatabase>()),
            sp => new PostgresReceiptStore(sp.GetRequiredService<MppPostgresDatabase>()));
    }
}

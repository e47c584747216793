using Microsoft.Data.Sqlite;

namespace Mpp.Client;

/// <summary>One open connection with its prepared commands (each SQL text is prepared once per connection and reused).</summary>
internal sealed class SqliteSession : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    public SqliteSession(SqliteConnection connection) => Connection = connection;

    public SqliteConnection Connection { get; }

    /// <summary>A prepared command for <paramref name="sql"/> whose parameters <c>@p0</c>, <c>@p1</c>… take <paramref name="values"/>.</summary>
    public SqliteCommand Command(string sql, params object?[] values)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters.Add(new SqliteParameter("@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), null));
            }

            _commands[sql] = command;
        }

        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }

        return command;
    }

    /// <summary>Runs a script (several statements; not cached).</summary>
    public void Script(string sql)
    {
        using var command = Connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public int Execute(string sql, params object?[] values) => Command(sql, values).ExecuteNonQuery();

    public long Scalar(string sql, params object?[] values) => Command(sql, values).ExecuteScalar() switch
    {
        null or DBNull => 0,
        long value => value,
        var other => Convert.ToInt64(other, System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Ends the transaction in progress, if SQLite has not ended it already; a connection that cannot is closed (which ends it).</summary>
    public void RollBack()
    {
        if (Connection.State != System.Data.ConnectionState.Open || SQLitePCL.raw.sqlite3_get_autocommit(Connection.Handle) != 0)
        {
            return;
        }

        try
        {
            Execute("ROLLBACK");
        }
        catch (SqliteException)
        {
            Connection.Close();
        }
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        Connection.Dispose();
    }
}

using System.Globalization;
using System.Text;
using Mpp.Client.Tempo;
using Npgsql;

namespace Mpp.Client.Postgres;

/// <summary>
/// Session channels in PostgreSQL, shared by a fleet. Each channel is leased to one store (one agent) at a time: taking a
/// lease and saving a record each lock the channel's row (<c>SELECT … FOR UPDATE</c>), check the holder and, for a save, that
/// the voucher high-water mark does not go down. Leases are timed by the database's clock, renewed every third of their
/// duration while held, and taken over once expired, so a crashed agent's channel continues at its stored high-water mark.
/// </summary>
public sealed class PostgresChannelStore : IChannelStore, IDisposable
{
    private readonly MppPostgresDatabase _database;
    private readonly long _leaseMs;
    private readonly ITimer _renewal;
    private int _disposed;

    /// <summary>Initializes a store in <paramref name="database"/>.</summary>
    /// <param name="database">The open database.</param>
    /// <param name="leaseDuration">How long a lease lasts without renewal; by default 30 seconds.</param>
    public PostgresChannelStore(MppPostgresDatabase database, TimeSpan? leaseDuration = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        var duration = leaseDuration ?? ChannelLeasing.DefaultDuration;
        ChannelLeasing.Validate(duration);
        _database = database;
        _leaseMs = (long)duration.TotalMilliseconds;
        _renewal = ChannelLeasing.StartRenewal(database.Time, duration, RenewAsync);
    }

    /// <summary>Gets the owner id this store's leases carry.</summary>
    public string LeaseOwner => _database.OwnerId;

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SessionChannel>> LoadAsync(CancellationToken cancellationToken)
        => _database.RunAsync<IReadOnlyList<SessionChannel>>(
            async connection =>
            {
                var channels = new List<SessionChannel>();
                using var command = _database.Command(connection, "SELECT channel_id, record::text FROM {0}.channels ORDER BY updated_at");
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    channels.Add(Parse(reader.GetString(0), reader.GetString(1)));
                }

                return channels;
            },
            "loading channels",
            cancellationToken);

    /// <inheritdoc />
    public async ValueTask SaveAsync(SessionChannel channel, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        var record = Encoding.UTF8.GetString(channel.ToJsonUtf8());

        // The usual case in one statement: held here, and the high-water mark does not go down (both checked by the UPDATE itself).
        var saved = await _database.RunAsync(
            c => _database.ExecuteAsync(
                c,
                "UPDATE {0}.channels SET state = $2, highest_signed = $3::numeric, record = $4::jsonb, lease_expires = now() + $5 * interval '1 millisecond', updated_at = now() WHERE channel_id = $1 AND lease_owner = $6 AND highest_signed <= $3::numeric",
                cancellationToken,
                channel.ChannelId, channel.State.ToString(), Text(channel.HighestSigned), record, _leaseMs, _database.OwnerId),
            "saving a channel",
            cancellationToken).ConfigureAwait(false);
        if (saved == 1)
        {
            return;
        }

        // A new channel, or a refusal to explain.
        await _database.TransactAsync(
            async connection =>
            {
                var row = await LockAsync(connection, channel.ChannelId, cancellationToken).ConfigureAwait(false);
                if (row is null)
                {
                    await InsertAsync(connection, channel, cancellationToken).ConfigureAwait(false);
                    return true;
                }

                if (row.Value.Owner != _database.OwnerId)
                {
                    throw ChannelLeasing.NotHeld(channel.ChannelId, row.Value.Owner);
                }

                if (channel.HighestSigned < row.Value.Highest)
                {
                    throw ChannelLeasing.Lower(channel.ChannelId, row.Value.Highest, channel.HighestSigned);
                }

                await _database.ExecuteAsync(
                    connection,
                    "UPDATE {0}.channels SET state = $2, highest_signed = $3::numeric, record = $4::jsonb, lease_expires = now() + $5 * interval '1 millisecond', updated_at = now() WHERE channel_id = $1",
                    cancellationToken,
                    channel.ChannelId, channel.State.ToString(), Text(channel.HighestSigned), record, _leaseMs).ConfigureAwait(false);
                return true;
            },
            "saving a channel",
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<SessionChannel?> TryLeaseAsync(SessionChannel channel, bool waiting, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return _database.TransactAsync<SessionChannel?>(
            async connection =>
            {
                var row = await LockAsync(connection, channel.ChannelId, cancellationToken).ConfigureAwait(false);
                if (row is null)
                {
                    await InsertAsync(connection, channel, cancellationToken).ConfigureAwait(false);
                    return channel;
                }

                var (owner, expired, _, _, wantedBy, wantedRecently) = row.Value;
                if (!ChannelLeasing.MayTake(owner, expired, wantedBy, wantedRecently, _database.OwnerId))
                {
                    if (waiting && ChannelLeasing.MayClaimNext(wantedBy, wantedRecently, _database.OwnerId))
                    {
                        await _database.ExecuteAsync(connection, "UPDATE {0}.channels SET lease_wanted_by = $2, lease_wanted_at = now() WHERE channel_id = $1", cancellationToken, channel.ChannelId, _database.OwnerId).ConfigureAwait(false);
                    }

                    return null;
                }

                await _database.ExecuteAsync(
                    connection,
                    "UPDATE {0}.channels SET lease_owner = $2, lease_expires = now() + $3 * interval '1 millisecond', lease_wanted_by = CASE WHEN lease_wanted_by = $2 THEN NULL ELSE lease_wanted_by END WHERE channel_id = $1",
                    cancellationToken,
                    channel.ChannelId, _database.OwnerId, _leaseMs).ConfigureAwait(false);
                return Parse(channel.ChannelId, row.Value.Record);
            },
            "leasing a channel",
            cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask ReleaseLeaseAsync(string channelId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channelId);
        await _database.RunAsync(c => _database.ExecuteAsync(c, "UPDATE {0}.channels SET lease_owner = NULL, lease_expires = '-infinity' WHERE channel_id = $1 AND lease_owner = $2", cancellationToken, channelId, _database.OwnerId), "releasing a channel lease", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops renewing and gives up every lease this store holds.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _renewal.Dispose();
        try
        {
            _database.RunAsync(c => _database.ExecuteAsync(c, "UPDATE {0}.channels SET lease_owner = NULL, lease_expires = '-infinity' WHERE lease_owner = $1", CancellationToken.None, _database.OwnerId), "releasing channel leases", CancellationToken.None)
                .AsTask().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is PaymentStoreException or ObjectDisposedException)
        {
            // The leases expire on their own.
        }
    }

    private async Task RenewAsync()
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            await _database.RunAsync(c => _database.ExecuteAsync(c, "UPDATE {0}.channels SET lease_expires = now() + $2 * interval '1 millisecond' WHERE lease_owner = $1", CancellationToken.None, _database.OwnerId, _leaseMs), "renewing channel leases", CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task<(string? Owner, bool Expired, System.Numerics.BigInteger Highest, string Record, string? WantedBy, bool WantedRecently)?> LockAsync(NpgsqlConnection connection, string channelId, CancellationToken cancellationToken)
    {
        using var command = _database.Command(
            connection,
            "SELECT lease_owner, lease_expires <= now(), highest_signed::text, record::text, lease_wanted_by, lease_wanted_at > now() - $2 * interval '1 millisecond' FROM {0}.channels WHERE channel_id = $1 FOR UPDATE",
            channelId,
            (long)ChannelLeasing.WantedFor.TotalMilliseconds);
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return (reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetBoolean(1), System.Numerics.BigInteger.Parse(reader.GetString(2), CultureInfo.InvariantCulture), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetBoolean(5));
    }

    private Task<int> InsertAsync(NpgsqlConnection connection, SessionChannel channel, CancellationToken cancellationToken)
        => _database.ExecuteAsync(
            connection,
            "INSERT INTO {0}.channels (channel_id, payer, state, highest_signed, record, lease_owner, lease_expires, updated_at) VALUES ($1, $2, $3, $4::numeric, $5::jsonb, $6, now() + $7 * interval '1 millisecond', now())",
            cancellationToken,
            channel.ChannelId, channel.Payer, channel.State.ToString(), Text(channel.HighestSigned), Encoding.UTF8.GetString(channel.ToJsonUtf8()), _database.OwnerId, _leaseMs);

    private static string Text(System.Numerics.BigInteger value) => value.ToString(CultureInfo.InvariantCulture);

    private static SessionChannel Parse(string channelId, string record)
    {
        try
        {
            return SessionChannel.FromJsonUtf8(Encoding.UTF8.GetBytes(record));
        }
        catch (FormatException ex)
        {
            throw new PaymentStoreException($"PostgreSQL store: the record of channel {channelId} is damaged ({ex.Message}).", ex);
        }
    }
}

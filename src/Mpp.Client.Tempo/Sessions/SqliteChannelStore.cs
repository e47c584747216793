using System.Text;

namespace Mpp.Client.Tempo;

/// <summary>
/// Session channels in the SQLite file of <see cref="MppSqliteDatabase"/>, beside the ledger, journal and receipts. Each
/// channel is leased to one store (one process) at a time: every lease change and every save, with its high-water check,
/// is one write transaction. A lease is renewed while held and expires when its holder stops renewing it; a holder on this
/// machine whose process has died loses its leases at once.
/// </summary>
public sealed class SqliteChannelStore : IChannelStore, IDisposable
{
    private readonly MppSqliteDatabase _database;
    private readonly TimeSpan _leaseDuration;
    private readonly ITimer _renewal;
    private int _disposed;

    /// <summary>Initializes a store in <paramref name="database"/>; imports the channel files of earlier versions once when the database names a folder to import.</summary>
    /// <param name="database">The open database.</param>
    /// <param name="leaseDuration">How long a lease lasts without renewal; by default 30 seconds.</param>
    public SqliteChannelStore(MppSqliteDatabase database, TimeSpan? leaseDuration = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        _leaseDuration = leaseDuration ?? ChannelLeasing.DefaultDuration;
        ChannelLeasing.Validate(_leaseDuration);
        if (database.ImportFrom is { } folder)
        {
            database.WriteAsync(session => ImportFiles(session, Path.Combine(Path.GetFullPath(folder), "channels")), "importing the earlier channel files", CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }

        _renewal = ChannelLeasing.StartRenewal(database.Time, _leaseDuration, RenewAsync);
    }

    /// <summary>Gets the owner id this store's leases carry.</summary>
    public string LeaseOwner => _database.OwnerId;

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SessionChannel>> LoadAsync(CancellationToken cancellationToken)
        => ValueTask.FromResult<IReadOnlyList<SessionChannel>>(_database.Read(
            session =>
            {
                var channels = new List<SessionChannel>();
                using var reader = session.Command("SELECT channel_id, record FROM channels ORDER BY updated_ms").ExecuteReader();
                while (reader.Read())
                {
                    channels.Add(Parse(reader.GetString(0), reader.GetString(1)));
                }

                return channels;
            },
            "loading channels"));

    /// <inheritdoc />
    public async ValueTask SaveAsync(SessionChannel channel, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        var wanted = ChannelLeasing.HighWater(channel.HighestSigned);
        var record = Encoding.UTF8.GetString(channel.ToJsonUtf8());

        // The usual case in one statement: held here, and the high-water mark does not go down (both checked by the UPDATE itself).
        var saved = await _database.ChangeAsync(
            session =>
            {
                var now = NowMs();
                return session.Execute(
                    "UPDATE channels SET state = @p1, highest_signed = @p2, record = @p3, lease_expires_ms = @p4, updated_ms = @p5 WHERE channel_id = @p0 AND lease_owner = @p6 AND highest_signed <= @p2",
                    channel.ChannelId, channel.State.ToString(), wanted, record, now + (long)_leaseDuration.TotalMilliseconds, now, _database.OwnerId);
            },
            "saving a channel",
            cancellationToken).ConfigureAwait(false);
        if (saved == 1)
        {
            return;
        }

        // A new channel, or a refusal to explain.
        await _database.WriteAsync(
            session =>
            {
                var now = NowMs();
                if (ReadOrInsert(session, channel, now) is not { } row)
                {
                    return true;
                }

                var (owner, _, highest, _, _, _) = row;
                if (owner != _database.OwnerId)
                {
                    throw ChannelLeasing.NotHeld(channel.ChannelId, owner);
                }

                if (string.CompareOrdinal(wanted, highest) < 0)
                {
                    throw ChannelLeasing.Lower(channel.ChannelId, System.Numerics.BigInteger.Parse(highest, System.Globalization.CultureInfo.InvariantCulture), channel.HighestSigned);
                }

                session.Execute(
                    "UPDATE channels SET state = @p1, highest_signed = @p2, record = @p3, lease_expires_ms = @p4, updated_ms = @p5 WHERE channel_id = @p0",
                    channel.ChannelId, channel.State.ToString(), wanted, record, now + (long)_leaseDuration.TotalMilliseconds, now);
                return true;
            },
            "saving a channel",
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<SessionChannel?> TryLeaseAsync(SessionChannel channel, bool waiting, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return _database.WriteAsync<SessionChannel?>(
            session =>
            {
                var now = NowMs();
                if (ReadOrInsert(session, channel, now) is not { } row)
                {
                    return channel;
                }

                var (owner, expires, _, record, wantedBy, wantedMs) = row;
                var wantedRecently = wantedMs > now - (long)ChannelLeasing.WantedFor.TotalMilliseconds;
                if (!ChannelLeasing.MayTake(owner, expires <= now, wantedBy, wantedRecently, _database.OwnerId))
                {
                    if (waiting && ChannelLeasing.MayClaimNext(wantedBy, wantedRecently, _database.OwnerId))
                    {
                        session.Execute("UPDATE channels SET lease_wanted_by = @p1, lease_wanted_ms = @p2 WHERE channel_id = @p0", channel.ChannelId, _database.OwnerId, now);
                    }

                    return null;
                }

                session.Execute(
                    "UPDATE channels SET lease_owner = @p1, lease_expires_ms = @p2, lease_wanted_by = CASE WHEN lease_wanted_by = @p1 THEN NULL ELSE lease_wanted_by END WHERE channel_id = @p0",
                    channel.ChannelId, _database.OwnerId, now + (long)_leaseDuration.TotalMilliseconds);
                return Parse(channel.ChannelId, record);
            },
            "leasing a channel",
            cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask ReleaseLeaseAsync(string channelId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channelId);
        await _database.ChangeAsync(
            session => session.Execute("UPDATE channels SET lease_owner = NULL, lease_expires_ms = 0 WHERE channel_id = @p0 AND lease_owner = @p1", channelId, _database.OwnerId),
            "releasing a channel lease",
            cancellationToken).ConfigureAwait(false);
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
            _database.ChangeAsync(session => session.Execute("UPDATE channels SET lease_owner = NULL, lease_expires_ms = 0 WHERE lease_owner = @p0", _database.OwnerId), "releasing channel leases", CancellationToken.None)
                .AsTask().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is PaymentStoreException or ObjectDisposedException)
        {
            // The leases expire on their own.
        }
    }

    private async Task RenewAsync()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        await _database.ChangeAsync(
            session => session.Execute("UPDATE channels SET lease_expires_ms = @p1 WHERE lease_owner = @p0", _database.OwnerId, NowMs() + (long)_leaseDuration.TotalMilliseconds),
            "renewing channel leases",
            CancellationToken.None).ConfigureAwait(false);
    }

    private long NowMs() => _database.Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The channel's lease and high-water mark, inside the caller's write transaction; a channel not stored yet is stored, leased here, and <see langword="null"/> returned.</summary>
    private (string? Owner, long ExpiresMs, string Highest, string Record, string? WantedBy, long WantedMs)? ReadOrInsert(SqliteSession session, SessionChannel channel, long now)
    {
        using (var reader = session.Command("SELECT lease_owner, lease_expires_ms, highest_signed, record, lease_wanted_by, lease_wanted_ms FROM channels WHERE channel_id = @p0", channel.ChannelId).ExecuteReader())
        {
            if (reader.Read())
            {
                return (reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt64(5));
            }
        }

        Insert(session, channel, _database.OwnerId, now);
        return null;
    }

    private void Insert(SqliteSession session, SessionChannel channel, string? owner, long now)
        => session.Execute(
            "INSERT INTO channels (channel_id, payer, state, highest_signed, record, lease_owner, lease_expires_ms, updated_ms) VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7)",
            channel.ChannelId, channel.Payer, channel.State.ToString(), ChannelLeasing.HighWater(channel.HighestSigned), Encoding.UTF8.GetString(channel.ToJsonUtf8()),
            owner, owner is null ? 0 : now + (long)_leaseDuration.TotalMilliseconds, now);

    private int ImportFiles(SqliteSession session, string folder)
    {
        const string source = "channels"; // once per database
        if (!Directory.Exists(folder) || session.Scalar("SELECT count(*) FROM mpp_imports WHERE source = @p0", source) > 0)
        {
            return 0;
        }

        var count = 0;
        foreach (var path in Directory.EnumerateFiles(folder, "0x*.channel.json").Order(StringComparer.Ordinal))
        {
            var bytes = File.ReadAllBytes(path).AsSpan().TrimEnd((byte)' ');
            if (bytes.IsEmpty)
            {
                continue;
            }

            SessionChannel channel;
            try
            {
                channel = SessionChannel.FromJsonUtf8(bytes);
            }
            catch (FormatException ex)
            {
                throw new PaymentStoreException($"The earlier channel file '{path}' cannot be imported ({ex.Message}); nothing was imported. Fix or move it, then start again.", ex);
            }

            if (session.Scalar("SELECT count(*) FROM channels WHERE channel_id = @p0", channel.ChannelId) == 0)
            {
                Insert(session, channel, null, NowMs());
                count++;
            }
        }

        session.Execute("INSERT INTO mpp_imports (source, imported_at, detail) VALUES (@p0, @p1, @p2)", source, _database.Now(), $"{folder}: {count} channels");
        return count;
    }

    private SessionChannel Parse(string channelId, string record)
    {
        try
        {
            return SessionChannel.FromJsonUtf8(Encoding.UTF8.GetBytes(record));
        }
        catch (FormatException ex)
        {
            throw new PaymentStoreException($"SQLite store: the record of channel {channelId} in '{_database.Path}' is damaged ({ex.Message}).", ex);
        }
    }
}

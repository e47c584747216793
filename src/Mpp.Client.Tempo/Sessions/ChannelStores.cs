using System.Collections.Concurrent;

namespace Mpp.Client.Tempo;

/// <summary>
/// Keeps session channels. <see cref="SaveAsync"/> returns only once the record would survive the process dying: the
/// session manager saves a voucher's amount before the voucher leaves, so a restart never signs lower.
/// </summary>
/// <remarks>
/// A store shared by several processes (SQLite, PostgreSQL) leases each channel to one holder at a time, so two processes
/// never sign vouchers on one channel at once: <see cref="TryLeaseAsync"/> takes (or renews) the lease and returns the
/// freshest stored record, <see cref="SaveAsync"/> refuses a record whose lease this store does not hold, and a lease that
/// is not renewed expires, so a crashed holder's channel is taken over at its stored high-water mark. A store used by one
/// process only (memory) leases trivially. A wrapper around another store must forward all four operations.
/// </remarks>
public interface IChannelStore
{
    /// <summary>Loads every stored channel (taking no lease).</summary>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>The channels.</returns>
    ValueTask<IReadOnlyList<SessionChannel>> LoadAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Inserts or replaces a channel, durably. A new channel is leased to this store; an existing one must be leased to it
    /// (else <see cref="ChannelLeaseException"/>, and nothing was written), and its stored high-water mark never goes down.
    /// </summary>
    /// <param name="channel">The channel.</param>
    /// <param name="cancellationToken">Cancels the save.</param>
    /// <returns>A task.</returns>
    ValueTask SaveAsync(SessionChannel channel, CancellationToken cancellationToken);

    /// <summary>
    /// Takes or renews the lease on a channel for this store, unless another holder's lease is still running (one that
    /// expired, or whose process is known to have died, is taken over). A channel not stored yet is stored with the lease.
    /// </summary>
    /// <param name="channel">The channel as the caller knows it.</param>
    /// <param name="waiting">Whether the caller will try again until it gets the lease: it then claims the next turn, and a
    /// lease given up goes to it before a process that asks without waiting (so no process is starved).</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>The freshest stored record when the lease is now held here; <see langword="null"/> when another holder has it.</returns>
    ValueTask<SessionChannel?> TryLeaseAsync(SessionChannel channel, bool waiting, CancellationToken cancellationToken) => ValueTask.FromResult<SessionChannel?>(channel);

    /// <summary>Gives up the lease on a channel (another process may take it at once).</summary>
    /// <param name="channelId">The channel id.</param>
    /// <param name="cancellationToken">Cancels the release (the lease then simply expires).</param>
    /// <returns>A task.</returns>
    ValueTask ReleaseLeaseAsync(string channelId, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>A channel store refused a save because this process does not hold the channel's lease (another process took it over); nothing was signed.</summary>
public sealed class ChannelLeaseException : MppException
{
    /// <summary>Initializes the exception.</summary>
    /// <param name="channelId">The channel.</param>
    /// <param name="message">What happened.</param>
    public ChannelLeaseException(string channelId, string message)
        : base(message)
    {
        ChannelId = channelId;
    }

    /// <summary>Gets the channel concerned.</summary>
    public string ChannelId { get; }
}

/// <summary>Channels held in memory, for one process: forgotten when it ends (close channels before then, or use the SQLite store, <c>UseSqlite</c>).</summary>
public sealed class InMemoryChannelStore : IChannelStore
{
    private readonly ConcurrentDictionary<string, SessionChannel> _channels = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SessionChannel>> LoadAsync(CancellationToken cancellationToken) => ValueTask.FromResult<IReadOnlyList<SessionChannel>>([.. _channels.Values]);

    /// <inheritdoc />
    public ValueTask SaveAsync(SessionChannel channel, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _channels[channel.ChannelId] = channel;
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<SessionChannel?> TryLeaseAsync(SessionChannel channel, bool waiting, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return ValueTask.FromResult<SessionChannel?>(_channels.GetOrAdd(channel.ChannelId, channel));
    }
}

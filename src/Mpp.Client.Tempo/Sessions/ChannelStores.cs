using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;

namespace Mpp.Client.Tempo;

/// <summary>
/// Keeps session channels. <see cref="SaveAsync"/> returns only once the record would survive the process dying: the
/// session manager saves a voucher's amount before the voucher leaves, so a restart never signs lower.
/// </summary>
public interface IChannelStore
{
    /// <summary>Loads every channel this process may use (a durable store skips channels another process holds).</summary>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>The channels.</returns>
    ValueTask<IReadOnlyList<SessionChannel>> LoadAsync(CancellationToken cancellationToken);

    /// <summary>Inserts or replaces a channel, durably.</summary>
    /// <param name="channel">The channel.</param>
    /// <param name="cancellationToken">Cancels the save.</param>
    /// <returns>A task.</returns>
    ValueTask SaveAsync(SessionChannel channel, CancellationToken cancellationToken);
}

/// <summary>Channels held in memory: forgotten when the process ends (close channels before then, or use <see cref="FileChannelStore"/>).</summary>
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
}

/// <summary>
/// Channels in a directory, one JSON file per channel. A process takes an exclusive OS lock on each channel file it
/// uses and keeps it while it runs, so two processes never sign vouchers for the same channel; another process sees the
/// channel as busy and opens its own. Each save is a single positioned write of the whole record (padded so nothing
/// needs truncating), which a killed process cannot tear; <see cref="FlushToDisk"/> adds an fsync for power loss.
/// </summary>
public sealed class FileChannelStore : IChannelStore, IDisposable
{
    private readonly string _directory;
    private readonly ConcurrentDictionary<string, Held> _held = new(StringComparer.Ordinal);

    /// <summary>Initializes a store in <paramref name="directory"/> (created if missing).</summary>
    /// <param name="directory">The directory.</param>
    public FileChannelStore(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _directory = Path.GetFullPath(directory);
        Directory.CreateDirectory(_directory);
    }

    /// <summary>Gets or sets whether each save is flushed to the disk (fsync) before it returns; off by default (a killed process loses nothing either way).</summary>
    public bool FlushToDisk { get; set; }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SessionChannel>> LoadAsync(CancellationToken cancellationToken)
    {
        var channels = new List<SessionChannel>();
        foreach (var path in Directory.EnumerateFiles(_directory, "0x*.channel.json"))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var id = Path.GetFileName(path)[..^".channel.json".Length];
            if (!TryHold(id, out var held))
            {
                continue; // another process uses it
            }

            lock (held)
            {
                var length = RandomAccess.GetLength(held.Handle);
                if (length == 0)
                {
                    continue;
                }

                var bytes = new byte[length];
                var read = RandomAccess.Read(held.Handle, bytes, 0);
                channels.Add(SessionChannel.FromJsonUtf8(bytes.AsSpan(0, read)));
            }
        }

        return ValueTask.FromResult<IReadOnlyList<SessionChannel>>(channels);
    }

    /// <inheritdoc />
    public ValueTask SaveAsync(SessionChannel channel, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (!TryHold(channel.ChannelId, out var held))
        {
            throw new IOException($"The channel {channel.ChannelId} is held by another process; it cannot be written here.");
        }

        var json = channel.ToJsonUtf8();
        lock (held)
        {
            // One write at offset 0, padded with spaces over any longer earlier record: never a truncate, never a torn file.
            var length = Math.Max(json.Length, held.Length);
            byte[] record;
            if (length == json.Length)
            {
                record = json;
            }
            else
            {
                record = new byte[length];
                json.CopyTo(record, 0);
                record.AsSpan(json.Length).Fill((byte)' ');
            }

            RandomAccess.Write(held.Handle, record, 0);
            if (FlushToDisk)
            {
                RandomAccess.FlushToDisk(held.Handle);
            }

            held.Length = length;
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Releases the channel files this process holds.</summary>
    public void Dispose()
    {
        foreach (var held in _held.Values)
        {
            held.Handle.Dispose();
        }

        _held.Clear();
    }

    private bool TryHold(string channelId, out Held held)
    {
        if (_held.TryGetValue(channelId, out held!))
        {
            return true;
        }

        if (!IsChannelId(channelId))
        {
            throw new ArgumentException($"'{channelId}' is not a channel id.", nameof(channelId));
        }

        SafeFileHandle handle;
        try
        {
            // FileShare.None is an exclusive advisory lock (flock on Unix): held until this process closes it or dies.
            handle = File.OpenHandle(Path.Combine(_directory, channelId + ".channel.json"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            held = null!;
            return false;
        }

        var fresh = new Held(handle) { Length = RandomAccess.GetLength(handle) };
        if (_held.TryAdd(channelId, fresh))
        {
            held = fresh;
            return true;
        }

        handle.Dispose();
        held = _held[channelId];
        return true;
    }

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    private static bool IsChannelId(string text) => text.Length == 66 && text.StartsWith("0x", StringComparison.Ordinal) && text.AsSpan(2).IndexOfAnyExcept(LowerHex) < 0;

    private sealed class Held(SafeFileHandle handle)
    {
        public SafeFileHandle Handle { get; } = handle;

        public long Length { get; set; }
    }
}

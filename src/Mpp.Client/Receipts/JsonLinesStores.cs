using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mpp.Client;

/// <summary>Receipts appended to a JSON-lines file (one receipt per line), safe across processes on one machine.</summary>
public sealed class JsonLinesReceiptStore : IReceiptStore
{
    private readonly JsonLinesFile _file;

    /// <summary>Initializes a store at <paramref name="path"/>.</summary>
    /// <param name="path">The file; created with its folder when missing.</param>
    /// <param name="timeProvider">The clock used while waiting for the file lock.</param>
    public JsonLinesReceiptStore(string path, TimeProvider timeProvider) => _file = new JsonLinesFile(path, timeProvider);

    /// <inheritdoc />
    public ValueTask AddAsync(StoredReceipt receipt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        return _file.AppendAsync(JsonSerializer.SerializeToUtf8Bytes(receipt, MppStoreJsonContext.Default.StoredReceipt), cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<StoredReceipt>> GetAllAsync(CancellationToken cancellationToken)
    {
        var lines = await _file.ReadLinesAsync(cancellationToken).ConfigureAwait(false);
        return [.. lines.Select(line => JsonSerializer.Deserialize(line, MppStoreJsonContext.Default.StoredReceipt)!)];
    }
}

/// <summary>
/// The payment journal as a JSON-lines file: each line is an entry as written or as updated; the latest line
/// of an id wins. Appends are flushed to disk before they return, so a pending entry survives a crash.
/// </summary>
public sealed class JsonLinesPaymentJournal : IPaymentJournal
{
    private readonly JsonLinesFile _file;
    private readonly TimeProvider _time;

    /// <summary>Initializes a journal at <paramref name="path"/>.</summary>
    /// <param name="path">The file; created with its folder when missing.</param>
    /// <param name="timeProvider">The clock used while waiting for the file lock.</param>
    public JsonLinesPaymentJournal(string path, TimeProvider timeProvider)
    {
        _file = new JsonLinesFile(path, timeProvider);
        _time = timeProvider;
    }

    /// <inheritdoc />
    public ValueTask RecordAsync(JournalEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return _file.AppendAsync(JsonSerializer.SerializeToUtf8Bytes(entry, MppStoreJsonContext.Default.JournalEntry), cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask UpdateAsync(Guid id, JournalState state, string? reference, CancellationToken cancellationToken)
    {
        var update = new JournalUpdate(id, state, reference, _time.GetUtcNow());
        await _file.AppendAsync(JsonSerializer.SerializeToUtf8Bytes(update, MppStoreJsonContext.Default.JournalUpdate), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<JournalEntry>> GetAllAsync(CancellationToken cancellationToken)
    {
        var entries = new List<JournalEntry>();
        var index = new Dictionary<Guid, int>();
        foreach (var line in await _file.ReadLinesAsync(cancellationToken).ConfigureAwait(false))
        {
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.TryGetProperty("ChallengeId", out _))
            {
                var entry = document.RootElement.Deserialize(MppStoreJsonContext.Default.JournalEntry)!;
                index[entry.Id] = entries.Count;
                entries.Add(entry);
            }
            else
            {
                var update = document.RootElement.Deserialize(MppStoreJsonContext.Default.JournalUpdate)!;
                if (index.TryGetValue(update.Id, out var i))
                {
                    entries[i] = entries[i] with { State = update.State, Reference = update.Reference ?? entries[i].Reference };
                }
            }
        }

        return entries;
    }
}

internal sealed record JournalUpdate(Guid Id, JournalState State, string? Reference, DateTimeOffset UpdatedAt);

[JsonSerializable(typeof(StoredReceipt))]
[JsonSerializable(typeof(JournalEntry))]
[JsonSerializable(typeof(JournalUpdate))]
[JsonSourceGenerationOptions(UseStringEnumConverter = true)]
internal sealed partial class MppStoreJsonContext : JsonSerializerContext;

/// <summary>An append-only JSON-lines file guarded by a lock file.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "SemaphoreSlim needs disposing only once its AvailableWaitHandle was read, which never happens here.")]
internal sealed class JsonLinesFile
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(30);
    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public JsonLinesFile(string path, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(time);
        _path = Path.GetFullPath(path);
        _time = time;
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
    }

    public async ValueTask AppendAsync(byte[] json, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var fileLock = await FileLock.AcquireAsync(_path + ".lock", _time, LockTimeout, cancellationToken).ConfigureAwait(false);
            using var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            var line = new byte[json.Length + 1];
            json.CopyTo(line, 0);
            line[^1] = (byte)'\n';
            stream.Write(line);
            stream.Flush(flushToDisk: true);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask<IReadOnlyList<string>> ReadLinesAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(_path))
        {
            return [];
        }

        var text = await File.ReadAllTextAsync(_path, Encoding.UTF8, cancellationToken).ConfigureAwait(false);

        // A torn last line (a crash mid-append) is ignored: it was never acknowledged.
        return [.. text.Split('\n').Where(line => line.Length > 0 && line.EndsWith('}'))];
    }
}

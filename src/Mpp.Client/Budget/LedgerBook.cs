using System.Numerics;

namespace Mpp.Client;

/// <summary>
/// The in-memory ledger's accounting: live entries (reserved, committed, unknown), folded into per-host
/// totals once older than every window, running totals so that per-host and total checks cost O(1), and
/// the limit checks. Not thread-safe: callers hold a lock.
/// </summary>
internal sealed class LedgerBook
{
    // Entries older than this are folded into totals: windows longer than it are refused by options validation.
    internal static readonly TimeSpan RetainedHistory = TimeSpan.FromDays(31);

    private readonly Dictionary<(string Scope, string Asset), BigInteger> _totals = [];
    private readonly Dictionary<(string Scope, string Asset, string Host), BigInteger> _hostTotals = [];
    private long _lastCompactionMs = long.MinValue;

    /// <summary>Live entries by id, in insertion (time) order.</summary>
    public Dictionary<Guid, LedgerEntry> Entries { get; } = [];

    /// <summary>Folded spending per (scope, asset, host).</summary>
    public Dictionary<(string Scope, string Asset, string Host), BigInteger> Folded { get; } = [];

    public ReservationResult TryReserve(SpendRequest request, DateTimeOffset now)
    {
        var asset = request.Amount.Asset.ToString();
        var refusal = LedgerLimits.Check(
            request,
            now,
            () => _totals.GetValueOrDefault((request.Scope, asset)),
            () => _hostTotals.GetValueOrDefault((request.Scope, asset, request.Host)),
            since => SpentSince(request.Scope, asset, since.ToUnixTimeMilliseconds()));
        if (refusal is { } refused)
        {
            return refused;
        }

        var amount = request.Amount.Units;
        var reservation = new SpendReservation(TimeOrderedId.New(now), request.Scope, request.Host, request.Amount, now);
        Entries[reservation.Id] = new LedgerEntry(reservation.Id, request.Scope, asset, request.Host, amount, now.ToUnixTimeMilliseconds(), LedgerEntryState.Reserved);
        AddToTotals(request.Scope, asset, request.Host, amount);
        return ReservationResult.Reserved(reservation);
    }

    public void SetState(Guid id, LedgerEntryState state)
    {
        if (!Entries.TryGetValue(id, out var entry))
        {
            return; // already released or folded
        }

        if (state == LedgerEntryState.Released)
        {
            // Only a reservation still in flight can be released; settled or unknown spending stays.
            if (entry.State == LedgerEntryState.Reserved)
            {
                Entries.Remove(id);
                AddToTotals(entry.Scope, entry.Asset, entry.Host, -entry.Amount);
            }

            return;
        }

        Entries[id] = entry with { State = state };
    }

    /// <summary>Commits part of a reservation still held (or kept as unknown) and returns the rest to the totals.</summary>
    public void CommitPart(Guid id, BigInteger spentUnits)
    {
        if (!Entries.TryGetValue(id, out var entry) || entry.State == LedgerEntryState.Committed)
        {
            return; // already folded, released or settled: nothing to move
        }

        var spent = BigInteger.Min(BigInteger.Max(spentUnits, BigInteger.Zero), entry.Amount);
        AddToTotals(entry.Scope, entry.Asset, entry.Host, spent - entry.Amount);
        if (spent.IsZero)
        {
            Entries.Remove(id);
            return;
        }

        Entries[id] = entry with { Amount = spent, State = LedgerEntryState.Committed };
    }

    public SpendSummary Summary(string scope, AssetId asset)
    {
        var key = asset.ToString();
        BigInteger reserved = 0, committed = 0, unknown = 0;
        foreach (var entry in Entries.Values)
        {
            if (entry.Scope != scope || entry.Asset != key)
            {
                continue;
            }

            switch (entry.State)
            {
                case LedgerEntryState.Reserved: reserved += entry.Amount; break;
                case LedgerEntryState.Committed: committed += entry.Amount; break;
                default: unknown += entry.Amount; break;
            }
        }

        foreach (var ((s, a, _), amount) in Folded)
        {
            if (s == scope && a == key)
            {
                committed += amount;
            }
        }

        return new SpendSummary(reserved, committed, unknown);
    }

    /// <summary>Folds settled or unknown entries older than the retained history into per-host totals (at most once a minute).</summary>
    public void Compact(DateTimeOffset now)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        if (_lastCompactionMs != long.MinValue && nowMs - _lastCompactionMs < 60_000)
        {
            return;
        }

        _lastCompactionMs = nowMs;
        var cutoff = (now - RetainedHistory).ToUnixTimeMilliseconds();
        List<Guid>? folded = null;
        foreach (var entry in Entries.Values)
        {
            if (entry.AtUnixMs < cutoff && entry.State != LedgerEntryState.Reserved)
            {
                var key = (entry.Scope, entry.Asset, entry.Host);
                Folded[key] = Folded.GetValueOrDefault(key) + entry.Amount;
                (folded ??= []).Add(entry.Id);
            }
        }

        foreach (var id in folded ?? [])
        {
            Entries.Remove(id); // totals are unchanged: the amount moved into Folded
        }
    }

    private BigInteger SpentSince(string scope, string asset, long sinceMs)
    {
        BigInteger sum = 0;
        foreach (var entry in Entries.Values)
        {
            if (entry.AtUnixMs > sinceMs && entry.Scope == scope && entry.Asset == asset)
            {
                sum += entry.Amount;
            }
        }

        return sum;
    }

    private void AddToTotals(string scope, string asset, string host, BigInteger amount)
    {
        _totals[(scope, asset)] = _totals.GetValueOrDefault((scope, asset)) + amount;
        _hostTotals[(scope, asset, host)] = _hostTotals.GetValueOrDefault((scope, asset, host)) + amount;
    }
}

internal enum LedgerEntryState
{
    Reserved,
    Committed,
    Unknown,
    Released,
}

internal sealed record LedgerEntry(Guid Id, string Scope, string Asset, string Host, BigInteger Amount, long AtUnixMs, LedgerEntryState State);

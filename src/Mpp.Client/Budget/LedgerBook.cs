using System.Globalization;
using System.Numerics;

namespace Mpp.Client;

/// <summary>
/// The accounting both ledgers share: entries (reserved, committed, unknown), folded into per-host totals
/// once older than every window, and the limit checks. Not thread-safe: callers hold a lock.
/// </summary>
internal sealed class LedgerBook
{
    // Entries older than this are folded into totals: windows longer than it are refused by options validation.
    internal static readonly TimeSpan RetainedHistory = TimeSpan.FromDays(31);

    public List<LedgerEntry> Entries { get; } = [];

    /// <summary>Folded spending per (scope, asset, host).</summary>
    public Dictionary<(string Scope, string Asset, string Host), BigInteger> Folded { get; } = [];

    public ReservationResult TryReserve(SpendRequest request, DateTimeOffset now)
    {
        var limit = request.Limit;
        var asset = request.Amount.Asset.ToString();
        if (limit.PerRequest is { } perRequest && request.PerRequestAmount > perRequest)
        {
            return ReservationResult.Refused("budget.per-request", $"The call costs {request.PerRequestAmount} units of {asset}; the per-request limit is {perRequest}.");
        }

        var amount = request.Amount.Units;
        if (limit.Total is { } total)
        {
            var spent = Spent(request.Scope, asset, host: null, since: null);
            if (spent + amount > total)
            {
                return ReservationResult.Refused("budget.total", $"Spending {amount} more units of {asset} would exceed the total limit of {total} ({spent} already spent or held).");
            }
        }

        if (limit.PerHost is { } perHost)
        {
            var spent = Spent(request.Scope, asset, request.Host, since: null);
            if (spent + amount > perHost)
            {
                return ReservationResult.Refused("budget.per-host", $"Spending {amount} more units of {asset} at {request.Host} would exceed the per-host limit of {perHost} ({spent} already spent or held).");
            }
        }

        foreach (var window in limit.Windows)
        {
            var spent = Spent(request.Scope, asset, host: null, since: now - window.Period);
            if (spent + amount > window.Max)
            {
                return ReservationResult.Refused("budget.window", $"Spending {amount} more units of {asset} would exceed the limit of {window.Max} per {Describe(window.Period)} ({spent} spent or held in that window).");
            }
        }

        var reservation = new SpendReservation(Guid.NewGuid(), request.Scope, request.Host, request.Amount, now);
        Entries.Add(new LedgerEntry(reservation.Id, request.Scope, asset, request.Host, amount, now.ToUnixTimeMilliseconds(), LedgerEntryState.Reserved));
        return ReservationResult.Reserved(reservation);
    }

    public void SetState(Guid id, LedgerEntryState state)
    {
        var index = Entries.FindIndex(e => e.Id == id);
        if (index < 0)
        {
            return; // already released or folded
        }

        if (state == LedgerEntryState.Released)
        {
            // Only a reservation still in flight can be released; settled or unknown spending stays.
            if (Entries[index].State == LedgerEntryState.Reserved)
            {
                Entries.RemoveAt(index);
            }

            return;
        }

        Entries[index] = Entries[index] with { State = state };
    }

    public SpendSummary Summary(string scope, AssetId asset)
    {
        var key = asset.ToString();
        BigInteger reserved = 0, committed = 0, unknown = 0;
        foreach (var entry in Entries)
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

    /// <summary>Folds settled or unknown entries older than the retained history into per-host totals.</summary>
    public void Compact(DateTimeOffset now)
    {
        var cutoff = (now - RetainedHistory).ToUnixTimeMilliseconds();
        for (var i = Entries.Count - 1; i >= 0; i--)
        {
            var entry = Entries[i];
            if (entry.AtUnixMs < cutoff && entry.State != LedgerEntryState.Reserved)
            {
                var key = (entry.Scope, entry.Asset, entry.Host);
                Folded[key] = Folded.GetValueOrDefault(key) + entry.Amount;
                Entries.RemoveAt(i);
            }
        }
    }

    private BigInteger Spent(string scope, string asset, string? host, DateTimeOffset? since)
    {
        BigInteger sum = 0;
        var sinceMs = since?.ToUnixTimeMilliseconds();
        foreach (var entry in Entries)
        {
            if (entry.Scope == scope && entry.Asset == asset && (host is null || entry.Host == host) && (sinceMs is null || entry.AtUnixMs > sinceMs))
            {
                sum += entry.Amount;
            }
        }

        if (since is null)
        {
            foreach (var ((s, a, h), amount) in Folded)
            {
                if (s == scope && a == asset && (host is null || h == host))
                {
                    sum += amount;
                }
            }
        }

        return sum;
    }

    private static string Describe(TimeSpan period)
        => period.TotalDays >= 1 && period.TotalDays % 1 == 0 ? $"{period.TotalDays.ToString(CultureInfo.InvariantCulture)} day(s)"
            : period.TotalHours >= 1 && period.TotalHours % 1 == 0 ? $"{period.TotalHours.ToString(CultureInfo.InvariantCulture)} hour(s)"
            : period.ToString("c", CultureInfo.InvariantCulture);
}

internal enum LedgerEntryState
{
    Reserved,
    Committed,
    Unknown,
    Released,
}

internal sealed record LedgerEntry(Guid Id, string Scope, string Asset, string Host, BigInteger Amount, long AtUnixMs, LedgerEntryState State);

using System.Globalization;
using System.Numerics;

namespace Mpp.Client;

/// <summary>
/// The limit checks every ledger applies, in one place: per request, total, per host and each rolling window, in that
/// order. The ledger supplies what is already spent or held (reserved, committed and unknown alike); each figure is read
/// only when its limit is set.
/// </summary>
internal static class LedgerLimits
{
    /// <summary>Checks a reservation; <see langword="null"/> when every limit allows it, else the refusal.</summary>
    /// <param name="request">The reservation asked for.</param>
    /// <param name="now">The ledger's clock.</param>
    /// <param name="total">What the scope has spent or holds in the asset.</param>
    /// <param name="host">What the scope has spent or holds in the asset at the request's host.</param>
    /// <param name="spentSince">What the scope has spent or holds in the asset after an instant (exclusive).</param>
    /// <returns>The refusal, or <see langword="null"/>.</returns>
    public static ReservationResult? Check(SpendRequest request, DateTimeOffset now, Func<BigInteger> total, Func<BigInteger> host, Func<DateTimeOffset, BigInteger> spentSince)
    {
        var limit = request.Limit;
        var asset = request.Amount.Asset.ToString();
        if (limit.PerRequest is { } perRequest && request.PerRequestAmount > perRequest)
        {
            return ReservationResult.Refused("budget.per-request", $"The call costs {request.PerRequestAmount} units of {asset}; the per-request limit is {perRequest}.");
        }

        var amount = request.Amount.Units;
        if (limit.Total is { } totalLimit)
        {
            var spent = total();
            if (spent + amount > totalLimit)
            {
                return ReservationResult.Refused("budget.total", $"Spending {amount} more units of {asset} would exceed the total limit of {totalLimit} ({spent} already spent or held).");
            }
        }

        if (limit.PerHost is { } perHost)
        {
            var spent = host();
            if (spent + amount > perHost)
            {
                return ReservationResult.Refused("budget.per-host", $"Spending {amount} more units of {asset} at {request.Host} would exceed the per-host limit of {perHost} ({spent} already spent or held).");
            }
        }

        foreach (var window in limit.Windows)
        {
            var spent = spentSince(now - window.Period);
            if (spent + amount > window.Max)
            {
                return ReservationResult.Refused("budget.window", $"Spending {amount} more units of {asset} would exceed the limit of {window.Max} per {Describe(window.Period)} ({spent} spent or held in that window).");
            }
        }

        return null;
    }

    private static string Describe(TimeSpan period)
        => period.TotalDays >= 1 && period.TotalDays % 1 == 0 ? $"{period.TotalDays.ToString(CultureInfo.InvariantCulture)} day(s)"
            : period.TotalHours >= 1 && period.TotalHours % 1 == 0 ? $"{period.TotalHours.ToString(CultureInfo.InvariantCulture)} hour(s)"
            : period.ToString("c", CultureInfo.InvariantCulture);
}

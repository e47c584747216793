using System.Numerics;

namespace Mpp.Client;

/// <summary>The limits on spending one asset, in atomic units. A <see langword="null"/> limit does not apply.</summary>
public sealed class SpendLimit
{
    /// <summary>Initializes limits for one asset.</summary>
    /// <param name="asset">The asset.</param>
    /// <param name="perRequest">The most one call may cost (a session's per-call price).</param>
    /// <param name="perHost">The most that may be spent at any one host, over all time.</param>
    /// <param name="total">The most that may be spent in all, over all time.</param>
    /// <param name="windows">Rolling limits: the most that may be spent within any period.</param>
    public SpendLimit(AssetId asset, BigInteger? perRequest = null, BigInteger? perHost = null, BigInteger? total = null, IReadOnlyList<SpendWindow>? windows = null)
    {
        if (perRequest is { Sign: < 0 } || perHost is { Sign: < 0 } || total is { Sign: < 0 })
        {
            throw new ArgumentOutOfRangeException(nameof(asset), "Limits cannot be negative.");
        }

        Asset = asset;
        PerRequest = perRequest;
        PerHost = perHost;
        Total = total;
        Windows = windows ?? [];
    }

    /// <summary>Gets the asset.</summary>
    public AssetId Asset { get; }

    /// <summary>Gets the most one call may cost, or <see langword="null"/>.</summary>
    public BigInteger? PerRequest { get; }

    /// <summary>Gets the most that may be spent at one host, or <see langword="null"/>.</summary>
    public BigInteger? PerHost { get; }

    /// <summary>Gets the most that may be spent in all, or <see langword="null"/>.</summary>
    public BigInteger? Total { get; }

    /// <summary>Gets the rolling-window limits.</summary>
    public IReadOnlyList<SpendWindow> Windows { get; }

    /// <summary>Gets the longest rolling window, or zero.</summary>
    internal TimeSpan LongestWindow => Windows.Count == 0 ? TimeSpan.Zero : Windows.Max(w => w.Period);
}

/// <summary>A rolling limit: at most <paramref name="Max"/> atomic units within any <paramref name="Period"/>.</summary>
/// <param name="Period">The window length, e.g. one hour.</param>
/// <param name="Max">The most that may be spent within it.</param>
public readonly record struct SpendWindow(TimeSpan Period, BigInteger Max);

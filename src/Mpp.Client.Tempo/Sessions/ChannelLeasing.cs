using System.Globalization;
using System.Numerics;

namespace Mpp.Client.Tempo;

/// <summary>What the leasing channel stores (SQLite, PostgreSQL) share: the takeover rule, the stored high-water form, the renewal timer.</summary>
internal static class ChannelLeasing
{
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(30);

    /// <summary>Whether <paramref name="me"/> may take a lease held by <paramref name="owner"/> until <paramref name="expired"/> says.</summary>
    public static bool CanTake(string? owner, bool expired, string me)
        => owner is null || owner == me || expired || StoreOwner.IsDeadOnThisMachine(owner);

    /// <summary>The high-water mark as 40 zero-padded digits: text order is numeric order (a voucher amount is a uint96).</summary>
    public static string HighWater(BigInteger amount) => amount.ToString("D40", CultureInfo.InvariantCulture);

    public static ChannelLeaseException NotHeld(string channelId, string? owner)
        => new(channelId, $"The channel {channelId} is leased by {(owner is null ? "no process" : "another process (" + owner + ")")}, not by this one: nothing was signed. It is used by one process at a time.");

    public static ChannelLeaseException Lower(string channelId, BigInteger stored, BigInteger wanted)
        => new(channelId, $"The channel {channelId} already has a voucher of {stored} stored, above the {wanted} this process would record: another process signed on it. Nothing was signed.");

    public static void Validate(TimeSpan duration)
    {
        if (duration < TimeSpan.FromMilliseconds(300))
        {
            throw new ArgumentOutOfRangeException(nameof(duration), duration, "A channel lease lasts at least 300 ms (it is renewed every third of it).");
        }
    }

    /// <summary>Starts a timer that renews this store's leases every third of their duration (a failed renewal lets them expire: safe).</summary>
    public static ITimer StartRenewal(TimeProvider time, TimeSpan duration, Func<Task> renew)
        => time.CreateTimer(
            _ =>
            {
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await renew().ConfigureAwait(false);
                    }
#pragma warning disable CA1031 // a renewal that fails lets the leases expire, which is safe; saves then refuse
                    catch (Exception)
                    {
                    }
#pragma warning restore CA1031
                });
            },
            null,
            duration / 3,
            duration / 3);
}

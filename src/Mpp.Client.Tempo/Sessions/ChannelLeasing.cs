using System.Globalization;
using System.Numerics;

namespace Mpp.Client.Tempo;

/// <summary>What the leasing channel stores (SQLite, PostgreSQL) share: the takeover rule, the stored high-water form, the renewal timer.</summary>
internal static class ChannelLeasing
{
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(30);

    /// <summary>How long a waiter's claim on a channel's next turn lasts (it renews it on every poll, at least every 50 ms).</summary>
    public static readonly TimeSpan WantedFor = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Whether <paramref name="me"/> may take the lease: its own (a renewal), or one that is free, expired or held by a dead
    /// process, unless another live process is waiting for it (<paramref name="wantedBy"/>, claimed within
    /// <see cref="WantedFor"/>): then that one goes next, so a busy process cannot starve the others.
    /// </summary>
    public static bool MayTake(string? owner, bool expired, string? wantedBy, bool wantedRecently, string me)
    {
        if (owner == me)
        {
            return true;
        }

        if (owner is not null && !expired && !StoreOwner.IsDeadOnThisMachine(owner))
        {
            return false;
        }

        return wantedBy is null || wantedBy == me || !wantedRecently || StoreOwner.IsDeadOnThisMachine(wantedBy);
    }

    /// <summary>Whether a waiter that could not take the lease records itself as the next to go (no other live waiter claims it).</summary>
    public static bool MayClaimNext(string? wantedBy, bool wantedRecently, string me)
        => wantedBy is null || wantedBy == me || !wantedRecently || StoreOwner.IsDeadOnThisMachine(wantedBy);

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

using System.Numerics;
using Mpp.Client.Tempo;

namespace Mpp.Client.Storage.Tests;

/// <summary>The leased channel stores: one holder at a time, saves fenced by the lease, a high-water mark that never goes down, expiry.</summary>
[TestFixture(Backend.Sqlite)]
[TestFixture(Backend.Postgres, Category = "Postgres")]
public sealed class ChannelStoreContractTests(Backend backend)
{
    internal static SessionChannel Channel(string id, BigInteger highest) => new()
    {
        ChannelId = id, Scope = "c", Origin = "http://127.0.0.1:8402", ResourcePath = "/session", ChainId = 1337,
        Escrow = "0x4d50500000000000000000000000000000000000", Payer = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", Payee = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        Operator = "0x0000000000000000000000000000000000000000", Token = "0x20c0000000000000000000000000000000000000", Salt = "0x" + new string('1', 64),
        AuthorizedSigner = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", ExpiringNonceHash = "0x" + new string('2', 64), Deposit = 1_000_000, HighestSigned = highest,
        State = SessionChannelState.Open, CreatedAt = DateTimeOffset.UnixEpoch,
    };

    private static string NewId() => "0x" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    [Test]
    public async Task One_store_holds_a_channel_at_a_time_and_a_save_without_the_lease_is_refused()
    {
        using var first = Stores.Create(backend);
        using var second = first.Reopen();
        var channel = Channel(NewId(), 3000);
        await first.Channels.SaveAsync(channel, default); // a new channel is stored leased to its creator

        Assert.That(await second.Channels.TryLeaseAsync(channel, waiting: false, default), Is.Null);
        Assert.ThrowsAsync<ChannelLeaseException>(async () => await second.Channels.SaveAsync(channel with { HighestSigned = 9000 }, default));

        await first.Channels.SaveAsync(channel with { HighestSigned = 4000 }, default);
        await first.Channels.ReleaseLeaseAsync(channel.ChannelId, default);
        var taken = await second.Channels.TryLeaseAsync(channel, waiting: false, default);

        Assert.That(taken?.HighestSigned, Is.EqualTo(new BigInteger(4000)), "the taker gets the stored record, not its own");
        Assert.ThrowsAsync<ChannelLeaseException>(async () => await first.Channels.SaveAsync(channel with { HighestSigned = 5000 }, default), "the first holder lost it");
        var lower = Assert.ThrowsAsync<ChannelLeaseException>(async () => await second.Channels.SaveAsync(channel with { HighestSigned = 3500 }, default));
        Assert.That(lower!.Message, Does.Contain("4000"), "the stored high-water mark never goes down");
        await second.Channels.SaveAsync(channel with { HighestSigned = 5000 }, default);
        Assert.That((await first.Channels.LoadAsync(default)).Single().HighestSigned, Is.EqualTo(new BigInteger(5000)));
    }

    [Test]
    public async Task A_lease_its_holder_stops_renewing_expires_and_is_taken_over_at_the_stored_amount()
    {
        var duration = TimeSpan.FromMilliseconds(600);
        using var holder = Stores.Create(backend, new NoTimers(), duration); // a holder frozen (or dead) elsewhere: no renewals
        using var renewing = holder.Reopen(TimeProvider.System);
        using var waiting = holder.Reopen(TimeProvider.System);
        var frozen = Channel(NewId(), 7000);
        var alive = Channel(NewId(), 1000);
        await holder.Channels.SaveAsync(frozen, default);
        await renewing.Channels.SaveAsync(alive, default);

        Assert.That(await waiting.Channels.TryLeaseAsync(frozen, waiting: true, default), Is.Null);
        await Task.Delay(duration * 3);

        var taken = await waiting.Channels.TryLeaseAsync(frozen, waiting: true, default);
        Assert.That(taken?.HighestSigned, Is.EqualTo(new BigInteger(7000)));
        Assert.That(await waiting.Channels.TryLeaseAsync(alive, waiting: false, default), Is.Null, "a lease renewed in the background does not expire");
        Assert.ThrowsAsync<ChannelLeaseException>(async () => await holder.Channels.SaveAsync(frozen with { HighestSigned = 8000 }, default), "the frozen holder wakes up and may no longer save (so never signs)");
    }

    [Test]
    public async Task A_lease_given_up_goes_to_the_waiting_store_before_one_asking_without_waiting()
    {
        using var holder = Stores.Create(backend);
        using var waiter = holder.Reopen();
        using var passerBy = holder.Reopen();
        var channel = Channel(NewId(), 1000);
        await holder.Channels.SaveAsync(channel, default);
        Assert.That(await waiter.Channels.TryLeaseAsync(channel, waiting: true, default), Is.Null, "held: the waiter claims the next turn");

        await holder.Channels.ReleaseLeaseAsync(channel.ChannelId, default);

        Assert.That(await holder.Channels.TryLeaseAsync(channel, waiting: false, default), Is.Null, "the holder that just gave it up does not take it back first");
        Assert.That(await passerBy.Channels.TryLeaseAsync(channel, waiting: false, default), Is.Null);
        Assert.That(await waiter.Channels.TryLeaseAsync(channel, waiting: true, default), Is.Not.Null, "the waiter goes next");
    }

    /// <summary>A clock whose timers never fire: the store's renewals never run.</summary>
    private sealed class NoTimers : TimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new Inert();

        private sealed class Inert : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}

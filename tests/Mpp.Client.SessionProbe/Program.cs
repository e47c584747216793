// A child process for the crash test: pays session calls with the SQLite channel store and, when told to, stops dead right
// after a voucher amount is persisted and before that voucher is sent, so the parent can kill it at exactly that point.
// Usage: SessionProbe <database file> <calls> [freeze-at-cumulative]   (env: MPP_SERVER_URL, MPP_RPC_URL, MPP_CHAIN_ID, MPP_PRIVATE_KEY)
using System.Globalization;
using System.Numerics;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client;
using Mpp.Client.Tempo;

var path = args[0];
var calls = int.Parse(args[1], CultureInfo.InvariantCulture);
BigInteger? freezeAt = args.Length > 2 ? BigInteger.Parse(args[2], CultureInfo.InvariantCulture) : null;
var chainId = long.Parse(Environment.GetEnvironmentVariable("MPP_CHAIN_ID")!, CultureInfo.InvariantCulture);

var services = new ServiceCollection();
services.AddSingleton<IChannelStore>(sp => new FreezingStore(new SqliteChannelStore(sp.GetRequiredService<MppSqliteDatabase>()), freezeAt));
services.AddMpp()
    .UseSqlite(path)
    .AddTempo(o =>
    {
        o.Signer = PrivateKeySigner.FromHex(Environment.GetEnvironmentVariable("MPP_PRIVATE_KEY")!);
        o.RpcUrl = new Uri(Environment.GetEnvironmentVariable("MPP_RPC_URL")!);
        o.ChainId = chainId;
    })
    .AddTempoSessions(o => o.CloseOnShutdown = false);
services.AddHttpClient("paid", c => c.BaseAddress = new Uri(Environment.GetEnvironmentVariable("MPP_SERVER_URL")!)).AddMppPayments(o =>
{
    o.AllowInsecureLoopback = true;
    o.Budget.Limit(TempoAssets.PathUsdOn(chainId), perRequest: 0.05m, total: 5m);
});
await using var provider = services.BuildServiceProvider();
var manager = provider.GetRequiredService<TempoSessionManager>();
var recovered = await manager.RecoverAsync();
foreach (var channel in recovered)
{
    Console.WriteLine($"RECOVERED {channel.ChannelId} {channel.State} {channel.HighestSigned}");
}

var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("paid");
for (var i = 0; i < calls; i++)
{
    using var response = await client.GetAsync(new Uri("/session", UriKind.Relative));
    var receipt = response.GetPaymentReceipt();
    receipt!.TryGetMember("acceptedCumulative", out var accepted);
    Console.WriteLine($"PAID {(int)response.StatusCode} {receipt.Reference} {accepted.GetString()}");
}

Console.WriteLine("DONE");

/// <summary>Passes every operation through; once a saved amount reaches the freeze point it prints and never returns.</summary>
internal sealed class FreezingStore(IChannelStore inner, BigInteger? freezeAt) : IChannelStore
{
    public ValueTask<IReadOnlyList<SessionChannel>> LoadAsync(CancellationToken cancellationToken) => inner.LoadAsync(cancellationToken);

    public ValueTask<SessionChannel?> TryLeaseAsync(SessionChannel channel, bool waiting, CancellationToken cancellationToken) => inner.TryLeaseAsync(channel, waiting, cancellationToken);

    public ValueTask ReleaseLeaseAsync(string channelId, CancellationToken cancellationToken) => inner.ReleaseLeaseAsync(channelId, cancellationToken);

    public async ValueTask SaveAsync(SessionChannel channel, CancellationToken cancellationToken)
    {
        await inner.SaveAsync(channel, cancellationToken);
        if (freezeAt is { } at && channel.HighestSigned >= at && channel.State == SessionChannelState.Open)
        {
            Console.WriteLine($"PERSISTED {channel.ChannelId} {channel.HighestSigned}");
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }
}

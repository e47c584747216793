// SessionStreaming: a paid server-sent-event stream billed per token through a payment channel, with a spend cap.
//
//   dotnet run --project examples/SessionStreaming
//
// Starts an MPP test server in this process whose /generate route streams 20 tokens at 0.001 pathUSD each and asks for a
// voucher (payment-need-voucher) whenever the paid-for tokens run out. The client signs each voucher on the open channel
// and stops cleanly when the next token would pass the cap of 0.012.
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client.Tempo;
using Mpp.Client.Testing;

await using var server = await MppTestServer.StartAsync(o => o.Routes["/generate"] = TestRoute.Stream(0.001m, tokens: 20, suggestedDeposit: 0.1m));
var pathUsd = TempoAssets.PathUsdOn(server.ChainId);

var services = new ServiceCollection();
services.AddMpp()
    .AddTempo(o =>
    {
        o.Signer = server.CreateFundedAccount(1m).CreateSigner();
        o.RpcUrl = server.RpcUrl;
        o.ChainId = server.ChainId;
    })
    .AddTempoSessions(o => o.MaxDeposit = 0.5m);
services.AddHttpClient("llm", c => c.BaseAddress = server.BaseAddress)
    .AddMppPayments(o =>
    {
        o.AllowInsecureLoopback = true; // the test server speaks plain HTTP on 127.0.0.1
        o.Budget.Limit(pathUsd, perRequest: 0.01m, total: 0.5m);
    });
await using var provider = services.BuildServiceProvider();
var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("llm");
var sessions = provider.GetRequiredService<TempoSessionManager>();

using (var stream = await sessions.StreamAsync(client, new HttpRequestMessage(HttpMethod.Get, "generate"), maxSpend: 0.012m))
{
    var tokens = 0;
    await foreach (var message in stream)
    {
        tokens++;
        Console.WriteLine($"token {tokens,2}: {message.Data,-12} spent so far {pathUsd.Format(stream.Spent)}");
    }

    Console.WriteLine(stream.End == PaidStreamEnd.SpendCapReached
        ? $"Stopped at the cap: {tokens} tokens, {stream.VouchersSent} vouchers, {pathUsd.Format(stream.Spent)} (cap {pathUsd.Format(stream.SpendCap!.Value)})."
        : $"The stream ended ({stream.End}): {tokens} tokens, {stream.VouchersSent} vouchers, {pathUsd.Format(stream.Spent)}.");
}

foreach (var (channelId, result, _) in await sessions.CloseAllAsync())
{
    Console.WriteLine($"Closed {channelId[..10]}…: the server got {pathUsd.Format(result!.SettledToPayee)}, {pathUsd.Format(result.RefundedToPayer)} came back.");
}

return sessions.VouchersRejected == 0 ? 0 : 1;

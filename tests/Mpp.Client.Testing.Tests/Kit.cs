using Microsoft.Extensions.DependencyInjection;
using Mpp.Client.Tempo;

namespace Mpp.Client.Testing.Tests;

/// <summary>Wires the real MppClient (charge and sessions) against a test server, over Kestrel or in memory.</summary>
internal static class Kit
{
    public static async Task<MppTestServer> StartAsync(bool inMemory, Action<MppTestServerOptions> configure)
        => inMemory ? MppTestServer.CreateInMemory(configure) : await MppTestServer.StartAsync(configure);

    public static ServiceProvider Client(MppTestServer server, TestDevAccount payer, Action<TempoSessionOptions>? sessions = null, decimal perRequest = 0.5m, decimal total = 10m)
    {
        var services = new ServiceCollection();
        services.AddMpp()
            .AddTempo(o =>
            {
                o.Signer = payer.CreateSigner();
                o.RpcUrl = server.RpcUrl;
                o.ChainId = server.ChainId;
                o.RpcRetries = 0;
            })
            .AddTempoSessions(o =>
            {
                o.CloseOnShutdown = false;
                sessions?.Invoke(o);
            });
        var paid = services.AddHttpClient("paid", c => c.BaseAddress = server.BaseAddress).AddMppPayments(o =>
        {
            o.AllowInsecureLoopback = true; // Kestrel serves plain HTTP on 127.0.0.1
            o.Budget.Limit(TempoAssets.PathUsdOn(server.ChainId), perRequest: perRequest, total: total);
        });
        if (server.IsInMemory)
        {
            // Every client that talks to the server goes through its in-memory pipeline: the paid client, the chain RPC, session management.
            paid.ConfigurePrimaryHttpMessageHandler(server.CreateHandler);
            services.AddHttpClient(TempoMppBuilderExtensions.RpcHttpClientName).ConfigurePrimaryHttpMessageHandler(server.CreateHandler);
            services.AddHttpClient(TempoMppBuilderExtensions.SessionHttpClientName).ConfigurePrimaryHttpMessageHandler(server.CreateHandler);
        }

        return services.BuildServiceProvider();
    }

    public static HttpClient Paid(this ServiceProvider services) => services.GetRequiredService<IHttpClientFactory>().CreateClient("paid");
}

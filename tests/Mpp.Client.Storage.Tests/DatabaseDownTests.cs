using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client.Tempo;
using Mpp.Client.Testing;
using Npgsql;

namespace Mpp.Client.Storage.Tests;

/// <summary>When the database cannot be used, nothing is paid and the caller gets a typed error.</summary>
[Category("Postgres")]
public sealed class DatabaseDownTests
{
    [Test]
    public async Task An_unreachable_database_fails_the_payment_with_a_typed_error_and_nothing_is_sent()
    {
        await using var server = MppTestServer.CreateInMemory(o => o.Routes["/charge"] = TestRoute.Charge(0.001m));
        var payer = server.CreateFundedAccount(1m);
        using var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop(); // nothing listens there now
        await using var services = Client(server, payer, $"Host=127.0.0.1;Port={port};Username=postgres;Timeout=3");

        var ex = Assert.ThrowsAsync<PaymentStoreException>(async () => await services.GetRequiredService<IHttpClientFactory>().CreateClient("paid").GetAsync(new Uri("/charge", UriKind.Relative)));

        Assert.That(ex!.Message, Does.Contain("cannot be reached").And.Contain("Nothing is paid"));
        Assert.That(server.CredentialsReceived, Is.Zero);
        Assert.That(server.Ledger.Payments, Is.Empty);
    }

    [Test]
    public async Task A_database_that_goes_down_between_calls_stops_payments_with_a_typed_error()
    {
        await using var server = MppTestServer.CreateInMemory(o => o.Routes["/charge"] = TestRoute.Charge(0.001m));
        var payer = server.CreateFundedAccount(1m);
        var target = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString);
        using var relay = new TcpRelay(target.Host!, target.Port);
        target.Host = "127.0.0.1";
        target.Port = relay.Port;
        target.Timeout = 3;
        await using var services = Client(server, payer, target.ConnectionString);
        var client = services.GetRequiredService<IHttpClientFactory>().CreateClient("paid");
        using (var first = await client.GetAsync(new Uri("/charge", UriKind.Relative)))
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        relay.Stop(); // the database host goes away; pooled connections break
        var credentials = server.CredentialsReceived;
        var balance = server.Ledger.BalanceOf(payer.Address);

        for (var i = 0; i < 3; i++)
        {
            Assert.ThrowsAsync<PaymentStoreException>(async () => await client.GetAsync(new Uri("/charge", UriKind.Relative)));
        }

        Assert.That(server.CredentialsReceived, Is.EqualTo(credentials), "no credential left while the budget could not be reserved");
        Assert.That(server.Ledger.BalanceOf(payer.Address), Is.EqualTo(balance));
    }

    private static ServiceProvider Client(MppTestServer server, TestDevAccount payer, string connectionString)
    {
        var services = new ServiceCollection();
        services.AddMpp()
            .UsePostgres(connectionString, o => o.Schema = PostgresServer.NewSchema())
            .AddTempo(o =>
            {
                o.Signer = payer.CreateSigner();
                o.RpcUrl = server.RpcUrl;
                o.ChainId = server.ChainId;
            });
        services.AddHttpClient("paid", c => c.BaseAddress = server.BaseAddress)
            .AddMppPayments(o => o.Budget.Limit(TempoAssets.PathUsdOn(server.ChainId), perRequest: 0.01m, total: 1m))
            .ConfigurePrimaryHttpMessageHandler(server.CreateHandler);
        services.AddHttpClient(TempoMppBuilderExtensions.RpcHttpClientName).ConfigurePrimaryHttpMessageHandler(server.CreateHandler);
        return services.BuildServiceProvider();
    }

    /// <summary>A TCP relay to the database that the test can cut, as a network failure or a stopped server would.</summary>
    private sealed class TcpRelay : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly List<TcpClient> _open = [];
        private readonly CancellationTokenSource _stop = new();

        public TcpRelay(string host, int port)
        {
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    TcpClient inbound;
                    try
                    {
                        inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
                    }
                    catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                    {
                        return;
                    }

                    var outbound = new TcpClient();
                    await outbound.ConnectAsync(host, port);
                    lock (_open)
                    {
                        _open.Add(inbound);
                        _open.Add(outbound);
                    }

                    _ = Pump(inbound.GetStream(), outbound.GetStream());
                    _ = Pump(outbound.GetStream(), inbound.GetStream());
                }
            });
        }

        public int Port { get; }

        public void Stop()
        {
            _stop.Cancel();
            _listener.Stop();
            lock (_open)
            {
                _open.ForEach(c => c.Dispose());
            }
        }

        public void Dispose()
        {
            Stop();
            _stop.Dispose();
        }

        private async Task Pump(NetworkStream from, NetworkStream to)
        {
            try
            {
                await from.CopyToAsync(to, _stop.Token);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
            {
                // the relay was cut
            }
        }
    }
}

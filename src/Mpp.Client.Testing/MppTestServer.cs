using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mpp.Client.Tempo;
using Mpp.Client.Testing.Chain;
using Mpp.Client.Testing.Http;

namespace Mpp.Client.Testing;

/// <summary>
/// An in-process MPP server for tests — a test double, not a reference implementation (the interop harness against the
/// reference server remains that). It issues real HMAC-bound challenges, verifies real Tempo credentials (recovers the
/// signers of transactions and vouchers; checks amounts, recipients, memos, expiry and replay), keeps an in-memory Tempo
/// ledger served through an emulated JSON-RPC endpoint (<see cref="RpcUrl"/>), answers with receipts and problem
/// details, streams SSE with <c>payment-need-voucher</c>, and misbehaves on request (<see cref="HostileBehavior"/>).
/// Host it on Kestrel at 127.0.0.1 (<see cref="StartAsync"/>) or without sockets (<see cref="CreateInMemory"/> and
/// <see cref="CreateHandler"/>).
/// </summary>
/// <remarks>
/// Not emulated: gas fees (gas is free), fee-payer co-signing of broadcasts, Stripe and other methods, charge splits,
/// key authorizations, settlement before close.
/// </remarks>
public sealed class MppTestServer : IAsyncDisposable
{
    /// <summary>The base address of an in-memory server (HTTPS so clients pay without <c>AllowInsecureLoopback</c>; nothing listens there).</summary>
    public static readonly Uri InMemoryBaseAddress = new("https://mpp.test/");

    private readonly WebApplication? _app;
    private readonly MppRequestHandler _handler;
    private readonly TempoRpcEmulator _rpc;
    private readonly MppTestServerOptions _options;

    private MppTestServer(MppTestServerOptions options, WebApplication? app, Uri baseAddress, TestTempoLedger ledger, MppTestPayments payments, TempoRpcEmulator rpc, MppRequestHandler handler, TestDevAccount? payeeAccount)
    {
        _options = options;
        _app = app;
        BaseAddress = baseAddress;
        Ledger = ledger;
        Payments = payments;
        _rpc = rpc;
        _handler = handler;
        PayeeAccount = payeeAccount;
        RpcUrl = new Uri(baseAddress, options.RpcPath.TrimStart('/'));
    }

    /// <summary>Gets the base address: <c>http://127.0.0.1:port/</c> on Kestrel, <see cref="InMemoryBaseAddress"/> in memory.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Gets the emulated Tempo JSON-RPC endpoint (for <c>TempoOptions.RpcUrl</c>).</summary>
    public Uri RpcUrl { get; }

    /// <summary>Gets the chain id of the emulated chain and of every challenge.</summary>
    public long ChainId => Ledger.ChainId;

    /// <summary>Gets whether the server runs without sockets.</summary>
    public bool IsInMemory => _app is null;

    /// <summary>Gets the in-memory Tempo ledger.</summary>
    public TestTempoLedger Ledger { get; }

    /// <summary>Gets the transport-neutral payment core (challenges and verification).</summary>
    public MppTestPayments Payments { get; }

    /// <summary>Gets the routes by path; changes apply to the next request.</summary>
    public IDictionary<string, TestRoute> Routes => _options.Routes;

    /// <summary>Gets the hostile behaviours applied to every route; changes apply to the next request.</summary>
    public IList<HostileBehavior> Hostile => _options.Hostile;

    /// <summary>Gets the default payee's address.</summary>
    public string Payee => Payments.Payee.ToString();

    /// <summary>Gets the payee's dev account when the server created it (no <see cref="MppTestServerOptions.Payee"/> configured).</summary>
    public TestDevAccount? PayeeAccount { get; }

    /// <summary>Gets the default token (pathUSD-like, 6 decimals).</summary>
    public string Currency => _options.Currency;

    /// <summary>Gets how many HTTP requests the server answered (RPC included).</summary>
    public long RequestCount => _handler.Requests;

    /// <summary>Gets how many requests carried a Payment credential.</summary>
    public long CredentialsReceived => _handler.CredentialsReceived;

    /// <summary>Gets how many JSON-RPC requests the emulated chain answered.</summary>
    public long RpcCallCount => _rpc.Calls;

    /// <summary>Starts a server on Kestrel at 127.0.0.1 on a free port.</summary>
    /// <param name="configure">Configures routes and settings.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server; dispose it to stop.</returns>
    public static async Task<MppTestServer> StartAsync(Action<MppTestServerOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        var options = Configure(configure);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        MppRequestHandler? handler = null;
        app.Run(context => handler!.HandleAsync(context));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var server = Create(options, app, new Uri(address.TrimEnd('/') + "/"));
        handler = server._handler;
        return server;
    }

    /// <summary>Creates a server without sockets; send requests through <see cref="CreateHandler"/>.</summary>
    /// <param name="configure">Configures routes and settings.</param>
    /// <returns>The server.</returns>
    public static MppTestServer CreateInMemory(Action<MppTestServerOptions>? configure = null) => Create(Configure(configure), null, InMemoryBaseAddress);

    /// <summary>
    /// Creates a handler that serves the routes and the RPC endpoint: in memory, the server's own pipeline; on Kestrel, a
    /// plain <see cref="SocketsHttpHandler"/>. Use it as the primary handler of every client that talks to the server
    /// (the paid client, and the Tempo package's RPC and session clients).
    /// </summary>
    /// <returns>A new handler.</returns>
    public HttpMessageHandler CreateHandler() => IsInMemory ? new InMemoryHttpHandler(_handler.HandleAsync) : new SocketsHttpHandler();

    /// <summary>Creates a funded development account (a random key; test data only).</summary>
    /// <param name="amount">Whole tokens of the default token.</param>
    /// <returns>The account.</returns>
    public TestDevAccount CreateFundedAccount(decimal amount = 100m) => Ledger.CreateFundedAccount(amount);

    /// <summary>Returns an absolute URL on the server.</summary>
    /// <param name="path">The path, e.g. <c>/paid</c>.</param>
    /// <returns>The URL.</returns>
    public Uri Url(string path) => new(BaseAddress, (path ?? throw new ArgumentNullException(nameof(path))).TrimStart('/'));

    /// <summary>Stops the server.</summary>
    /// <returns>A task.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static MppTestServerOptions Configure(Action<MppTestServerOptions>? configure)
    {
        var options = new MppTestServerOptions();
        configure?.Invoke(options);
        if (!EvmAddress.TryParse(options.Currency, out _) || !EvmAddress.TryParse(options.Escrow, out _) || (options.Payee is not null && !EvmAddress.TryParse(options.Payee, out _)))
        {
            throw new ArgumentException("The test server's Currency, Escrow and Payee must be addresses.", nameof(configure));
        }

        if (options.ChainId <= 0 || !options.RpcPath.StartsWith('/'))
        {
            throw new ArgumentException("The test server needs a positive ChainId and an RpcPath starting with '/'.", nameof(configure));
        }

        return options;
    }

    private static MppTestServer Create(MppTestServerOptions options, WebApplication? app, Uri baseAddress)
    {
        var ledger = new TestTempoLedger(options.TimeProvider, options.ChainId, EvmAddress.Parse(options.Escrow), EvmAddress.Parse(options.Currency));
        TestDevAccount? payeeAccount = null;
        var payee = options.Payee;
        if (payee is null)
        {
            payeeAccount = ledger.CreateFundedAccount(0m);
            payee = payeeAccount.Address;
        }

        var payments = new MppTestPayments(options, ledger, payee);
        var rpc = new TempoRpcEmulator(ledger, options);
        var handler = new MppRequestHandler(options, payments, ledger, rpc);
        return new MppTestServer(options, app, baseAddress, ledger, payments, rpc, handler, payeeAccount);
    }
}

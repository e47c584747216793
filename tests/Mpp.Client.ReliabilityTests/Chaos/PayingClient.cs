using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mpp.Client.Tempo;
using Mpp.Client.Testing;

namespace Mpp.Client.ReliabilityTests.Chaos;

/// <summary>Counts the signatures a payer makes (transactions and vouchers alike).</summary>
internal sealed class CountingSigner(IEvmSigner inner) : IEvmSigner
{
    private int _signatures;

    public int Signatures => Volatile.Read(ref _signatures);

    public EvmAddress Address => inner.Address;

    public ValueTask<EvmSignature> SignHashAsync(ReadOnlyMemory<byte> hash, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _signatures);
        return inner.SignHashAsync(hash, cancellationToken);
    }
}

/// <summary>What a paying client should look like for one test.</summary>
internal sealed record PayingClientOptions
{
    /// <summary>The paid server (the kit, or a fault proxy in front of it).</summary>
    public required Uri Server { get; init; }

    /// <summary>The chain RPC (the kit's, or a fault proxy in front of it).</summary>
    public required Uri Rpc { get; init; }

    public decimal PerRequest { get; init; } = 0.5m;

    public decimal Total { get; init; } = 10m;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(20);

    public TimeSpan RpcTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public int RpcRetries { get; init; }

    /// <summary>Handlers registered on the paid client before <c>AddMppPayments()</c> (so outside it).</summary>
    public Action<IHttpClientBuilder>? BeforePayments { get; init; }

    /// <summary>Handlers registered after <c>AddMppPayments()</c> (so inside it).</summary>
    public Action<IHttpClientBuilder>? AfterPayments { get; init; }

    public Action<MppPaymentOptions>? Payments { get; init; }

    public Action<TempoSessionOptions>? Sessions { get; init; }

    public Action<IServiceCollection>? Services { get; init; }
}

/// <summary>
/// The real client wired as an application would (<c>AddMpp().AddTempo().AddTempoSessions()</c>, a named client with
/// <c>AddMppPayments()</c>), with the stores taken through their abstractions from DI (in-memory defaults) and the
/// signer counted.
/// </summary>
internal sealed class PayingClient : IAsyncDisposable
{
    public const string Name = "paid";

    private PayingClient(ServiceProvider services, CountingSigner signer, long chainId)
    {
        Services = services;
        Signer = signer;
        Asset = TempoAssets.PathUsdOn(chainId);
        Client = services.GetRequiredService<IHttpClientFactory>().CreateClient(Name);
    }

    public ServiceProvider Services { get; }

    public HttpClient Client { get; }

    public CountingSigner Signer { get; }

    public Asset Asset { get; }

    public ISpendLedger Ledger => Services.GetRequiredService<ISpendLedger>();

    public IPaymentJournal Journal => Services.GetRequiredService<IPaymentJournal>();

    public IReceiptStore Receipts => Services.GetRequiredService<IReceiptStore>();

    public IChannelStore Channels => Services.GetRequiredService<IChannelStore>();

    public TempoSessionManager Sessions => Services.GetRequiredService<TempoSessionManager>();

    public static PayingClient Create(MppTestServer server, TestDevAccount payer, PayingClientOptions options, ILoggerProvider? logs = null)
    {
        var services = new ServiceCollection();
        if (logs is not null)
        {
            services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        }

        var signer = new CountingSigner(payer.CreateSigner());
        services.AddMpp()
            .AddTempo(o =>
            {
                o.Signer = signer;
                o.RpcUrl = options.Rpc;
                o.ChainId = server.ChainId;
                o.RpcTimeout = options.RpcTimeout;
                o.RpcRetries = options.RpcRetries;
            })
            .AddTempoSessions(o =>
            {
                o.CloseOnShutdown = false;
                options.Sessions?.Invoke(o);
            });
        options.Services?.Invoke(services);
        var paid = services.AddHttpClient(Name, c =>
        {
            c.BaseAddress = options.Server;
            c.Timeout = options.Timeout;
        });
        options.BeforePayments?.Invoke(paid);
        paid.AddMppPayments(o =>
        {
            o.AllowInsecureLoopback = true; // Kestrel serves plain HTTP on 127.0.0.1
            o.Budget.Limit(TempoAssets.PathUsdOn(server.ChainId), perRequest: options.PerRequest, total: options.Total);
            options.Payments?.Invoke(o);
        });
        options.AfterPayments?.Invoke(paid);
        return new PayingClient(services.BuildServiceProvider(), signer, server.ChainId);
    }

    public Task<SpendSummary> SpentAsync() => Ledger.GetSummaryAsync(Name, Asset.Id, CancellationToken.None).AsTask();

    public async Task<IReadOnlyList<JournalEntry>> JournalAsync() => await Journal.GetAllAsync(CancellationToken.None);

    public async Task<IReadOnlyList<StoredReceipt>> ReceiptsAsync() => await Receipts.GetAllAsync(CancellationToken.None);

    public async Task<IReadOnlyList<SessionChannel>> ChannelsAsync() => await Channels.LoadAsync(CancellationToken.None);

    public ValueTask DisposeAsync() => Services.DisposeAsync();
}

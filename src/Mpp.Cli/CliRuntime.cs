using System.Numerics;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client;

namespace Mpp.Cli;

/// <summary>The SDK wired for one command: ledger, journal, receipts and channels in the SQLite file under the tool's home.</summary>
internal static class CliRuntime
{
    public const string ClientName = "mpp";

    public sealed record RequestScope(Uri Url, bool InsecureLoopback, bool DryRun, decimal? MaxSpend);

    /// <summary>Builds the services. Tempo (charge and sessions) is registered when a key, an RPC URL and a chain id are configured.</summary>
    public static ServiceProvider Build(CliSettings settings, CliEnvironment environment, RequestScope? request = null)
    {
        Directory.CreateDirectory(settings.Home);
        var services = new ServiceCollection();
        services.AddSingleton(environment.Time);
        var store = settings.StoreOptions();
        var mpp = services.AddMpp().UseSqlite(o =>
        {
            o.Path = store.Path;
            o.ImportFrom = store.ImportFrom;
            o.FlushToDisk = store.FlushToDisk;
        });
        if (settings.CanPayWithTempo)
        {
            var maxDeposit = request?.MaxSpend is { } cap ? Math.Min(cap, settings.MaxDeposit) : settings.MaxDeposit;
            var signer = settings.Key!.Open(environment, settings);
            mpp.AddTempo(o =>
                {
                    o.Signer = signer;
                    o.RpcUrl = settings.RpcUrl;
                    o.ChainId = settings.ChainId;
                })
                .AddTempoSessions(o =>
                {
                    o.MaxDeposit = maxDeposit;
                    o.DefaultDeposit = Math.Min(o.DefaultDeposit, maxDeposit);
                    o.CloseOnShutdown = false; // a channel outlives the command; `mpp sessions close` settles it
                });
        }

        if (request?.MaxSpend is { } maxSpend)
        {
            var cap = new CommandSpendCap(settings, maxSpend);
            mpp.AddPolicy(cap);
            cap.WrapMethods(services);
        }

        var client = services.AddHttpClient(ClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .AddMppPayments(o =>
            {
                o.Budget.Scope = CliSettings.BudgetScope;
                foreach (var asset in settings.Assets())
                {
                    o.Budget.Limit(asset, perRequest: settings.PerRequest, perDay: settings.PerDay, total: settings.Total);
                }

                if (request is not null)
                {
                    o.DryRun = request.DryRun;
                    o.AllowInsecureLoopback = request.InsecureLoopback;
                    o.AllowedHosts.Add(request.Url.IdnHost); // pay only the host named on the command line, never a redirect target elsewhere
                }
            });
        if (environment.PrimaryHandler is { } handler)
        {
            client.ConfigurePrimaryHttpMessageHandler(handler);
            services.AddHttpClient(TempoMppBuilderExtensions.RpcHttpClientName).ConfigurePrimaryHttpMessageHandler(handler);
            services.AddHttpClient(TempoMppBuilderExtensions.SessionHttpClientName).ConfigurePrimaryHttpMessageHandler(handler);
        }

        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }

    /// <summary>Formats atomic units in display units when the asset is catalogued.</summary>
    public static string Display(CliSettings settings, AssetAmount amount)
        => settings.FindAsset(amount.Asset) is { } asset ? asset.Format(amount.Units) : $"{amount.Units} (atomic units of {amount.Asset})";

    public static string Display(CliSettings settings, AssetId asset, BigInteger units) => Display(settings, new AssetAmount(asset, units));
}

/// <summary>
/// <c>--max-spend</c>: the most one command may pay in all its payment rounds, per asset, in display units. A session
/// open counts its whole deposit (money leaves the wallet, even if most of it comes back at close). The policy refuses
/// offers that would pass the cap; the method wrappers count what is really signed (policies see every candidate, only
/// one of which is paid).
/// </summary>
internal sealed class CommandSpendCap(CliSettings settings, decimal maxSpend) : IPaymentPolicy
{
    private readonly Dictionary<AssetId, BigInteger> _spent = [];
    private readonly Lock _gate = new();

    public ValueTask<PaymentDecision> EvaluateAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(quote);
        return ValueTask.FromResult(Check(quote) is { } reason ? PaymentDecision.Deny("cli.max-spend", reason) : PaymentDecision.Allow);
    }

    /// <summary>Counts a payment about to be signed; refuses one that would pass the cap.</summary>
    public void Record(PaymentQuote quote)
    {
        lock (_gate)
        {
            if (Check(quote) is { } reason)
            {
                throw new PaymentDeniedException("cli.max-spend", reason);
            }

            var cost = Cost(quote);
            _spent[cost.Asset] = _spent.GetValueOrDefault(cost.Asset) + cost.Units;
        }
    }

    /// <summary>Takes back a payment whose credential never left (the handler reports it as not sent).</summary>
    public void Unrecord(PaymentQuote quote)
    {
        lock (_gate)
        {
            var cost = Cost(quote);
            _spent[cost.Asset] = BigInteger.Max(BigInteger.Zero, _spent.GetValueOrDefault(cost.Asset) - cost.Units);
        }
    }

    private static AssetAmount Cost(PaymentQuote quote) => quote.LocksDeposit ? quote.Deposit!.Value : quote.Amount;

    private string? Check(PaymentQuote quote)
    {
        var cost = Cost(quote);
        if (settings.FindAsset(cost.Asset) is not { } asset)
        {
            return $"--max-spend cannot be applied to {cost.Asset}: the asset is not catalogued.";
        }

        lock (_gate)
        {
            var total = _spent.GetValueOrDefault(cost.Asset) + cost.Units;
            return total > asset.ToAtomic(maxSpend)
                ? $"Paying {CliRuntime.Display(settings, cost)} would bring this command to {CliRuntime.Display(settings, cost.Asset, total)}, above --max-spend {maxSpend.ToString(System.Globalization.CultureInfo.InvariantCulture)}."
                : null;
        }
    }

    /// <summary>Wraps every registered payment method so that what is signed is counted.</summary>
    public void WrapMethods(IServiceCollection services)
    {
        for (var i = 0; i < services.Count; i++)
        {
            var descriptor = services[i];
            if (descriptor.ServiceType != typeof(IPaymentMethod))
            {
                continue;
            }

            services[i] = ServiceDescriptor.Singleton<IPaymentMethod>(sp =>
            {
                var inner = descriptor.ImplementationInstance as IPaymentMethod
                    ?? (IPaymentMethod?)descriptor.ImplementationFactory?.Invoke(sp)
                    ?? (IPaymentMethod)ActivatorUtilities.CreateInstance(sp, descriptor.ImplementationType!);
                return inner is IPrepayingPaymentMethod prepaying ? new CappedPrepayingMethod(prepaying, this) : new CappedMethod(inner, this);
            });
        }
    }

    private class CappedMethod(IPaymentMethod inner, CommandSpendCap cap) : IPaymentMethod
    {
        public string Method => inner.Method;

        public bool CanPay(Mpp.Client.Protocol.PaymentChallenge challenge) => inner.CanPay(challenge);

        public ValueTask<PaymentQuote> QuoteAsync(Mpp.Client.Protocol.PaymentChallenge challenge, PaymentContext context, CancellationToken cancellationToken)
            => inner.QuoteAsync(challenge, context, cancellationToken);

        public async ValueTask<Mpp.Client.Protocol.PaymentCredential> CreateCredentialAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
        {
            cap.Record(quote);
            try
            {
                return await inner.CreateCredentialAsync(quote, context, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                cap.Unrecord(quote);
                throw;
            }
        }

        public ValueTask OnSettledAsync(PaymentSettlement settlement, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(settlement);
            if (settlement.Outcome == PaymentOutcome.NotSent)
            {
                cap.Unrecord(settlement.Quote);
            }

            return inner.OnSettledAsync(settlement, cancellationToken);
        }
    }

    private sealed class CappedPrepayingMethod(IPrepayingPaymentMethod inner, CommandSpendCap cap) : CappedMethod(inner, cap), IPrepayingPaymentMethod
    {
        public ValueTask<PaymentQuote?> TryPrepayAsync(PaymentContext context, CancellationToken cancellationToken) => inner.TryPrepayAsync(context, cancellationToken);
    }
}

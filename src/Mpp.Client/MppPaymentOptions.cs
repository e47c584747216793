using System.Numerics;

namespace Mpp.Client;

/// <summary>
/// How one named HttpClient pays. Configured with <c>AddMppPayments(o => …)</c> (or a configuration section)
/// and validated at start-up.
/// </summary>
public sealed class MppPaymentOptions
{
    /// <summary>Gets the spending limits. Nothing is paid in an asset without a limit.</summary>
    public MppBudgetOptions Budget { get; } = new();

    /// <summary>Gets or sets how many credentials one call may send in all.</summary>
    /// <value>The default is 3; 1 to 10 are allowed.</value>
    public int MaxPaymentRounds { get; set; } = 3;

    /// <summary>Gets or sets the largest request body buffered so it can be resent with a credential; larger bodies are sent unpaid and never replayed.</summary>
    /// <value>The default is 1 MiB.</value>
    public long MaxBufferedRequestBytes { get; set; } = 1024 * 1024;

    /// <summary>Gets or sets whether credentials may go over plain HTTP to a loopback address (local development only).</summary>
    /// <value>The default is <see langword="false"/>: credentials go over HTTPS only.</value>
    public bool AllowInsecureLoopback { get; set; }

    /// <summary>Gets or sets whether to quote instead of paying: the 402 is returned with the quote in <c>GetPaymentDetails()</c>.</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool DryRun { get; set; }

    /// <summary>Gets or sets whether an unpayable 402 throws <see cref="PaymentDeniedException"/> instead of being returned with the reasons attached.</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool ThrowWhenUnpayable { get; set; }

    /// <summary>Gets or sets how long before its <c>expires</c> a challenge is no longer paid.</summary>
    /// <value>The default is 5 seconds.</value>
    public TimeSpan ExpiryMargin { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets the hosts that may be paid (exact, case-insensitive, or <c>*.example.com</c>); empty allows any.</summary>
    public IList<string> AllowedHosts { get; } = [];

    /// <summary>Gets the payment method ids that may be used (e.g. <c>tempo</c>); empty allows every registered method.</summary>
    public IList<string> AllowedMethods { get; } = [];

    /// <summary>Gets the recipients that may be paid (case-insensitive); empty allows any.</summary>
    public IList<string> AllowedRecipients { get; } = [];

    /// <summary>Gets the chain ids that may be paid on; empty allows any.</summary>
    public IList<long> AllowedChainIds { get; } = [];

    /// <summary>Gets the preferred <c>method/intent</c> (or <c>method</c>) pairs, most preferred first; others rank after them in server order.</summary>
    public IList<string> PreferredMethods { get; } = [];

    /// <summary>Gets or sets whether every payment needs the <see cref="IPaymentApprover"/>'s consent.</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool RequireApproval { get; set; }

    /// <summary>Gets or sets whether paid calls carry an <c>Idempotency-Key</c> (kept across every retry and round of one call) when the caller set none.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool SendIdempotencyKey { get; set; } = true;

    /// <summary>Gets or sets whether the payment handler follows redirects itself, dropping credentials whenever the origin changes.</summary>
    /// <value>The default is <see langword="true"/>; the primary handler's own redirect following is then turned off.</value>
    public bool FollowRedirects { get; set; } = true;

    /// <summary>Gets or sets the most redirects followed for one request.</summary>
    /// <value>The default is 10.</value>
    public int MaxRedirects { get; set; } = 10;
}

/// <summary>Spending limits for one named HttpClient (or a shared <see cref="Scope"/>).</summary>
public sealed class MppBudgetOptions
{
    private Dictionary<AssetId, SpendLimit>? _resolved;

    /// <summary>Gets or sets the ledger scope. Clients with the same scope share their spending; the default is the HttpClient name.</summary>
    public string? Scope { get; set; }

    /// <summary>Gets the per-asset limits.</summary>
    public IList<BudgetLimitOptions> Limits { get; } = [];

    /// <summary>Adds limits for a catalogued asset, in display units (0.05 = five cents).</summary>
    /// <param name="asset">The asset.</param>
    /// <param name="perRequest">The most one call may cost.</param>
    /// <param name="total">The most that may be spent in all.</param>
    /// <param name="perHost">The most that may be spent at one host.</param>
    /// <param name="perHour">The most that may be spent in any hour.</param>
    /// <param name="perDay">The most that may be spent in any 24 hours.</param>
    /// <returns>These options, for chaining.</returns>
    public MppBudgetOptions Limit(Asset asset, decimal? perRequest = null, decimal? total = null, decimal? perHost = null, decimal? perHour = null, decimal? perDay = null)
    {
        ArgumentNullException.ThrowIfNull(asset);
        var limit = new BudgetLimitOptions
        {
            Asset = asset.Id.ToString(),
            Symbol = asset.Symbol,
            Decimals = asset.Decimals,
            PerRequest = perRequest,
            Total = total,
            PerHost = perHost,
        };
        if (perHour is { } hour)
        {
            limit.Windows.Add(new BudgetWindowOptions { Period = TimeSpan.FromHours(1), Max = hour });
        }

        if (perDay is { } day)
        {
            limit.Windows.Add(new BudgetWindowOptions { Period = TimeSpan.FromDays(1), Max = day });
        }

        Limits.Add(limit);
        return this;
    }

    /// <summary>Finds the limits for an asset, converted to atomic units.</summary>
    /// <param name="asset">The asset.</param>
    /// <returns>The limits, or <see langword="null"/> when the asset has none (and may not be paid in).</returns>
    public SpendLimit? Find(AssetId asset)
    {
        _resolved ??= Resolve();
        return _resolved.GetValueOrDefault(asset);
    }

    internal Dictionary<AssetId, SpendLimit> Resolve()
    {
        var result = new Dictionary<AssetId, SpendLimit>();
        foreach (var limit in Limits)
        {
            var id = AssetId.Parse(limit.Asset!);
            var asset = new Asset(id, limit.Symbol ?? limit.Asset!, limit.Decimals);
            BigInteger? Atomic(decimal? amount) => amount is { } a ? asset.ToAtomic(a) : null;
            result[id] = new SpendLimit(
                id,
                Atomic(limit.PerRequest),
                Atomic(limit.PerHost),
                Atomic(limit.Total),
                [.. limit.Windows.Select(w => new SpendWindow(w.Period, asset.ToAtomic(w.Max)))]);
        }

        return result;
    }
}

/// <summary>Limits for one asset, in display units of that asset.</summary>
public sealed class BudgetLimitOptions
{
    /// <summary>Gets or sets the asset id: <c>eip155:&lt;chainId&gt;/&lt;address&gt;</c> or <c>fiat:&lt;code&gt;</c>.</summary>
    public string? Asset { get; set; }

    /// <summary>Gets or sets a display symbol.</summary>
    public string? Symbol { get; set; }

    /// <summary>Gets or sets the asset's decimals (2 for USD, 6 for pathUSD); the amounts below are in whole units.</summary>
    public int Decimals { get; set; }

    /// <summary>Gets or sets the most one call may cost.</summary>
    public decimal? PerRequest { get; set; }

    /// <summary>Gets or sets the most that may be spent at one host.</summary>
    public decimal? PerHost { get; set; }

    /// <summary>Gets or sets the most that may be spent in all.</summary>
    public decimal? Total { get; set; }

    /// <summary>Gets rolling limits.</summary>
    public IList<BudgetWindowOptions> Windows { get; } = [];
}

/// <summary>A rolling limit in display units.</summary>
public sealed class BudgetWindowOptions
{
    /// <summary>Gets or sets the window length (at most 31 days).</summary>
    public TimeSpan Period { get; set; }

    /// <summary>Gets or sets the most that may be spent within any such window.</summary>
    public decimal Max { get; set; }
}

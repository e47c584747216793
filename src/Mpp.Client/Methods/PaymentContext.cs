namespace Mpp.Client;

/// <summary>The request a payment is for, as the payment handler hands it to methods, policies and approvers.</summary>
public sealed class PaymentContext
{
    /// <summary>Initializes a context.</summary>
    /// <param name="clientName">The named HttpClient, or an empty string.</param>
    /// <param name="method">The HTTP method.</param>
    /// <param name="requestUri">The absolute URI paid for.</param>
    /// <param name="round">The payment round, starting at 1.</param>
    /// <param name="budgetScope">The budget scope (the client name unless configured); <see langword="null"/> means the client name.</param>
    /// <param name="limits">Finds the client's spending limit for an asset; <see langword="null"/> when the caller has none.</param>
    public PaymentContext(string clientName, HttpMethod method, Uri requestUri, int round, string? budgetScope = null, Func<AssetId, SpendLimit?>? limits = null)
    {
        ArgumentNullException.ThrowIfNull(clientName);
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(requestUri);
        ClientName = clientName;
        HttpMethod = method;
        RequestUri = requestUri;
        Round = round;
        BudgetScope = budgetScope ?? clientName;
        _limits = limits;
    }

    private readonly Func<AssetId, SpendLimit?>? _limits;

    /// <summary>Gets the budget scope payments of this request count against.</summary>
    public string BudgetScope { get; }

    /// <summary>Finds the client's spending limit for an asset (what a method that reserves more money, such as a session top-up, must respect).</summary>
    /// <param name="asset">The asset.</param>
    /// <returns>The limit, or <see langword="null"/> when the client has none for the asset (it may not pay in it).</returns>
    public SpendLimit? FindLimit(AssetId asset) => _limits?.Invoke(asset);

    /// <summary>Gets the named HttpClient the request went through.</summary>
    public string ClientName { get; }

    /// <summary>Gets the HTTP method.</summary>
    public HttpMethod HttpMethod { get; }

    /// <summary>Gets the absolute URI paid for.</summary>
    public Uri RequestUri { get; }

    /// <summary>Gets the host paid (lowercase).</summary>
    public string Host => RequestUri.IdnHost.ToLowerInvariant();

    /// <summary>Gets the payment round of this call, starting at 1.</summary>
    public int Round { get; }

    /// <summary>
    /// Gets the JSON-RPC or MCP operation paid for (tool name and arguments), or <see langword="null"/> for a plain HTTP
    /// request. For such calls <see cref="RequestUri"/> is the JSON-RPC endpoint and <see cref="HttpMethod"/> is POST.
    /// </summary>
    public PaymentOperation? Operation { get; init; }

    /// <summary>
    /// Gets the route a payment method keys per-route state by (a session's challenge): the path of <see cref="RequestUri"/>,
    /// followed for JSON-RPC and MCP calls by <c>#</c> and the operation's scope (<c>/mcp#tools/call:echo</c>).
    /// </summary>
    public string RoutePath => Operation is null ? RequestUri.AbsolutePath : RequestUri.AbsolutePath + "#" + Operation.Scope;
}

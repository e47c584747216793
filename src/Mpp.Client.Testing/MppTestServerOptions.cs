using System.Numerics;
using System.Security.Cryptography;
using Mpp.Client.Tempo;

namespace Mpp.Client.Testing;

/// <summary>Settings of an <see cref="MppTestServer"/>.</summary>
public sealed class MppTestServerOptions
{
    /// <summary>The TIP-1034 channel escrow address (the canonical one MppClient trusts by default).</summary>
    public const string CanonicalEscrow = "0x4d50500000000000000000000000000000000000";

    /// <summary>Gets or sets the realm of every challenge.</summary>
    /// <value>The default is <c>mpp.test</c>.</value>
    public string Realm { get; set; } = "mpp.test";

    /// <summary>Gets or sets the challenge-binding HMAC secret (UTF-8, at least 32 bytes).</summary>
    /// <value>The default is random per server.</value>
    public string SecretKey { get; set; } = "mpp-test-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    /// <summary>Gets or sets the chain id of the emulated Tempo chain and of every challenge.</summary>
    /// <value>The default is 42431 (the Tempo testnet's id).</value>
    public long ChainId { get; set; } = TempoAssets.TestnetChainId;

    /// <summary>Gets or sets the default token of routes (a TIP-20 with 6 decimals).</summary>
    /// <value>The default is pathUSD's address.</value>
    public string Currency { get; set; } = TempoAssets.PathUsdAddress;

    /// <summary>Gets or sets the default recipient (payee) of routes; <see langword="null"/> creates a dev account for it.</summary>
    public string? Payee { get; set; }

    /// <summary>Gets or sets the channel escrow address.</summary>
    /// <value>The default is <see cref="CanonicalEscrow"/>.</value>
    public string Escrow { get; set; } = CanonicalEscrow;

    /// <summary>Gets the routes by path (for example <c>/paid</c>); the server reads them live, so tests may change them.</summary>
    public IDictionary<string, TestRoute> Routes { get; } = new Dictionary<string, TestRoute>(StringComparer.Ordinal);

    /// <summary>Gets hostile behaviours applied to every route (besides each route's own).</summary>
    public IList<HostileBehavior> Hostile { get; } = [];

    /// <summary>Gets or sets the clock of challenges, expiry checks and the chain.</summary>
    /// <value>The default is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Gets or sets whether the emulated RPC answers <c>eth_fillTransaction</c>; when false it answers -32601 and clients fall back.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool SupportsFillTransaction { get; set; } = true;

    /// <summary>Gets or sets how long a paid SSE stream waits for a voucher before it ends.</summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan VoucherWaitTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets the path of the emulated Tempo JSON-RPC endpoint.</summary>
    /// <value>The default is <c>/rpc</c>.</value>
    public string RpcPath { get; set; } = "/rpc";
}

/// <summary>What a route serves.</summary>
public enum TestRouteKind
{
    /// <summary>No payment.</summary>
    Free,

    /// <summary>A one-off <c>tempo</c>/<c>charge</c>.</summary>
    Charge,

    /// <summary>A <c>tempo</c>/<c>session</c> call: one unit per request.</summary>
    Session,

    /// <summary>A <c>tempo</c>/<c>session</c> SSE stream: one unit per token, a <c>payment-need-voucher</c> event before each token after the first.</summary>
    Stream,
}

/// <summary>A route of the test server: what it costs and how it answers. Amounts are in base units (6 decimals).</summary>
public sealed record TestRoute
{
    /// <summary>Gets what the route serves.</summary>
    public TestRouteKind Kind { get; init; }

    /// <summary>Gets the payment method id (only <c>tempo</c> is verified by the kit).</summary>
    public string Method { get; init; } = "tempo";

    /// <summary>Gets the intent: <c>charge</c> or <c>session</c>.</summary>
    public string Intent { get; init; } = "charge";

    /// <summary>Gets the price (charge) or the price per unit (session), in base units.</summary>
    public BigInteger Amount { get; init; }

    /// <summary>Gets the token; <see langword="null"/> uses <see cref="MppTestServerOptions.Currency"/>.</summary>
    public string? Currency { get; init; }

    /// <summary>Gets the recipient; <see langword="null"/> uses the server's payee.</summary>
    public string? Recipient { get; init; }

    /// <summary>Gets the challenge description.</summary>
    public string? Description { get; init; }

    /// <summary>Gets how long a challenge is valid.</summary>
    /// <value>The default is 5 minutes.</value>
    public TimeSpan ExpiresIn { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets a charge memo (32 bytes as 0x hex); without one the challenge-bound attribution memo is required.</summary>
    public string? Memo { get; init; }

    /// <summary>Gets the charge's <c>externalId</c>, echoed in the receipt.</summary>
    public string? ExternalId { get; init; }

    /// <summary>Gets the charge modes offered (<c>pull</c>, <c>push</c>); <see langword="null"/> offers both.</summary>
    public IReadOnlyList<string>? SupportedModes { get; init; }

    /// <summary>Gets whether the server sponsors fees (<c>feePayer: true</c>; the 0x78 hand-off form is accepted; gas is free anyway).</summary>
    public bool FeePayer { get; init; }

    /// <summary>Gets the suggested deposit of a session, in base units.</summary>
    public BigInteger? SuggestedDeposit { get; init; }

    /// <summary>Gets the session's minimum voucher increase, in base units.</summary>
    public BigInteger? MinVoucherDelta { get; init; }

    /// <summary>Gets the session's unit type.</summary>
    public string? UnitType { get; init; }

    /// <summary>Gets the tokens a stream sends, one paid unit each.</summary>
    public IReadOnlyList<string> Tokens { get; init; } = [];

    /// <summary>Gets the body of a successful answer.</summary>
    public string Content { get; init; } = "ok";

    /// <summary>Gets hostile behaviours of this route.</summary>
    public IReadOnlyList<HostileBehavior> Hostile { get; init; } = [];

    /// <summary>A route without payment.</summary>
    /// <param name="content">The body.</param>
    /// <returns>The route.</returns>
    public static TestRoute Free(string content = "free") => new() { Kind = TestRouteKind.Free, Content = content };

    /// <summary>A <c>tempo</c>/<c>charge</c> route.</summary>
    /// <param name="amount">The price in whole tokens (at most 6 decimals).</param>
    /// <param name="description">The challenge description.</param>
    /// <returns>The route.</returns>
    public static TestRoute Charge(decimal amount, string? description = null) => ChargeUnits(TestTempoLedger.ToUnits(amount), description);

    /// <summary>A <c>tempo</c>/<c>charge</c> route priced in base units.</summary>
    /// <param name="units">The price in base units.</param>
    /// <param name="description">The challenge description.</param>
    /// <returns>The route.</returns>
    public static TestRoute ChargeUnits(BigInteger units, string? description = null)
        => new() { Kind = TestRouteKind.Charge, Intent = "charge", Amount = units, Description = description, Content = "paid" };

    /// <summary>A <c>tempo</c>/<c>session</c> route: one unit per request.</summary>
    /// <param name="pricePerUnit">The price per request in whole tokens.</param>
    /// <param name="suggestedDeposit">The suggested deposit in whole tokens, or <see langword="null"/>.</param>
    /// <returns>The route.</returns>
    public static TestRoute Session(decimal pricePerUnit, decimal? suggestedDeposit = null) => new()
    {
        Kind = TestRouteKind.Session,
        Intent = "session",
        Amount = TestTempoLedger.ToUnits(pricePerUnit),
        SuggestedDeposit = suggestedDeposit is { } deposit ? TestTempoLedger.ToUnits(deposit) : null,
        UnitType = "request",
        Content = "session",
    };

    /// <summary>A paid SSE stream: the paid request buys the first token, each later token needs a voucher (<c>payment-need-voucher</c>).</summary>
    /// <param name="pricePerToken">The price per token in whole tokens.</param>
    /// <param name="tokens">How many tokens to stream.</param>
    /// <param name="suggestedDeposit">The suggested deposit in whole tokens, or <see langword="null"/>.</param>
    /// <returns>The route.</returns>
    public static TestRoute Stream(decimal pricePerToken, int tokens = 5, decimal? suggestedDeposit = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tokens);
        return Session(pricePerToken, suggestedDeposit) with
        {
            Kind = TestRouteKind.Stream,
            UnitType = "token",
            Tokens = [.. Enumerable.Range(1, tokens).Select(i => "token-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))],
        };
    }

    /// <summary>Returns a copy with more hostile behaviours.</summary>
    /// <param name="behaviors">The behaviours.</param>
    /// <returns>The route.</returns>
    public TestRoute WithHostile(params HostileBehavior[] behaviors) => this with { Hostile = [.. Hostile, .. behaviors] };
}

/// <summary>Which misbehaviour a <see cref="HostileBehavior"/> is.</summary>
public enum HostileKind
{
    /// <summary>Every credential is refused with a fresh challenge (<c>invalid-challenge</c>); nothing is settled.</summary>
    Payment402Forever,

    /// <summary>Challenges ask for <see cref="HostileBehavior.Factor"/> times the route's price (and the server honours its own challenge).</summary>
    WrongAmountInChallenge,

    /// <summary>Successful answers carry a receipt that does not match the payment (another reference, challenge id and amounts).</summary>
    ReceiptMismatch,

    /// <summary>The credential is verified and settled, then the connection is dropped without an answer.</summary>
    DropAfterCredential,

    /// <summary>402s carry an unparseable <c>WWW-Authenticate</c> and successes an unparseable <c>Payment-Receipt</c>.</summary>
    MalformedHeaders,

    /// <summary>Every answer is delayed by <see cref="HostileBehavior.Delay"/>.</summary>
    SlowResponse,
}

/// <summary>A switchable misbehaviour of the test server, for testing how a client copes.</summary>
/// <param name="Kind">The misbehaviour.</param>
public sealed record HostileBehavior(HostileKind Kind)
{
    /// <summary>Gets the delay of <see cref="HostileKind.SlowResponse"/>.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>Gets the price multiplier of <see cref="HostileKind.WrongAmountInChallenge"/>.</summary>
    public int Factor { get; init; } = 1000;

    /// <summary>Gets a server that answers every credential with another 402.</summary>
    public static HostileBehavior Payment402Forever { get; } = new(HostileKind.Payment402Forever);

    /// <summary>Gets a server whose challenges ask for 1000 times the configured price.</summary>
    public static HostileBehavior WrongAmountInChallenge { get; } = new(HostileKind.WrongAmountInChallenge);

    /// <summary>Gets a server whose receipts do not match the payment.</summary>
    public static HostileBehavior ReceiptMismatch { get; } = new(HostileKind.ReceiptMismatch);

    /// <summary>Gets a server that takes the payment and drops the connection.</summary>
    public static HostileBehavior DropAfterCredential { get; } = new(HostileKind.DropAfterCredential);

    /// <summary>Gets a server with malformed payment headers.</summary>
    public static HostileBehavior MalformedHeaders { get; } = new(HostileKind.MalformedHeaders);

    /// <summary>A server that delays every answer.</summary>
    /// <param name="delay">The delay.</param>
    /// <returns>The behaviour.</returns>
    public static HostileBehavior SlowResponse(TimeSpan delay) => new(HostileKind.SlowResponse) { Delay = delay };
}

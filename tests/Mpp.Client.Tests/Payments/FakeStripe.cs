using System.Collections.Concurrent;
using System.Numerics;
using System.Security.Cryptography;
using Mpp.Client.Stripe;

namespace Mpp.Client.Tests.Payments;

/// <summary>
/// Stands in for Stripe (unreachable from our machines) on both sides: it mints Shared Payment Tokens for
/// the client, as an application's backend would, and lets the test server charge them once, within
/// their limits, as Stripe's PaymentIntents API would.
/// </summary>
internal sealed class FakeStripe : ISharedPaymentTokenProvider
{
    private readonly ConcurrentDictionary<string, Token> _tokens = new();
    private int _intents;

    public List<SharedPaymentTokenRequest> Requests { get; } = [];

    public ValueTask<string> CreateTokenAsync(SharedPaymentTokenRequest request, CancellationToken cancellationToken)
    {
        var id = "spt_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();
        _tokens[id] = new Token(request.Amount, request.Currency, request.NetworkId, request.ExpiresAt);
        lock (Requests)
        {
            Requests.Add(request);
        }

        return ValueTask.FromResult(id);
    }

    /// <summary>Charges a token once: the PaymentIntent id, or null when the token is unknown, used or over its limits.</summary>
    public string? Charge(string spt, BigInteger amount, string currency, string networkId)
    {
        if (!_tokens.TryRemove(spt, out var token) || amount > token.MaxAmount || !string.Equals(currency, token.Currency, StringComparison.OrdinalIgnoreCase) || networkId != token.NetworkId)
        {
            return null;
        }

        return "pi_" + Interlocked.Increment(ref _intents).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
    }

    private sealed record Token(BigInteger MaxAmount, string Currency, string NetworkId, DateTimeOffset ExpiresAt);
}

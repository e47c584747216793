using System.Text.Json;
using Mpp.Client.Protocol;

namespace Mpp.Client.Mcp.Tests;

/// <summary>A payment method for tests (<c>test</c>/<c>charge</c>): the payload is a proof naming the challenge id.</summary>
internal sealed class TestMethod : IPaymentMethod
{
    public static readonly Asset Coin = new(AssetId.Fiat("xts"), "XTS", 2);

    public List<PaymentSettlement> Settlements { get; } = [];

    public int Signatures { get; private set; }

    public string Method => "test";

    public bool CanPay(PaymentChallenge challenge) => challenge is { Method: "test", Intent: "charge" };

    public ValueTask<PaymentQuote> QuoteAsync(PaymentChallenge challenge, PaymentContext context, CancellationToken cancellationToken)
    {
        var amount = System.Numerics.BigInteger.Parse(challenge.Request.GetProperty("amount").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        return ValueTask.FromResult(new PaymentQuote(challenge, new AssetAmount(Coin.Id, amount), ["merchant"]));
    }

    public ValueTask<PaymentCredential> CreateCredentialAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
    {
        Signatures++;
        using var payload = JsonDocument.Parse($$"""{"proof":"paid-{{quote.Challenge.Id}}"}""");
        return ValueTask.FromResult(new PaymentCredential(quote.Challenge, payload.RootElement.Clone(), "did:test:payer"));
    }

    public ValueTask OnSettledAsync(PaymentSettlement settlement, CancellationToken cancellationToken)
    {
        Settlements.Add(settlement);
        return ValueTask.CompletedTask;
    }
}

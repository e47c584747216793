using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Mpp.Client.Protocol;

namespace Mpp.Client.Tests.Payments;

/// <summary>
/// A payment method for tests (<c>method="test"</c>, <c>intent="charge"</c>): its proof is an HMAC of the
/// challenge id, amount and recipient under a wallet key the test server also knows, so the server can
/// verify it and a tampered credential fails. It counts every signature it makes.
/// </summary>
internal sealed class TestChargeMethod : IPaymentMethod
{
    public static readonly byte[] WalletKey = Encoding.UTF8.GetBytes("test-wallet-key-0123456789abcdef-0123456789");

    public static readonly Asset Coin = new(AssetId.Fiat("xts"), "XTS", 2);

    private int _signatures;

    public int Signatures => Volatile.Read(ref _signatures);

    public List<PaymentSettlement> Settlements { get; } = [];

    public List<string> Proofs { get; } = [];

    /// <summary>Thrown from CreateCredentialAsync when set.</summary>
    public Exception? FailWith { get; set; }

    public string Method => "test";

    public bool CanPay(PaymentChallenge challenge) => challenge is { Method: "test", Intent: "charge" };

    public ValueTask<PaymentQuote> QuoteAsync(PaymentChallenge challenge, PaymentContext context, CancellationToken cancellationToken)
    {
        var request = challenge.Request;
        var amountText = request.TryGetProperty("amount", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
        if (!AssetAmount.TryParseUnits(amountText, out var units))
        {
            throw new PaymentDeniedException("method.invalid-request", $"bad amount '{amountText}'");
        }

        var currency = request.GetProperty("currency").GetString()!;
        var recipient = request.TryGetProperty("recipient", out var r) ? r.GetString()! : "merchant";
        long? chainId = request.TryGetProperty("methodDetails", out var d) && d.TryGetProperty("chainId", out var c) ? c.GetInt64() : null;
        return ValueTask.FromResult(new PaymentQuote(challenge, new AssetAmount(AssetId.Fiat(currency), units), [recipient], chainId: chainId));
    }

    public ValueTask<PaymentCredential> CreateCredentialAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _signatures);
        if (FailWith is { } failure)
        {
            throw failure;
        }

        var proof = Proof(quote.Challenge.Id, quote.Amount.Units.ToString(System.Globalization.CultureInfo.InvariantCulture), quote.Recipients[0]);
        lock (Proofs)
        {
            Proofs.Add(proof);
        }

        using var payload = JsonDocument.Parse($$"""{"proof":"{{proof}}"}""");
        return ValueTask.FromResult(new PaymentCredential(quote.Challenge, payload.RootElement.Clone(), "did:test:payer"));
    }

    public ValueTask OnSettledAsync(PaymentSettlement settlement, CancellationToken cancellationToken)
    {
        lock (Settlements)
        {
            Settlements.Add(settlement);
        }

        return ValueTask.CompletedTask;
    }

    public static string Proof(string challengeId, string amount, string recipient)
        => Convert.ToHexString(HMACSHA256.HashData(WalletKey, Encoding.UTF8.GetBytes($"{challengeId}|{amount}|{recipient}"))).ToLowerInvariant();
}

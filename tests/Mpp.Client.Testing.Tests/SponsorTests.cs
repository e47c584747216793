using System.Text.Json;
using System.Text.Json.Nodes;
using Mpp.Client.Protocol;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Charge;
using Mpp.Client.Tempo.Evm;
using Mpp.Client.Testing.Chain;

namespace Mpp.Client.Testing.Tests;

/// <summary>The kit as fee payer (policy and co-signature) and as push-mode verifier (receipt logs), against the mppx vectors.</summary>
public sealed class SponsorTests
{
    private const string FeePayerKey = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"; // the vector's fee payer (anvil #1)

    [Test]
    public async Task The_sponsor_cosigns_the_mppx_sponsored_charge_into_exactly_the_transaction_mppx_broadcasts()
    {
        var vector = Load("charge-sponsored.json");
        var challenge = PaymentChallenge.Parse(vector.GetProperty("challenge").GetProperty("wwwAuthenticate").GetString()!);
        var cosign = vector.GetProperty("sponsorCosign");
        var envelope = SignedTempoTransaction.Decode(Hex.Decode(Credential(vector).GetProperty("payload").GetProperty("signature").GetString()!));
        using var feePayer = PrivateKeySigner.FromHex(FeePayerKey);
        var now = DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeSeconds();

        var broadcast = await TempoSponsor.CosignAsync(envelope, TempoPaymentRules.Expected(ChargeRequest.Read(challenge)), challenge, EvmAddress.Parse(cosign.GetProperty("feeToken").GetString()!), feePayer, now, CancellationToken.None);

        Assert.That(Hex.Encode(broadcast), Is.EqualTo(cosign.GetProperty("broadcastTransaction").GetString()));
        Assert.That(Hex.Encode(Keccak.Hash(broadcast)), Is.EqualTo(cosign.GetProperty("broadcastTransactionHash").GetString()));
    }

    [TestCase(2_000_001, 25, "gas limit exceeds sponsor policy")]
    [TestCase(500_000, 901, "validity window exceeds sponsor policy")]
    [TestCase(500_000, -1, "has expired")]
    public void The_sponsor_refuses_an_envelope_beyond_its_policy_and_signs_nothing(long gas, long validFor, string reason)
    {
        var vector = Load("charge-sponsored.json");
        var challenge = PaymentChallenge.Parse(vector.GetProperty("challenge").GetProperty("wwwAuthenticate").GetString()!);
        var envelope = SignedTempoTransaction.Decode(Hex.Decode(Credential(vector).GetProperty("payload").GetProperty("signature").GetString()!));
        var now = envelope.ValidBefore - validFor;
        var changed = envelope with { Gas = gas };
        var feePayer = new CountingSigner();

        var ex = Assert.ThrowsAsync<FormatException>(() => TempoSponsor.CosignAsync(changed, TempoPaymentRules.Expected(ChargeRequest.Read(challenge)), null, EvmAddress.Parse(TempoAssets.PathUsdAddress), feePayer, now, CancellationToken.None));

        Assert.That(ex!.Message, Does.Contain(reason));
        Assert.That(feePayer.Signatures, Is.Zero);
    }

    [Test]
    public void A_receipt_proves_a_push_payment_only_with_a_transfer_with_memo_bound_to_the_challenge()
    {
        var challenge = PaymentChallenge.Create("challenge-123", "api.example.com", "tempo", "charge", JsonDocument.Parse("""{"amount":"1000","currency":"0x1234567890123456789012345678901234567890","recipient":"0x4567890123456789012345678901234567890123"}""").RootElement, null);
        var hash = "0x" + new string('1', 64);
        string Receipt(string topic0, byte[] memo) => new JsonObject
        {
            ["transactionHash"] = hash,
            ["status"] = "0x1",
            ["logs"] = new JsonArray(new JsonObject
            {
                ["address"] = "0x1234567890123456789012345678901234567890",
                ["topics"] = new JsonArray(topic0, "0x" + new string('0', 24) + "abcdabcdabcdabcdabcdabcdabcdabcdabcdabcd", "0x" + new string('0', 24) + "4567890123456789012345678901234567890123", Hex.Encode(memo)),
                ["data"] = "0x" + new string('0', 61) + "3e8",
            }),
        }.ToJsonString();
        var withMemo = Hex.Encode(Abi.TransferWithMemoTopic);
        var bound = AttributionMemo.Create("api.example.com", "challenge-123");

        Assert.That(TempoPaymentRules.VerifyReceipt(challenge, hash, JsonDocument.Parse(Receipt(withMemo, bound)).RootElement), Is.EqualTo(hash));
        Assert.Throws<FormatException>(() => TempoPaymentRules.VerifyReceipt(challenge, hash, JsonDocument.Parse(Receipt(Hex.Encode(Abi.TransferTopic), bound)).RootElement), "a plain Transfer");
        Assert.Throws<FormatException>(() => TempoPaymentRules.VerifyReceipt(challenge, hash, JsonDocument.Parse(Receipt(withMemo, AttributionMemo.Create("api.example.com", "challenge-124"))).RootElement), "another challenge");
        Assert.Throws<FormatException>(() => TempoPaymentRules.VerifyReceipt(challenge, hash, JsonDocument.Parse(Receipt(withMemo, AttributionMemo.Create("other.example.com", "challenge-123"))).RootElement), "another realm");
        Assert.Throws<FormatException>(() => TempoPaymentRules.VerifyReceipt(challenge, "0x" + new string('2', 64), JsonDocument.Parse(Receipt(withMemo, bound)).RootElement), "another transaction");
    }

    private static JsonElement Load(string file)
        => JsonDocument.Parse(File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "Vectors", file))).RootElement.Clone();

    private static JsonElement Credential(JsonElement vector) => vector.GetProperty("credential").GetProperty("wireJson");

    /// <summary>Counts signatures: a refused envelope must get none.</summary>
    private sealed class CountingSigner : IEvmSigner
    {
        private readonly PrivateKeySigner _inner = PrivateKeySigner.FromHex(FeePayerKey);

        public int Signatures { get; private set; }

        public EvmAddress Address => _inner.Address;

        public ValueTask<EvmSignature> SignHashAsync(ReadOnlyMemory<byte> hash, CancellationToken cancellationToken)
        {
            Signatures++;
            return _inner.SignHashAsync(hash, cancellationToken);
        }
    }
}

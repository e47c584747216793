using System.Text.Json;
using Mpp.Client.Protocol;
using Mpp.Client.Tests.Vectors;

namespace Mpp.Client.Tests.Protocol;

public sealed class ReceiptTests
{
    [Test]
    public void The_reference_servers_receipt_parses_and_formats_back_byte_for_byte()
    {
        var vector = ReferenceVectors.Load("charge.json").GetProperty("exampleReceipt");
        var header = vector.Str("paymentReceiptHeader");

        var receipt = PaymentReceipt.Parse(header);

        Assert.Multiple(() =>
        {
            Assert.That(receipt.Status, Is.EqualTo("success"));
            Assert.That(receipt.IsSuccess, Is.True);
            Assert.That(receipt.Method, Is.EqualTo("tempo"));
            Assert.That(receipt.Reference, Is.EqualTo(vector.Str("receipt", "reference")));
            Assert.That(receipt.TimestampText, Is.EqualTo("2026-01-01T00:00:01.000Z"));
            Assert.That(receipt.Timestamp, Is.EqualTo(new DateTimeOffset(2026, 1, 1, 0, 0, 1, TimeSpan.Zero)));
            Assert.That(receipt.ToHeaderValue(), Is.EqualTo(header));
        });
    }

    [Test]
    public void Method_extensions_are_kept()
    {
        var json = """{"status":"success","method":"tempo","timestamp":"2026-01-01T00:00:01Z","reference":"0xab","challengeId":"ch_1","externalId":"order-1","acceptedCumulative":"3000"}""";

        var receipt = PaymentReceipt.Parse(Base64UrlCodec.EncodeUtf8(json));

        Assert.That(receipt.TryGetMember("challengeId", out var challengeId), Is.True);
        Assert.That(challengeId.GetString(), Is.EqualTo("ch_1"));
        Assert.That(receipt.ExternalId, Is.EqualTo("order-1"));
        Assert.That(receipt.TryGetMember("acceptedCumulative", out _), Is.True);
    }

    [TestCase("""{"method":"tempo","timestamp":"2026-01-01T00:00:01Z","reference":"0xab"}""", "status")]
    [TestCase("""{"status":"success","timestamp":"2026-01-01T00:00:01Z","reference":"0xab"}""", "method")]
    [TestCase("""{"status":"success","method":"tempo","reference":"0xab"}""", "timestamp")]
    [TestCase("""{"status":"success","method":"tempo","timestamp":"2026-01-01T00:00:01Z"}""", "reference")]
    [TestCase("""{"status":"success","method":"tempo","timestamp":"Jan 29 2026 12:00","reference":"0xab"}""", "timestamp")]
    [TestCase("""{"status":"success","method":"tempo","timestamp":"2026-01-01T00:00:01Z","reference":""}""", "reference")]
    [TestCase("""{"status":"success","method":7,"timestamp":"2026-01-01T00:00:01Z","reference":"0xab"}""", "method")]
    [TestCase("""{"status":"success","method":"tempo","timestamp":"2026-01-01T00:00:01Z","reference":"0xab","externalId":1}""", "externalId")]
    [TestCase("""["success"]""", "receipt")]
    public void A_receipt_missing_or_mistyping_a_member_is_rejected_and_names_it(string json, string parameter)
    {
        var ex = Assert.Throws<MppProtocolException>(() => PaymentReceipt.Parse(Base64UrlCodec.EncodeUtf8(json)));

        Assert.That(ex!.Parameter, Is.EqualTo(parameter), ex.Message);
    }

    [TestCase("not-valid-base64!!!")]
    [TestCase("bm90IGpzb24")]
    public void A_receipt_that_is_not_base64url_json_is_rejected(string value)
    {
        Assert.Throws<MppProtocolException>(() => PaymentReceipt.Parse(value));
        Assert.That(PaymentReceipt.TryParse(value, out _), Is.False);
    }

    [Test]
    public void A_created_receipt_round_trips_with_its_extensions()
    {
        var receipt = PaymentReceipt.Create("tempo", "0xabc", new DateTimeOffset(2026, 11, 20, 12, 0, 0, TimeSpan.FromHours(1)),
            new Dictionary<string, JsonElement> { ["challengeId"] = ReferenceVectors.Json("\"ch_1\"") });

        var parsed = PaymentReceipt.Parse(receipt.ToHeaderValue());

        Assert.That(parsed.TimestampText, Is.EqualTo("2026-11-20T11:00:00.000Z"));
        Assert.That(parsed.TryGetMember("challengeId", out var id) && id.GetString() == "ch_1", Is.True);
        Assert.Throws<ArgumentException>(() => PaymentReceipt.Create("tempo", "0x1", DateTimeOffset.UnixEpoch, new Dictionary<string, JsonElement> { ["status"] = ReferenceVectors.Json("\"failed\"") }));
    }

    [Test]
    public void To_string_shows_only_method_and_status()
    {
        var receipt = PaymentReceipt.Create("tempo", "0xsecretreference", DateTimeOffset.UnixEpoch);

        Assert.That(receipt.ToString(), Is.EqualTo("Payment receipt (tempo, success)"));
    }
}

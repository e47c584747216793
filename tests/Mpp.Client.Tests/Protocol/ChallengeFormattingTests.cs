using Mpp.Client.Protocol;
using Mpp.Client.Tests.Vectors;

namespace Mpp.Client.Tests.Protocol;

public sealed class ChallengeFormattingTests
{
    [Test]
    public void A_created_challenge_formats_and_parses_back_to_the_same_values()
    {
        var request = ReferenceVectors.Json("""{"recipient":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","amount":"10000","currency":"0x20c0000000000000000000000000000000000000","methodDetails":{"chainId":1337}}""");
        var created = PaymentChallenge.Create("ch_1", "interop.local", "tempo", "charge", request, "2026-01-01T00:05:00.000Z", "Pay \"now\" \\ caf\u00e9 \u2615", "sha-256=abc", "eyJrIjoidiJ9", "Payment-Authorization");

        var parsed = PaymentChallenge.Parse(created.ToHeaderValue());

        Assert.Multiple(() =>
        {
            Assert.That(parsed.Id, Is.EqualTo("ch_1"));
            Assert.That(parsed.RequestEncoded, Is.EqualTo(created.RequestEncoded));
            Assert.That(parsed.Description, Is.EqualTo("Pay \"now\" \\ caf\u00e9 \u2615"));
            Assert.That(parsed.ExpiresText, Is.EqualTo("2026-01-01T00:05:00.000Z"));
            Assert.That(parsed.Digest, Is.EqualTo("sha-256=abc"));
            Assert.That(parsed.Opaque, Is.EqualTo("eyJrIjoidiJ9"));
            Assert.That(parsed.Header, Is.EqualTo("Payment-Authorization"));
            Assert.That(parsed.ToJson(), Is.EqualTo(created.ToJson()));
        });
    }

    [Test]
    public void The_request_is_encoded_with_jcs_as_the_reference_server_does()
    {
        var vector = ReferenceVectors.Load("charge.json").GetProperty("challenge");
        var request = vector.Get("parsed", "request");

        var created = PaymentChallenge.Create("x", "interop.local", "tempo", "charge", request);

        Assert.That(created.RequestEncoded, Is.EqualTo(vector.Str("requestBase64Url")));
    }

    [Test]
    public void A_bound_challenge_reproduces_the_reference_servers_id()
    {
        var vector = ReferenceVectors.Load("charge.json").GetProperty("challenge");

        var created = PaymentChallenge.CreateBound(
            System.Text.Encoding.UTF8.GetBytes(vector.Str("id", "secretKey")),
            "interop.local", "tempo", "charge", vector.Get("parsed", "request"), "2026-01-01T00:05:00.000Z", "interop charge");

        Assert.That(created.Id, Is.EqualTo(vector.Str("parsed", "id")));
        Assert.That(created.ToHeaderValue(), Is.EqualTo(vector.Str("wwwAuthenticate")));
    }

    [TestCase("Line one\r\nLine two")]
    [TestCase("a\nb")]
    [TestCase("a\rb")]
    [TestCase("bell\u0007")]
    public void Formatting_refuses_values_that_would_break_the_header(string description)
    {
        var challenge = PaymentChallenge.Create("ch", "r", "tempo", "charge", ReferenceVectors.Json("{}"), description: description);

        var ex = Assert.Throws<MppProtocolException>(() => challenge.ToHeaderValue());

        Assert.That(ex!.Kind, Is.EqualTo(MppProtocolErrorKind.Format));
        Assert.That(ex.Parameter, Is.EqualTo("description"));
    }

    [Test]
    public void Characters_beyond_latin_1_are_written_as_unicode_escapes()
    {
        var challenge = PaymentChallenge.Create("ch", "r", "tempo", "charge", ReferenceVectors.Json("{}"), description: "caf\u00e9 \u2615");

        Assert.That(challenge.ToHeaderValue(), Does.EndWith("description=\"caf\u00e9 \\u2615\""));
    }

    [Test]
    public void Creating_validates_like_parsing()
    {
        var empty = ReferenceVectors.Json("{}");

        Assert.Throws<MppProtocolException>(() => PaymentChallenge.Create("", "r", "tempo", "charge", empty));
        Assert.Throws<MppProtocolException>(() => PaymentChallenge.Create("ch", "r", "TEMPO", "charge", empty));
        Assert.Throws<MppProtocolException>(() => PaymentChallenge.Create("ch", "r", "tempo", "charge", ReferenceVectors.Json("[]")));
        Assert.Throws<MppProtocolException>(() => PaymentChallenge.Create("ch", "r", "tempo", "charge", empty, expires: "soon"));
    }

    [Test]
    public void From_json_accepts_the_request_as_text_or_as_an_object()
    {
        var asObject = PaymentChallenge.FromJson(ReferenceVectors.Json("""{"id":"ch","realm":"r","method":"tempo","intent":"charge","request":{"b":1,"a":"x"},"meta":{"ignored":true}}"""));
        var asText = PaymentChallenge.FromJson(ReferenceVectors.Json("""{"id":"ch","realm":"r","method":"tempo","intent":"charge","request":"eyJhIjoieCIsImIiOjF9"}"""));

        Assert.That(asObject.RequestEncoded, Is.EqualTo("eyJhIjoieCIsImIiOjF9"));
        Assert.That(asText.ToJson(), Is.EqualTo(asObject.ToJson()));
        Assert.That(asText.ToJson(decodeRequest: false), Is.EqualTo("""{"id":"ch","intent":"charge","method":"tempo","realm":"r","request":"eyJhIjoieCIsImIiOjF9"}"""));
    }

    [Test]
    public void From_json_rejects_members_of_the_wrong_type()
    {
        var ex = Assert.Throws<MppProtocolException>(() => PaymentChallenge.FromJson(ReferenceVectors.Json("""{"id":1,"realm":"r","method":"tempo","intent":"charge","request":"e30"}""")));

        Assert.That(ex!.Parameter, Is.EqualTo("id"));
    }
}

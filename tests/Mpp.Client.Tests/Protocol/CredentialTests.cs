using System.Text.Json;
using Mpp.Client.Protocol;
using Mpp.Client.Tests.Vectors;

namespace Mpp.Client.Tests.Protocol;

public sealed class CredentialTests
{
    [TestCase("charge.json")]
    [TestCase("charge-sponsored.json")]
    public void A_credential_for_the_reference_challenge_is_byte_identical_to_the_reference_clients(string file)
    {
        var vector = ReferenceVectors.Load(file);
        var challenge = PaymentChallenge.Parse(vector.Str("challenge", "wwwAuthenticate"));
        var decoded = vector.Get("credential", "decoded");

        var credential = new PaymentCredential(challenge, decoded.GetProperty("payload"), decoded.Str("source"));

        Assert.That(credential.ToHeaderValue(), Is.EqualTo(vector.Str("credential", "authorization")));
        Assert.That(credential.HeaderName, Is.EqualTo("Authorization"));
    }

    [TestCase("charge.json")]
    [TestCase("charge-sponsored.json")]
    public void The_reference_clients_credential_parses_and_formats_back_unchanged(string file)
    {
        var vector = ReferenceVectors.Load(file);
        var authorization = vector.Str("credential", "authorization");

        var credential = PaymentCredential.Parse(authorization);

        Assert.Multiple(() =>
        {
            Assert.That(credential.Challenge.Id, Is.EqualTo(vector.Str("challenge", "parsed", "id")));
            Assert.That(credential.Challenge.RequestEncoded, Is.EqualTo(vector.Str("challenge", "requestBase64Url")));
            Assert.That(credential.Payload.Str("type"), Is.EqualTo("transaction"));
            Assert.That(credential.Source!.Value.GetString(), Is.EqualTo(vector.Str("credential", "decoded", "source")));
            Assert.That(credential.ToHeaderValue(), Is.EqualTo(authorization));
        });
    }

    [Test]
    public void A_credential_for_a_payment_authorization_challenge_echoes_the_header_and_targets_that_field()
    {
        var challenge = PaymentChallenge.Parse("Payment id=\"ch\", realm=\"r\", method=\"tempo\", intent=\"charge\", request=\"e30\", header=\"Payment-Authorization\"");

        var credential = new PaymentCredential(challenge, ReferenceVectors.Json("{}"));

        Assert.That(credential.HeaderName, Is.EqualTo("Payment-Authorization"));
        Assert.That(credential.ToJson(), Is.EqualTo("""{"challenge":{"header":"Payment-Authorization","id":"ch","intent":"charge","method":"tempo","realm":"r","request":"e30"},"payload":{}}"""));
    }

    [Test]
    public void The_payment_credential_is_found_among_other_schemes()
    {
        var token = new PaymentCredential(PaymentChallenge.Parse("Payment id=\"ch\", realm=\"r\", method=\"tempo\", intent=\"charge\", request=\"e30\""), ReferenceVectors.Json("""{"k":"v"}""")).ToHeaderValue();

        var credential = PaymentCredential.Parse("Bearer abc.def, " + token.Replace("Payment ", "payment   ", StringComparison.Ordinal));

        Assert.That(credential.Payload.Str("k"), Is.EqualTo("v"));
    }

    [Test]
    public void A_legacy_credential_with_the_request_as_an_object_is_read()
    {
        var json = """{"challenge":{"id":"ch","realm":"r","method":"tempo","intent":"charge","request":{"amount":"1"}},"payload":{},"source":{"kind":"x"}}""";

        var credential = PaymentCredential.Parse("Payment " + Base64UrlCodec.EncodeUtf8(json));

        Assert.That(credential.Challenge.RequestEncoded, Is.EqualTo(CanonicalJson.SerializeToBase64Url(ReferenceVectors.Json("""{"amount":"1"}"""))));
        Assert.That(credential.Source!.Value.ValueKind, Is.EqualTo(JsonValueKind.Object));
    }

    [TestCase("Bearer eyJjaGFsbGVuZ2UiOnt9fQ", null)]
    [TestCase("Payment", null)]
    [TestCase("Payment not-valid!!!", "credential")]
    [TestCase("Payment W10", "credential")]
    [TestCase("Payment bm90IGpzb24", "credential")]
    public void A_value_that_is_not_a_payment_credential_is_rejected(string value, string? parameter)
    {
        var ex = Assert.Throws<MppProtocolException>(() => PaymentCredential.Parse(value));

        Assert.That(ex!.Parameter, Is.EqualTo(parameter));
    }

    [TestCase("""{"payload":{}}""", "challenge")]
    [TestCase("""{"challenge":"ch_1","payload":{}}""", "challenge")]
    [TestCase("""{"challenge":{"id":"ch","realm":"r","method":"tempo","intent":"charge","request":"e30"}}""", "payload")]
    [TestCase("""{"challenge":{"id":"ch","realm":"r","method":"tempo","intent":"charge","request":"e30"},"payload":"x"}""", "payload")]
    [TestCase("""{"challenge":{"id":"ch","realm":"r","method":"tempo","intent":"charge","request":"e30"},"payload":{},"source":7}""", "source")]
    [TestCase("""{"challenge":{"realm":"r","method":"tempo","intent":"charge","request":"e30"},"payload":{}}""", "id")]
    [TestCase("""{"challenge":{"id":"ch","realm":"r","method":"tempo","intent":"charge","request":"e30"},"payload":{},"payload":{}}""", "credential")]
    public void A_credential_missing_or_mistyping_a_member_is_rejected_and_names_it(string json, string parameter)
    {
        var ex = Assert.Throws<MppProtocolException>(() => PaymentCredential.Parse("Payment " + Base64UrlCodec.EncodeUtf8(json)));

        Assert.That(ex!.Parameter, Is.EqualTo(parameter), ex.Message);
    }

    [Test]
    public void The_credential_never_shows_its_token_in_to_string()
    {
        var vector = ReferenceVectors.Load("charge.json");
        var credential = PaymentCredential.Parse(vector.Str("credential", "authorization"));

        Assert.That(credential.ToString(), Does.Not.Contain("0x76").And.Not.Contain("eyJ").And.Contain(credential.Challenge.Id));
    }

    [Test]
    public void The_payload_must_be_an_object()
    {
        var challenge = PaymentChallenge.Parse("Payment id=\"ch\", realm=\"r\", method=\"tempo\", intent=\"charge\", request=\"e30\"");

        Assert.Throws<ArgumentException>(() => _ = new PaymentCredential(challenge, ReferenceVectors.Json("[]")));
        Assert.Throws<ArgumentException>(() => _ = new PaymentCredential(challenge, ReferenceVectors.Json("{}"), ReferenceVectors.Json("1")));
    }
}

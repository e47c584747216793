using Mpp.Client.Protocol;

namespace Mpp.Client.Tests.Protocol;

public sealed class ChallengeIdTests
{
    private const string Secret = "test-vector-secret-minimum-32-byte-secret";
    private const string AmountRequest = "eyJhbW91bnQiOiIxMDAwMDAwIn0"; // {"amount":"1000000"}

    // Expected ids from the cross-SDK vectors, conformance/vectors/challenge-id.json (tempoxyz/mpp-tools).
    [TestCase(null, null, null, null, "6QDs0BmhrI_v67iWeCMvGqQJEFQ6ErWKlk7zi5xL6t0")] // required_fields_only
    [TestCase("2025-01-06T12:00:00Z", null, null, null, "ZcHgfEi5_Qyda9NQwUzamsCgCcWXw6N6EH2NLyaSTlg")] // with_expires
    [TestCase(null, "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE", null, null, "vwnOtW2kwdujK9_uC_taI2e6Jwq86Jwogvq9m--i8eQ")] // with_digest
    [TestCase(null, null, "trace-123", null, "1XJ-Ti0DACNe3E1zHvwH6OdnKlhUx6xKxDbhJyexng4")] // with_opaque
    [TestCase(null, null, null, "Payment-Authorization", "re8MIMJYpIJ0r_aiizscg6ghtipQM8IpOa_NtpwIU8E")] // with_payment_authorization_header
    [TestCase(null, null, null, "Authorization", "6QDs0BmhrI_v67iWeCMvGqQJEFQ6ErWKlk7zi5xL6t0")] // authorization_header_is_implicit_default
    // Derived in protocol.md §1.4 (Python hmac and mppx agree): the header slot sits before opaque, spelling bound.
    [TestCase(null, null, "trace-123", "Payment-Authorization", "WJt49WXzxlHtS3Fa0KRn66ygfhQ5kBOBVdTcmGScQCU")]
    [TestCase(null, null, null, "payment-authorization", "piYJ0YCsUuqYue5llaIiLFHVSyWmn_LQ4G0UQdpJwfg")]
    public void The_id_matches_the_cross_sdk_vectors(string? expires, string? digest, string? opaque, string? header, string expected)
    {
        var id = PaymentChallengeId.Compute(Secret, "api.example.com", "tempo", "charge", AmountRequest, expires, digest, opaque, header);

        Assert.That(id, Is.EqualTo(expected));
    }

    [TestCase("")]
    [TestCase("short")]
    [TestCase("0123456789abcdef0123456789abcde")]
    public void A_secret_under_32_bytes_is_refused(string secret)
    {
        var ex = Assert.Throws<ArgumentException>(() => PaymentChallengeId.Compute(secret, "r", "tempo", "charge", "e30"));

        Assert.That(ex!.Message, Does.Contain("at least 32 bytes"));
    }

    [Test]
    public void Verification_detects_any_tampered_bound_value()
    {
        var secret = System.Text.Encoding.UTF8.GetBytes(Secret);
        var challenge = PaymentChallenge.CreateBound(secret, "api.example.com", "tempo", "charge", Vectors.ReferenceVectors.Json("""{"amount":"1000000"}"""), "2030-01-01T00:00:00Z", "free text");
        var header = challenge.ToHeaderValue();

        Assert.That(PaymentChallengeId.Verify(secret, PaymentChallenge.Parse(header)), Is.True);
        Assert.That(PaymentChallengeId.Verify(secret, PaymentChallenge.Parse(header.Replace("free text", "other text", StringComparison.Ordinal))), Is.True, "description is not bound");
        Assert.That(PaymentChallengeId.Verify(secret, PaymentChallenge.Parse(header.Replace("2030", "2031", StringComparison.Ordinal))), Is.False);
        Assert.That(PaymentChallengeId.Verify(secret, PaymentChallenge.Parse(header.Replace("api.example.com", "api.example.org", StringComparison.Ordinal))), Is.False);
        Assert.That(PaymentChallengeId.Verify(System.Text.Encoding.UTF8.GetBytes(Secret + "x"), PaymentChallenge.Parse(header)), Is.False);
    }
}

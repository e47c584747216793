using Mpp.Client.Protocol;

namespace Mpp.Client.Tests.Protocol;

public sealed class ProblemTests
{
    // The body the reference server (mppx 0.11.0, shared/interop) sends with its first 402.
    private const string ReferenceBody = """{"type":"https://paymentauth.org/problems/payment-required","title":"Payment Required","status":402,"detail":"Payment is required (interop charge).","hint":"Use a supported wallet to pay.","challengeId":"g-ZK75jtb7yyqPDwPEHHyEXNAk1fyYsALyYehz-GE9Y"}""";

    [Test]
    public void The_reference_servers_problem_is_read_with_its_extensions()
    {
        var problem = PaymentProblem.Parse(ReferenceBody);

        Assert.Multiple(() =>
        {
            Assert.That(problem.Type, Is.EqualTo(PaymentProblemTypes.PaymentRequired));
            Assert.That(problem.Code, Is.EqualTo("payment-required"));
            Assert.That(problem.IsKnownType, Is.True);
            Assert.That(problem.Status, Is.EqualTo(402));
            Assert.That(problem.Title, Is.EqualTo("Payment Required"));
            Assert.That(problem.ChallengeId, Is.EqualTo("g-ZK75jtb7yyqPDwPEHHyEXNAk1fyYsALyYehz-GE9Y"));
            Assert.That(problem.Json.GetProperty("hint").GetString(), Does.StartWith("Use a supported wallet"));
        });
    }

    [Test]
    public void An_unknown_type_is_preserved()
    {
        var problem = PaymentProblem.Parse("""{"type":"https://example.com/problems/rate-limited","status":429}""");

        Assert.That(problem.Type, Is.EqualTo("https://example.com/problems/rate-limited"));
        Assert.That(problem.IsKnownType, Is.False);
        Assert.That(problem.Code, Is.Null);
    }

    [Test]
    public void A_missing_or_mistyped_member_falls_back_as_rfc_9457_says()
    {
        var problem = PaymentProblem.Parse("""{"type":7,"status":"402","title":"x"}""");

        Assert.That(problem.Type, Is.EqualTo("about:blank"));
        Assert.That(problem.Status, Is.Null);
        Assert.That(problem.Title, Is.EqualTo("x"));
    }

    [TestCase("[]")]
    [TestCase("not json")]
    [TestCase("")]
    [TestCase("""{"a":1,"a":2}""")]
    public void A_body_that_is_not_a_json_object_is_rejected(string body)
    {
        Assert.Throws<MppProtocolException>(() => PaymentProblem.Parse(body));
        Assert.That(PaymentProblem.TryParse(System.Text.Encoding.UTF8.GetBytes(body), out _), Is.False);
    }

    [Test]
    public void Every_known_type_lives_under_the_mpp_base_uri()
    {
        Assert.That(PaymentProblemTypes.All, Has.Count.EqualTo(29));
        Assert.That(PaymentProblemTypes.All, Has.All.StartsWith(PaymentProblemTypes.BaseUri));
        Assert.That(PaymentProblemTypes.IsKnown(PaymentProblemTypes.SessionChannelNotFound), Is.True);
        Assert.That(PaymentProblemTypes.IsKnown(null), Is.False);
    }
}

public sealed class AcceptPaymentTests
{
    [Test]
    public void Ranges_are_formatted_in_order_with_quality_only_when_below_one()
    {
        var value = AcceptPaymentHeader.Format([new("tempo", "charge"), new("tempo", "session"), new("stripe", "charge", 0.5m), new("*", "session", 0.125m), new("solana", "*", 0m)]);

        Assert.That(value, Is.EqualTo("tempo/charge, tempo/session, stripe/charge;q=0.5, */session;q=0.125, solana/*;q=0"));
    }

    [TestCase("Tempo", "charge", 1)]
    [TestCase("tempo", "char ge", 1)]
    [TestCase("", "charge", 1)]
    [TestCase("tempo", "charge", 1.5)]
    [TestCase("tempo", "charge", -0.1)]
    [TestCase("tempo", "charge", 0.1234)]
    public void An_invalid_range_is_refused(string method, string intent, double quality)
    {
        Assert.Throws<ArgumentException>(() => AcceptPaymentHeader.Format([new(method, intent, (decimal)quality)]));
    }

    [Test]
    public void At_least_one_range_is_required()
    {
        Assert.Throws<ArgumentException>(() => AcceptPaymentHeader.Format([]));
    }
}

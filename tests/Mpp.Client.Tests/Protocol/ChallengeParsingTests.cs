using System.Net;
using System.Text;
using Mpp.Client.Protocol;
using Mpp.Client.Tests.Vectors;

namespace Mpp.Client.Tests.Protocol;

public sealed class ChallengeParsingTests
{
    private const string Minimal = "Payment id=\"ch_1\", realm=\"api.example.com\", method=\"tempo\", intent=\"charge\", request=\"e30\"";

    [TestCase("charge.json")]
    [TestCase("charge-sponsored.json")]
    public void The_reference_servers_challenge_parses_to_exactly_its_values(string file)
    {
        var vector = ReferenceVectors.Load(file).GetProperty("challenge");

        var challenge = PaymentChallenge.Parse(vector.Str("wwwAuthenticate"));

        var parsed = vector.GetProperty("parsed");
        Assert.Multiple(() =>
        {
            Assert.That(challenge.Id, Is.EqualTo(parsed.Str("id")));
            Assert.That(challenge.Realm, Is.EqualTo(parsed.Str("realm")));
            Assert.That(challenge.Method, Is.EqualTo(parsed.Str("method")));
            Assert.That(challenge.Intent, Is.EqualTo(parsed.Str("intent")));
            Assert.That(challenge.Description, Is.EqualTo(parsed.Str("description")));
            Assert.That(challenge.ExpiresText, Is.EqualTo(parsed.Str("expires")));
            Assert.That(challenge.Expires, Is.EqualTo(new DateTimeOffset(2026, 1, 1, 0, 5, 0, TimeSpan.Zero)));
            Assert.That(challenge.RequestEncoded, Is.EqualTo(vector.Str("requestBase64Url")));
            Assert.That(challenge.Request.Str("amount"), Is.EqualTo(parsed.Str("request", "amount")));
            Assert.That(challenge.Request.Str("recipient"), Is.EqualTo(parsed.Str("request", "recipient")));
            Assert.That(challenge.Request.Get("methodDetails", "chainId").GetInt32(), Is.EqualTo(1337));
            Assert.That(CanonicalJson.Serialize(challenge.Request), Is.EqualTo(vector.Str("requestCanonicalJson")));
            Assert.That(challenge.Header, Is.Null);
            Assert.That(challenge.CredentialHeaderName, Is.EqualTo("Authorization"));
            Assert.That(PaymentChallengeId.Verify(Encoding.UTF8.GetBytes(vector.Str("id", "secretKey")), challenge), Is.True);
        });
    }

    [Test]
    public void Token_values_parse_like_quoted_strings()
    {
        var challenge = PaymentChallenge.Parse("Payment id=ch_1, realm=api.example.com, method=tempo, intent=charge, request=e30");

        Assert.That((challenge.Id, challenge.Realm, challenge.Method, challenge.Intent, challenge.RequestEncoded),
            Is.EqualTo(("ch_1", "api.example.com", "tempo", "charge", "e30")));
    }

    [Test]
    public void Scheme_and_parameter_names_are_case_insensitive()
    {
        var challenge = PaymentChallenge.Parse("PAYMENT ID=\"ch_1\", Realm=\"r\", METHOD=\"tempo\", Intent=\"charge\", REQUEST=\"e30\", Expires=\"2030-01-01T00:00:00Z\"");

        Assert.That(challenge.Id, Is.EqualTo("ch_1"));
        Assert.That(challenge.ExpiresText, Is.EqualTo("2030-01-01T00:00:00Z"));
    }

    [Test]
    public void Several_challenges_in_one_comma_joined_value_are_all_read_in_order()
    {
        var value = Minimal + ", " + Minimal.Replace("ch_1", "ch_2", StringComparison.Ordinal).Replace("charge", "session", StringComparison.Ordinal);

        var result = PaymentChallenge.ParseAll([value]);

        Assert.That(result.Errors, Is.Empty);
        Assert.That(result.Challenges.Select(c => (c.Id, c.Intent)), Is.EqualTo(new[] { ("ch_1", "charge"), ("ch_2", "session") }));
    }

    [Test]
    public void Challenges_across_several_header_values_are_all_read_in_order()
    {
        var result = PaymentChallenge.ParseAll([Minimal, "Bearer realm=\"x\"", Minimal.Replace("ch_1", "ch_3", StringComparison.Ordinal)]);

        Assert.That(result.Challenges.Select(c => c.Id), Is.EqualTo(new[] { "ch_1", "ch_3" }));
    }

    [Test]
    public void Other_schemes_are_skipped_even_with_token68_commas_and_payment_inside_quotes()
    {
        var value = "Bearer realm=\"a, Payment id=\\\"fake\\\", realm=\\\"x\\\"\", error=\"invalid_token\", " +
                    "Basic dXNlcjpwYXNz==, Negotiate, " + Minimal + ", DPoP algs=\"ES256 PS256\"";

        var result = PaymentChallenge.ParseAll([value]);

        Assert.That(result.Errors, Is.Empty);
        Assert.That(result.Challenges.Single().Id, Is.EqualTo("ch_1"));
    }

    [Test]
    public void A_parameter_after_another_scheme_does_not_leak_into_the_payment_challenge()
    {
        var result = PaymentChallenge.ParseAll([Minimal + ", Bearer description=\"not ours\", id=\"evil\""]);

        Assert.That(result.Challenges.Single().Description, Is.Null);
        Assert.That(result.Challenges.Single().Id, Is.EqualTo("ch_1"));
    }

    [Test]
    public void The_word_payment_inside_a_quoted_value_does_not_start_a_challenge()
    {
        var result = PaymentChallenge.ParseAll([Minimal + ", description=\"Pay with the Payment id=\\\"x\\\" scheme\""]);

        Assert.That(result.Challenges, Has.Count.EqualTo(1));
        Assert.That(result.Challenges[0].Description, Is.EqualTo("Pay with the Payment id=\"x\" scheme"));
    }

    [Test]
    public void Quoted_string_escapes_are_decoded_including_the_mppx_unicode_escape()
    {
        var challenge = PaymentChallenge.Parse(Minimal + ", description=\"a \\\"q\\\" b\\\\c \\u2615 \\x \\u12\"");

        Assert.That(challenge.Description, Is.EqualTo("a \"q\" b\\c \u2615 x u12"));
    }

    [TestCase("id")]
    [TestCase("ID")]
    [TestCase("foo")]
    public void A_repeated_parameter_is_rejected_and_named(string name)
    {
        var ex = Assert.Throws<MppProtocolException>(() => PaymentChallenge.Parse($"Payment {name}=\"a\", id=\"ch\", realm=\"r\", method=\"tempo\", intent=\"charge\", request=\"e30\", {name.ToLowerInvariant()}=\"b\""));

        Assert.That(ex!.Kind, Is.EqualTo(MppProtocolErrorKind.Parse));
        Assert.That(ex.Message, Does.Contain("twice"));
    }

    [TestCase("id")]
    [TestCase("realm")]
    [TestCase("method")]
    [TestCase("intent")]
    [TestCase("request")]
    public void A_missing_required_parameter_is_rejected_and_named(string missing)
    {
        var parameters = new Dictionary<string, string> { ["id"] = "ch", ["realm"] = "r", ["method"] = "tempo", ["intent"] = "charge", ["request"] = "e30" };
        parameters.Remove(missing);
        var value = "Payment " + string.Join(", ", parameters.Select(p => $"{p.Key}=\"{p.Value}\""));

        var ex = Assert.Throws<MppProtocolException>(() => PaymentChallenge.Parse(value));

        Assert.That(ex!.Parameter, Is.EqualTo(missing));
        Assert.That(ex.Message, Does.Contain($"'{missing}'"));
    }

    [TestCase("id=\"\"", "id")]
    [TestCase("method=\"Tempo\"", "method")]
    [TestCase("method=\"tempo2\"", "method")]
    [TestCase("method=\"\"", "method")]
    [TestCase("intent=\"ch arge\"", "intent")]
    [TestCase("intent=\"charge!\"", "intent")]
    [TestCase("request=\"not-valid!!!\"", "request")]
    [TestCase("request=\"bm90IGpzb24\"", "request")]
    [TestCase("request=\"W10\"", "request")]
    [TestCase("request=\"eyJhIjoxLCJhIjoyfQ\"", "request")]
    [TestCase("request=\"eyJhIjp7ImIiOjEsImIiOjJ9fQ\"", "request")]
    [TestCase("request=\"e30x\"", "request")]
    [TestCase("request=\"eyJhIjoiXHVkODAwIn0\"", "request")]
    [TestCase("expires=\"tomorrow\"", "expires")]
    [TestCase("expires=\"2026-13-01T00:00:00Z\"", "expires")]
    [TestCase("expires=\"2026-02-30T00:00:00Z\"", "expires")]
    [TestCase("expires=\"2026-01-01 00:00:00Z\"", "expires")]
    [TestCase("expires=\"2026-01-01T00:00:00\"", "expires")]
    [TestCase("digest=\"md5=abc\"", "digest")]
    [TestCase("header=\"X-Pay\"", "header")]
    public void An_invalid_value_is_rejected_and_named(string parameter, string name)
    {
        var parameters = new Dictionary<string, string>
        {
            ["id"] = "id=\"ch\"", ["realm"] = "realm=\"r\"", ["method"] = "method=\"tempo\"", ["intent"] = "intent=\"charge\"", ["request"] = "request=\"e30\"",
        };
        parameters[name] = parameter;

        var ex = Assert.Throws<MppProtocolException>(() => PaymentChallenge.Parse("Payment " + string.Join(", ", parameters.Values)));

        Assert.That(ex!.Parameter, Is.EqualTo(name), ex.Message);
    }

    [TestCase("2026-01-01T00:05:00Z", "2026-01-01T00:05:00.0000000+00:00")]
    [TestCase("2026-01-01T00:05:00.123Z", "2026-01-01T00:05:00.1230000+00:00")]
    [TestCase("2026-01-01t02:05:00.5+02:00", "2026-01-01T02:05:00.5000000+02:00")]
    [TestCase("2026-01-01T00:05:00.123456789-01:30", "2026-01-01T00:05:00.1234567-01:30")]
    public void Expires_accepts_rfc_3339_forms_and_keeps_the_text(string text, string expected)
    {
        var challenge = PaymentChallenge.Parse(Minimal + $", expires=\"{text}\"");

        Assert.That(challenge.ExpiresText, Is.EqualTo(text));
        Assert.That(challenge.Expires!.Value.ToString("o", System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(expected));
    }

    [Test]
    public void The_payment_authorization_header_is_kept_with_its_spelling_and_authorization_is_the_default()
    {
        var lower = PaymentChallenge.Parse(Minimal + ", header=\"payment-authorization\"");
        var implicitDefault = PaymentChallenge.Parse(Minimal + ", header=\"AUTHORIZATION\"");

        Assert.That(lower.Header, Is.EqualTo("payment-authorization"));
        Assert.That(lower.CredentialHeaderName, Is.EqualTo("Payment-Authorization"));
        Assert.That(implicitDefault.Header, Is.Null);
        Assert.That(implicitDefault.CredentialHeaderName, Is.EqualTo("Authorization"));
    }

    [Test]
    public void Unknown_parameters_are_ignored_and_raw_values_are_kept_for_echo()
    {
        var challenge = PaymentChallenge.Parse(Minimal + ", foo=\"bar\", digest=\"sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:\", opaque=\"eyJrIjoidiJ9\"");

        Assert.That(challenge.Digest, Is.EqualTo("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"));
        Assert.That(challenge.Opaque, Is.EqualTo("eyJrIjoidiJ9"));
        Assert.That(challenge.TryGetOpaqueJson(out var opaque), Is.True);
        Assert.That(opaque.Str("k"), Is.EqualTo("v"));
    }

    [Test]
    public void A_quoted_string_that_never_closes_is_rejected_with_its_position()
    {
        var value = Minimal + ", description=\"open";

        var ex = Assert.Throws<MppProtocolException>(() => PaymentChallenge.Parse(value));

        Assert.That(ex!.Position, Is.EqualTo(value.IndexOf("\"open", StringComparison.Ordinal)));
        Assert.That(ex.Message, Does.Contain("never closed").And.Contain("description"));
    }

    [Test]
    public void A_control_character_inside_a_quoted_value_is_rejected()
    {
        var ex = Assert.Throws<MppProtocolException>(() => PaymentChallenge.Parse(Minimal + ", description=\"a\u0001b\""));

        Assert.That(ex!.Message, Does.Contain("Control character"));
    }

    [Test]
    public void A_stray_quote_ends_the_description_as_the_reference_vectors_require()
    {
        var challenge = PaymentChallenge.Parse(Minimal + ", description=\"Payment for \"Premium\" service \u2014 50% off!\"");

        Assert.That(challenge.Description, Is.EqualTo("Payment for "));
    }

    [Test]
    public void Parameters_separated_only_by_whitespace_are_tolerated()
    {
        var challenge = PaymentChallenge.Parse("Payment id=\"a\" realm=\"r\" method=\"tempo\" intent=\"charge\" request=\"e30\"");

        Assert.That(challenge.Realm, Is.EqualTo("r"));
    }

    [Test]
    public void Text_after_a_token_value_is_an_error_not_a_silent_truncation()
    {
        var ex = Assert.Throws<MppProtocolException>(() => PaymentChallenge.Parse("Payment id=ch, realm=api example, method=tempo, intent=charge, request=e30"));

        Assert.That(ex!.Message, Does.Contain("after the value of 'realm'"));
    }

    [TestCase("")]
    [TestCase("   ")]
    [TestCase("Bearer token123")]
    [TestCase("Basic dXNlcjpwYXNz")]
    public void A_value_with_no_payment_challenge_is_rejected(string value)
    {
        var ex = Assert.Throws<MppProtocolException>(() => PaymentChallenge.Parse(value));

        Assert.That(ex!.Message, Does.Contain("no Payment challenge"));
    }

    [TestCase("Payment")]
    [TestCase("Payment   ")]
    [TestCase("Payment, Bearer x")]
    public void A_payment_scheme_without_parameters_is_rejected(string value)
    {
        var ex = Assert.Throws<MppProtocolException>(() => PaymentChallenge.Parse(value));

        Assert.That(ex!.Message, Does.Contain("no parameters"));
    }

    [Test]
    public void A_parameter_value_over_the_limit_is_rejected()
    {
        var huge = new string('A', ChallengeLimits.MaxParameterLength + 1);

        var ex = Assert.Throws<MppProtocolException>(() => PaymentChallenge.Parse(Minimal + $", description=\"{huge}\""));

        Assert.That(ex!.Message, Does.Contain("longer than"));
    }

    [Test]
    public void Header_values_over_the_size_limit_together_are_refused_whole_by_both_entry_points()
    {
        var half = Minimal + ", x=\"" + new string('A', (ChallengeLimits.MaxChallengeHeaderLength / 2) - Minimal.Length) + "\"";

        Assert.Throws<MppProtocolException>(() => PaymentChallenge.Parse(half + half));
        Assert.That(PaymentChallenge.ParseAll([half]).Challenges, Has.Count.EqualTo(1), "one value within the limit is read");
        var result = PaymentChallenge.ParseAll([half, half, Minimal]);
        Assert.That(result.ExceedsSizeLimit, Is.True);
        Assert.That(result.Challenges, Is.Empty, "over the limit nothing is read, not even the payable challenge");
        Assert.That(result.Errors.Single().Message, Does.Contain("more than the 32768"));
    }

    [Test]
    public void A_challenge_with_too_many_parameters_is_rejected()
    {
        var extras = string.Join(", ", Enumerable.Range(0, ChallengeLimits.MaxParameters).Select(i => $"x{i}=\"v\""));

        var ex = Assert.Throws<MppProtocolException>(() => PaymentChallenge.Parse(Minimal + ", " + extras));

        Assert.That(ex!.Message, Does.Contain("more than"));
    }

    [Test]
    public void Parse_all_reports_a_malformed_challenge_and_keeps_its_valid_siblings()
    {
        var broken = "Payment id=\"\", realm=\"r\", method=\"tempo\", intent=\"charge\", request=\"e30\"";

        var result = PaymentChallenge.ParseAll([broken + ", " + Minimal, "Payment realm=\"x\""]);

        Assert.That(result.Challenges.Single().Id, Is.EqualTo("ch_1"));
        Assert.That(result.Errors.Select(e => e.Parameter), Is.EqualTo(new[] { "id", "id" }));
    }

    [Test]
    public void Parse_all_reads_every_challenge_within_the_size_limit_however_many_there_are()
    {
        var unknown = Minimal.Replace("tempo", "unknownmethod", StringComparison.Ordinal);
        var values = Enumerable.Range(0, 200).Select(i => unknown.Replace("ch_1", $"u{i}", StringComparison.Ordinal)).Append(Minimal).ToList();
        Assert.That(values.Sum(v => v.Length), Is.LessThan(ChallengeLimits.MaxChallengeHeaderLength));

        var result = PaymentChallenge.ParseAll(values);

        Assert.That(result.Challenges, Has.Count.EqualTo(201));
        Assert.That(result.Challenges[^1].Id, Is.EqualTo("ch_1"), "the last one is read too");
        Assert.That(result.Errors, Is.Empty);
    }

    [Test]
    public void Parse_all_reads_the_raw_response_header_values()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.PaymentRequired);
        response.Headers.TryAddWithoutValidation("WWW-Authenticate", Minimal + ", description=\"a, b\"");
        response.Headers.TryAddWithoutValidation("WWW-Authenticate", "Bearer realm=\"x\"");
        response.Headers.TryAddWithoutValidation("WWW-Authenticate", Minimal.Replace("ch_1", "ch_2", StringComparison.Ordinal));

        var result = PaymentChallenge.ParseAll(response.Headers);

        Assert.That(result.Challenges.Select(c => c.Id), Is.EqualTo(new[] { "ch_1", "ch_2" }));
        Assert.That(result.Challenges[0].Description, Is.EqualTo("a, b"));
    }

    [Test]
    public void Try_parse_answers_false_instead_of_throwing()
    {
        Assert.That(PaymentChallenge.TryParse("Payment id=\"\"", out _), Is.False);
        Assert.That(PaymentChallenge.TryParse(null, out _), Is.False);
        Assert.That(PaymentChallenge.TryParse(Minimal, out var challenge), Is.True);
        Assert.That(challenge!.Id, Is.EqualTo("ch_1"));
    }

    [Test]
    public void A_challenge_counts_as_expired_within_the_safety_margin()
    {
        var challenge = PaymentChallenge.Parse(Minimal + ", expires=\"2026-01-01T00:05:00Z\"");
        var now = new DateTimeOffset(2026, 1, 1, 0, 4, 0, TimeSpan.Zero);

        Assert.That(challenge.IsExpired(now), Is.False);
        Assert.That(challenge.IsExpired(now, TimeSpan.FromSeconds(61)), Is.True);
        Assert.That(challenge.IsExpired(now.AddMinutes(1)), Is.True);
        Assert.That(PaymentChallenge.Parse(Minimal).IsExpired(DateTimeOffset.MaxValue), Is.False);
    }

    [Test]
    public void Scanning_a_hostile_value_is_linear_and_ends_in_an_error()
    {
        // The cross-SDK "adversarial_unclosed_quoted_extension" shape, made larger.
        var value = Minimal + ", fuzz=\"" + new string('\\', 60_000);

        var task = Task.Run(() => Assert.Throws<MppProtocolException>(() => PaymentChallenge.Parse(value)));

        Assert.That(task.Wait(TimeSpan.FromSeconds(30)), Is.True, "parsing did not finish");
    }
}

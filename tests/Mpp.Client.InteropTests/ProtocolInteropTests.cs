using System.Net;
using System.Text;
using System.Text.Json;
using Mpp.Client.Protocol;

namespace Mpp.Client.InteropTests;

/// <summary>The protocol core against the real reference server: its challenges, problems and verdicts on our credentials.</summary>
[Category("Interop")]
public sealed class ProtocolInteropTests
{
    [Test]
    public async Task The_charge_challenge_parses_and_its_id_is_the_servers_hmac_of_the_echoed_values()
    {
        using var client = ReferenceServer.CreateClient();
        using var response = await client.GetAsync("/paid");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.PaymentRequired));
        var result = PaymentChallenge.ParseAll(response.Headers);
        Assert.That(result.Errors, Is.Empty);
        var challenge = result.Challenges.Single();
        Assert.Multiple(() =>
        {
            Assert.That(challenge.Method, Is.EqualTo("tempo"));
            Assert.That(challenge.Intent, Is.EqualTo("charge"));
            Assert.That(challenge.Request.GetProperty("amount").GetString(), Is.EqualTo("10000"));
            Assert.That(challenge.Request.GetProperty("methodDetails").GetProperty("chainId").GetInt32(), Is.EqualTo(ReferenceServer.ChainId));
            Assert.That(challenge.Request.GetProperty("methodDetails").TryGetProperty("feePayer", out var feePayer) && feePayer.GetBoolean(), Is.EqualTo(ReferenceServer.FeePayer));
            Assert.That(challenge.IsExpired(DateTimeOffset.UtcNow), Is.False);
            Assert.That(PaymentChallengeId.Verify(Encoding.UTF8.GetBytes(ReferenceServer.Secret), challenge), Is.True, "our HMAC binding differs from the server's");
            Assert.That(PaymentChallenge.Parse(challenge.ToHeaderValue()).ToJson(), Is.EqualTo(challenge.ToJson()));
        });

        var problem = PaymentProblem.Parse(await response.Content.ReadAsByteArrayAsync());
        Assert.That(problem.Type, Is.EqualTo(PaymentProblemTypes.PaymentRequired));
        Assert.That(problem.ChallengeId, Is.EqualTo(challenge.Id));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo(PaymentProblem.MediaType));
    }

    [TestCase("/session")]
    [TestCase("/stream")]
    public async Task The_session_challenges_parse_with_their_escrow_details(string path)
    {
        using var client = ReferenceServer.CreateClient();
        using var response = await client.GetAsync(path);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.PaymentRequired));
        var challenge = PaymentChallenge.ParseAll(response.Headers).Challenges.Single();
        Assert.That(challenge.Intent, Is.EqualTo("session"));
        var details = challenge.Request.GetProperty("methodDetails");
        Assert.That(details.GetProperty("escrowContract").GetString(), Is.EqualTo("0x4d50500000000000000000000000000000000000"));
        Assert.That(PaymentChallengeId.Verify(Encoding.UTF8.GetBytes(ReferenceServer.Secret), challenge), Is.True);
    }

    [Test]
    public async Task A_malformed_credential_is_answered_with_the_malformed_credential_problem_and_a_fresh_challenge()
    {
        using var client = ReferenceServer.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/paid");
        request.Headers.TryAddWithoutValidation(MppHeaderNames.Authorization, "Payment not-a-credential");

        using var response = await client.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.PaymentRequired));
        var problem = PaymentProblem.Parse(await response.Content.ReadAsByteArrayAsync());
        Assert.That(problem.Type, Is.EqualTo(PaymentProblemTypes.MalformedCredential));
        Assert.That(PaymentChallenge.ParseAll(response.Headers).Challenges, Has.Count.EqualTo(1));
    }

    // The server decodes our credential, matches the echoed challenge to its HMAC and only then judges the proof.
    [TestCase("""{"type":"transaction","signature":"0x1234"}""", PaymentProblemTypes.VerificationFailed)]
    [TestCase("""{"type":"no-such-type"}""", PaymentProblemTypes.InvalidPayload)]
    public async Task Our_credential_encoding_is_accepted_and_the_server_judges_the_proof(string payloadJson, string expectedProblem)
    {
        using var client = ReferenceServer.CreateClient();
        var challenge = await FreshChargeChallengeAsync(client);
        var payload = JsonDocument.Parse(payloadJson).RootElement;
        var credential = new PaymentCredential(challenge, payload, $"did:pkh:eip155:{ReferenceServer.ChainId}:0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

        var problem = await SendCredentialAsync(client, credential);

        Assert.That(problem.Type, Is.EqualTo(expectedProblem), problem.ToString());
        Assert.That(problem.ChallengeId, Is.Not.Null.And.Not.EqualTo(challenge.Id), "a rejection carries a fresh challenge");
    }

    [Test]
    public async Task A_credential_whose_echoed_challenge_was_altered_is_refused_as_an_invalid_challenge()
    {
        using var client = ReferenceServer.CreateClient();
        var genuine = await FreshChargeChallengeAsync(client);
        var cheaper = JsonDocument.Parse(genuine.Request.GetRawText().Replace("\"10000\"", "\"1\"", StringComparison.Ordinal)).RootElement;
        var tampered = PaymentChallenge.Create(genuine.Id, genuine.Realm, genuine.Method, genuine.Intent, cheaper, genuine.ExpiresText, genuine.Description);
        var credential = new PaymentCredential(tampered, JsonDocument.Parse("""{"type":"transaction","signature":"0x76c0"}""").RootElement);

        var problem = await SendCredentialAsync(client, credential);

        Assert.That(problem.Type, Is.EqualTo(PaymentProblemTypes.InvalidChallenge), problem.ToString());
    }

    private static async Task<PaymentChallenge> FreshChargeChallengeAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/paid");
        return PaymentChallenge.ParseAll(response.Headers).Challenges.Single();
    }

    private static async Task<PaymentProblem> SendCredentialAsync(HttpClient client, PaymentCredential credential)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/paid");
        request.Headers.TryAddWithoutValidation(credential.HeaderName, credential.ToHeaderValue());
        using var response = await client.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.PaymentRequired), "a bogus proof must not be accepted");
        return PaymentProblem.Parse(await response.Content.ReadAsByteArrayAsync());
    }
}

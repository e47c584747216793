using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mpp.Client.Protocol;

namespace Mpp.Client.Tests.Payments;

/// <summary>How a route of the mini server behaves.</summary>
internal enum RouteBehavior
{
    /// <summary>402 until a valid credential, then 200 with a receipt.</summary>
    Charge,

    /// <summary>Refuses every credential with a fresh challenge (invalid-challenge): 402 forever.</summary>
    Forever,

    /// <summary>Reads the credential, then drops the connection without answering.</summary>
    DropAfterCredential,

    /// <summary>Answers the unpaid request with a redirect to <see cref="MiniRoute.RedirectTo"/>.</summary>
    RedirectUnpaid,

    /// <summary>Answers the paid request with a 307 to <see cref="MiniRoute.RedirectTo"/>.</summary>
    RedirectPaid,

    /// <summary>Records the request and answers 200 (a redirect target).</summary>
    Sink,
}

/// <summary>One route: what it charges and how it behaves.</summary>
internal sealed record MiniRoute(string Method = "test", string Amount = "100", string Currency = "xts", string Recipient = "merchant-1")
{
    public RouteBehavior Behavior { get; init; } = RouteBehavior.Charge;

    public Uri? RedirectTo { get; init; }

    public bool UsePaymentAuthorization { get; init; }

    public TimeSpan ExpiresIn { get; init; } = TimeSpan.FromMinutes(5);

    public string? ExternalId { get; init; }

    public IReadOnlyList<string>? ExtraChallenges { get; init; }

    /// <summary>WWW-Authenticate values sent before the payable challenge.</summary>
    public IReadOnlyList<string>? LeadingChallenges { get; init; }
}

/// <summary>What the server saw of one request.</summary>
internal sealed record SeenRequest(string Method, string Path, string BodySha256, string? Authorization, string? PaymentAuthorization, string? IdempotencyKey);

/// <summary>
/// A minimal MPP server on Kestrel at 127.0.0.1 (until the test kit lands): real HMAC-bound challenges,
/// real credential checks (id binding, expiry, replay, the test method's proof, Stripe tokens through
/// <see cref="FakeStripe"/> with the external-id binding rules), receipts and problem details.
/// </summary>
internal sealed class MiniMppServer : IAsyncDisposable
{
    public static readonly byte[] Secret = Encoding.UTF8.GetBytes("mini-mpp-server-secret-0123456789abcdef");

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, byte> _usedChallenges = new();
    private int _settled;

    private MiniMppServer(WebApplication app, Uri baseUri, FakeStripe stripe)
    {
        _app = app;
        BaseUri = baseUri;
        Stripe = stripe;
    }

    public Uri BaseUri { get; }

    public FakeStripe Stripe { get; }

    public ConcurrentDictionary<string, MiniRoute> Routes { get; } = new();

    public ConcurrentQueue<SeenRequest> Seen { get; } = new();

    public int Settled => Volatile.Read(ref _settled);

    public int CredentialsReceived => Seen.Count(r => r.Authorization?.StartsWith("Payment ", StringComparison.Ordinal) == true || r.PaymentAuthorization is not null);

    public static async Task<MiniMppServer> StartAsync(FakeStripe? stripe = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        MiniMppServer? server = null;
        app.Run(context => server!.HandleAsync(context));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new MiniMppServer(app, new Uri(address), stripe ?? new FakeStripe());
        return server;
    }

    public Uri Url(string path) => new(BaseUri, path);

    public PaymentChallenge Challenge(MiniRoute route, string path)
    {
        using var request = JsonDocument.Parse(RequestJson(route));
        return PaymentChallenge.CreateBound(
            Secret, BaseUri.Authority, route.Method, "charge", request.RootElement,
            PaymentChallenge.FormatTimestamp(DateTimeOffset.UtcNow + route.ExpiresIn),
            "mini " + path,
            header: route.UsePaymentAuthorization ? MppHeaderNames.PaymentAuthorization : null);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static long _nonce;

    private static string RequestJson(MiniRoute route)
    {
        var nonce = Interlocked.Increment(ref _nonce);
        var external = route.ExternalId is null ? string.Empty : $",\"externalId\":\"{route.ExternalId}\"";
        return route.Method == "stripe"
            ? $$"""{"amount":"{{route.Amount}}","currency":"{{route.Currency}}","methodDetails":{"networkId":"profile_test","paymentMethodTypes":["card"]},"nonce":"{{nonce}}"{{external}}}"""
            : $$"""{"amount":"{{route.Amount}}","currency":"{{route.Currency}}","nonce":"{{nonce}}","recipient":"{{route.Recipient}}"{{external}}}""";
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        var authorization = request.Headers.Authorization.ToString();
        var paymentAuthorization = request.Headers[MppHeaderNames.PaymentAuthorization].ToString();
        Seen.Enqueue(new SeenRequest(
            request.Method,
            request.Path,
            Convert.ToHexString(SHA256.HashData(body.ToArray())),
            authorization.Length > 0 ? authorization : null,
            paymentAuthorization.Length > 0 ? paymentAuthorization : null,
            request.Headers[MppHeaderNames.IdempotencyKey].ToString() is { Length: > 0 } key ? key : null));

        var path = request.Path.Value ?? "/";
        if (!Routes.TryGetValue(path, out var route))
        {
            context.Response.StatusCode = 404;
            return;
        }

        var credentialValue = route.UsePaymentAuthorization ? paymentAuthorization : authorization;
        var hasCredential = credentialValue.StartsWith("Payment ", StringComparison.OrdinalIgnoreCase);
        switch (route.Behavior)
        {
            case RouteBehavior.Sink:
                context.Response.StatusCode = 200;
                return;
            case RouteBehavior.RedirectUnpaid when !hasCredential:
            case RouteBehavior.RedirectPaid when hasCredential:
                context.Response.StatusCode = route.Behavior == RouteBehavior.RedirectPaid ? 307 : 302;
                context.Response.Headers.Location = route.RedirectTo!.ToString();
                return;
            case RouteBehavior.DropAfterCredential when hasCredential:
                context.Abort();
                return;
        }

        if (!hasCredential)
        {
            await ChallengeAsync(context, route, path, PaymentProblemTypes.PaymentRequired, "Payment is required.");
            return;
        }

        if (!PaymentCredential.TryParse(credentialValue, out var credential))
        {
            await ChallengeAsync(context, route, path, PaymentProblemTypes.MalformedCredential, "The credential is malformed.");
            return;
        }

        var challenge = credential.Challenge;
        if (!PaymentChallengeId.Verify(Secret, challenge) || route.Behavior == RouteBehavior.Forever)
        {
            await ChallengeAsync(context, route, path, PaymentProblemTypes.InvalidChallenge, "Unknown challenge.");
            return;
        }

        if (challenge.IsExpired(DateTimeOffset.UtcNow))
        {
            await ChallengeAsync(context, route, path, PaymentProblemTypes.PaymentExpired, "The challenge expired.");
            return;
        }

        if (!_usedChallenges.TryAdd(challenge.Id, 0))
        {
            await ChallengeAsync(context, route, path, PaymentProblemTypes.InvalidChallenge, "The challenge was already used.");
            return;
        }

        var (ok, reference, externalId, problem) = Verify(route, credential);
        if (!ok)
        {
            await ChallengeAsync(context, route, path, problem!, "The payment did not verify.");
            return;
        }

        Interlocked.Increment(ref _settled);
        var extensions = new Dictionary<string, JsonElement> { ["challengeId"] = JsonSerializer.SerializeToElement(challenge.Id) };
        if (externalId is not null)
        {
            extensions["externalId"] = JsonSerializer.SerializeToElement(externalId);
        }

        var receipt = PaymentReceipt.Create(route.Method, reference!, DateTimeOffset.UtcNow, extensions);
        context.Response.Headers[MppHeaderNames.PaymentReceipt] = receipt.ToHeaderValue();
        context.Response.Headers.CacheControl = "private";
        context.Response.StatusCode = 200;
        await context.Response.WriteAsync("paid:" + Convert.ToHexString(SHA256.HashData(body.ToArray())));
    }

    private (bool Ok, string? Reference, string? ExternalId, string? Problem) Verify(MiniRoute route, PaymentCredential credential)
    {
        var request = credential.Challenge.Request;
        if (route.Method == "test")
        {
            var proof = credential.Payload.TryGetProperty("proof", out var p) ? p.GetString() : null;
            var expected = TestChargeMethod.Proof(credential.Challenge.Id, request.GetProperty("amount").GetString()!, request.GetProperty("recipient").GetString()!);
            return proof == expected ? (true, "test-" + credential.Challenge.Id[..8], null, null) : (false, null, null, PaymentProblemTypes.VerificationFailed);
        }

        var spt = credential.Payload.TryGetProperty("spt", out var s) ? s.GetString() : null;
        var intentId = spt is null ? null : Stripe.Charge(spt, System.Numerics.BigInteger.Parse(request.GetProperty("amount").GetString()!, System.Globalization.CultureInfo.InvariantCulture), request.GetProperty("currency").GetString()!, "profile_test");
        var intent = intentId is null ? new StripePaymentIntent("none", "failed", false) : new StripePaymentIntent(intentId, "succeeded", false);
        var verdict = StripeChargeVerifier.Verify(request, credential.Payload, intent);
        return verdict.Ok ? (true, intent.Id, verdict.ExternalId, null)
            : (false, null, null, verdict.ErrorType == "invalid_challenge" ? PaymentProblemTypes.InvalidChallenge : PaymentProblemTypes.VerificationFailed);
    }

    private async Task ChallengeAsync(HttpContext context, MiniRoute route, string path, string problemType, string detail)
    {
        var challenge = Challenge(route, path);
        context.Response.StatusCode = 402;
        context.Response.Headers.CacheControl = "no-store";
        foreach (var leading in route.LeadingChallenges ?? [])
        {
            context.Response.Headers.Append(MppHeaderNames.WwwAuthenticate, leading);
        }

        context.Response.Headers.Append(MppHeaderNames.WwwAuthenticate, challenge.ToHeaderValue());
        foreach (var extra in route.ExtraChallenges ?? [])
        {
            context.Response.Headers.Append(MppHeaderNames.WwwAuthenticate, extra);
        }

        context.Response.ContentType = PaymentProblem.MediaType;
        await context.Response.WriteAsync($$"""{"type":"{{problemType}}","title":"Payment problem","status":402,"detail":"{{detail}}","challengeId":"{{challenge.Id}}"}""");
    }
}

/// <summary>A Stripe PaymentIntent as the server sees it after confirming a token.</summary>
internal sealed record StripePaymentIntent(string Id, string Status, bool Replayed);

/// <summary>
/// The server side of Stripe's external-id binding (conformance vectors <c>stripe-external-id-binding</c>):
/// a server-bound <c>externalId</c> must be echoed by the payload and ends up in the receipt; a payload's
/// own <c>externalId</c> never does; a replayed PaymentIntent never settles.
/// </summary>
internal static class StripeChargeVerifier
{
    public static (bool Ok, string? ExternalId, string? ErrorType) Verify(JsonElement request, JsonElement payload, StripePaymentIntent intent)
    {
        var bound = request.TryGetProperty("externalId", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString() : null;
        var echoed = payload.TryGetProperty("externalId", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
        if (bound is not null && echoed != bound)
        {
            return (false, null, "invalid_challenge");
        }

        if (intent.Status != "succeeded" || (intent.Replayed && bound is not null))
        {
            return (false, null, "verification_failed");
        }

        return (true, bound, null);
    }
}

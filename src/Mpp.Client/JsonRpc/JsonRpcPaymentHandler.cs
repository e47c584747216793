using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Mpp.Client.Protocol;

namespace Mpp.Client;

/// <summary>
/// Pays JSON-RPC over HTTP (protocol.md §7, generic binding): a POSTed request object answered with error <c>-32042</c>
/// is paid through <see cref="JsonRpcPaymentNegotiator"/> (the same pipeline as HTTP 402) and sent again with a new
/// <c>id</c> and the credential in the message's root <c>_meta</c>; the receipt is read from the answer's root
/// <c>_meta</c> (or <c>result._meta</c>). The caller sees its own <c>id</c> in the final answer, and
/// <see cref="HttpMessageMppExtensions.GetPaymentDetails"/> on it. Batches and notifications pass through unpaid.
/// </summary>
internal sealed class JsonRpcPaymentHandler(string clientName, IOptionsMonitor<MppPaymentOptions> options, JsonRpcPaymentNegotiator negotiator) : DelegatingHandler
{
    private const int MaxAnswerBytes = 4 * 1024 * 1024;

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
        => throw new NotSupportedException("MPP payments are asynchronous: use HttpClient's async methods.");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var settings = options.Get(clientName);
        if (request.IsPaymentDisabled() || request.Method != HttpMethod.Post || request.Content is null || request.RequestUri is not { IsAbsoluteUri: true } endpoint ||
            !await RequestBody.MakeReplayableAsync(request.Content, settings.MaxBufferedRequestBytes, cancellationToken).ConfigureAwait(false))
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var body = await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (TryParseRequest(body) is not { } message || message["id"] is not { } originalId || message["method"]?.GetValueKind() != JsonValueKind.String)
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var (first, firstBytes) = await ReadAnswerAsync(response, credentialSent: false, cancellationToken).ConfigureAwait(false);
        if (first is null || first.Kind == PaidAnswerKind.Accepted)
        {
            return Rebuild(response, firstBytes);
        }

        // As for HTTP (PaymentCallScope): a retry or hedging handler outside this one never gets a call paid twice.
        var scope = PaymentCallScope.For(request);
        var attempt = new object();
        if (!request.IsDryRun() && !scope.TryClaim(attempt) && await scope.WaitAndTryClaimAsync(attempt, cancellationToken).ConfigureAwait(false) != ClaimResult.Claimed)
        {
            return Retried(request, Rebuild(response, firstBytes), scope.Explain(), settings);
        }

        var method = message["method"]!.GetValue<string>();
        var operation = new PaymentOperation(PaymentOperation.JsonRpc, method, arguments: message["params"] is { } p ? Element(p) : null);
        PaidOutcome<HttpResponseMessage> outcome;
        try
        {
            outcome = await negotiator.PayAsync(clientName, endpoint, operation, first, (credential, data, ct) =>
            {
                scope.Sending(attempt, credential.Challenge.Id, Guid.Empty);
                return SendPaidAsync(request, message, credential, data, ct);
            }, cancellationToken, dryRun: request.IsDryRun()).ConfigureAwait(false);
        }
        catch (PaymentDeniedException) when (!settings.ThrowWhenUnpayable)
        {
            return Rebuild(response, firstBytes); // as for HTTP: an unpayable answer comes back untouched
        }
        finally
        {
            scope.Release(attempt);
        }

        if (outcome.Value is null)
        {
            // A dry run: the original answer, with what would have been paid.
            var untouched = Rebuild(response, firstBytes);
            untouched.SetPaymentDetails(request, outcome.Details);
            return untouched;
        }

        response.Dispose();
        var paid = outcome.Value;
        var paidBytes = await paid.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var final = Rebuild(paid, WithId(paidBytes, originalId));
        final.SetPaymentDetails(request, outcome.Details);
        return final;
    }

    /// <summary>The unpaid answer of an attempt that may not pay (another attempt of the call sent a credential), explained.</summary>
    private HttpResponseMessage Retried(HttpRequestMessage request, HttpResponseMessage answer, string reason, MppPaymentOptions settings)
    {
        const string rule = "payment.retried";
        var refusal = new PaymentRefusal(null, rule, reason);
        negotiator.Services.Metrics.Denial(rule);
        Log.ChallengeRefused(negotiator.Services.Logger, null, rule, reason);
        if (settings.ThrowWhenUnpayable)
        {
            answer.Dispose();
            throw new PaymentDeniedException(rule, $"The JSON-RPC call to {Log.Endpoint(request.RequestUri)} cannot be paid: {reason}", [refusal]);
        }

        answer.SetPaymentDetails(request, new PaymentDetails(null, null, null, null, null, 0, [refusal], null, false));
        return answer;
    }

    private async Task<PaidAnswer<HttpResponseMessage>> SendPaidAsync(HttpRequestMessage original, JsonObject message, PaymentCredential credential, JsonRpcPaymentData data, CancellationToken cancellationToken)
    {
        var paidMessage = (JsonObject)message.DeepClone();
        paidMessage["id"] = "mpp-" + Guid.NewGuid().ToString("N"); // a retry is a new request
        var meta = paidMessage["_meta"] as JsonObject ?? new JsonObject();
        meta[JsonRpcPaymentCodes.CredentialKey] = JsonRpcPaymentData.CredentialJson(credential, data.TryGetRaw(credential.Challenge.Id, out var raw) ? raw : null);
        paidMessage["_meta"] = meta;
        using var retry = new HttpRequestMessage(HttpMethod.Post, original.RequestUri) { Version = original.Version, VersionPolicy = original.VersionPolicy };
        retry.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(paidMessage.ToJsonString()));
        foreach (var header in original.Content!.Headers)
        {
            if (!header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                retry.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        foreach (var header in original.Headers)
        {
            retry.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        var answer = await base.SendAsync(retry, cancellationToken).ConfigureAwait(false);
        if ((int)answer.StatusCode is >= 300 and < 400)
        {
            // Never followed (the credential is in the body, and the body would go wherever Location says): whether the
            // server took the payment is unknown, so it stays counted.
            answer.Dispose();
            return new PaidAnswer<HttpResponseMessage>(PaidAnswerKind.Failed, null, null, JsonRpcPaymentData.Empty, (int)answer.StatusCode);
        }

        var (read, bytes) = await ReadAnswerAsync(answer, credentialSent: true, cancellationToken).ConfigureAwait(false);
        var rebuilt = Rebuild(answer, bytes);
        if (read is null)
        {
            // Not a JSON-RPC answer: accepted at the HTTP level only if 2xx; otherwise the outcome is unknown.
            return answer.IsSuccessStatusCode
                ? PaidAnswer<HttpResponseMessage>.Accepted(rebuilt, null)
                : new PaidAnswer<HttpResponseMessage>(PaidAnswerKind.Failed, rebuilt, null, JsonRpcPaymentData.Empty, (int)answer.StatusCode);
        }

        if (read.Kind != PaidAnswerKind.Accepted)
        {
            rebuilt.Dispose();
            return read;
        }

        return read with { Value = rebuilt };
    }

    private static JsonElement Element(JsonNode node)
    {
        using var document = JsonDocument.Parse(node.ToJsonString());
        return document.RootElement.Clone();
    }

    /// <summary>Reads a JSON-RPC answer (bounded) in payment terms; <see langword="null"/> when it is not one.</summary>
    private static async Task<(PaidAnswer<HttpResponseMessage>? Answer, byte[]? Bytes)> ReadAnswerAsync(HttpResponseMessage response, bool credentialSent, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentType?.MediaType is not ("application/json" or null) || response.Content.Headers.ContentLength > MaxAnswerBytes)
        {
            return (null, null);
        }

        byte[] bytes;
        try
        {
#if NET9_0_OR_GREATER
            await response.Content.LoadIntoBufferAsync(MaxAnswerBytes, cancellationToken).ConfigureAwait(false);
#else
            await response.Content.LoadIntoBufferAsync(MaxAnswerBytes).ConfigureAwait(false);
#endif
            bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            return (null, null);
        }

        var answer = ReadAnswer(bytes, credentialSent);
        return (answer, bytes);
    }

    /// <summary>
    /// Reads a JSON-RPC answer body in payment terms: a payment error (with its challenges, problem and failure) or an
    /// accepted answer with the receipt from the root or <c>result._meta</c>. <see langword="null"/> when the body is not a
    /// JSON object. Never throws for what a server sends (the fuzz targets hold it to that).
    /// </summary>
    internal static PaidAnswer<HttpResponseMessage>? ReadAnswer(byte[] bytes, bool credentialSent)
    {
        if (!JsonObjectValidator.IsValidObject(bytes))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out var code))
            {
                var data = JsonRpcPaymentData.Read(error.TryGetProperty("data", out var d) ? d : null);
                var kind = code switch
                {
                    // After a credential, a payment error refuses it even without challenges: never an acceptance.
                    JsonRpcPaymentCodes.PaymentRequired when credentialSent || data.Challenges.Count > 0 || data.Errors.Count > 0 => PaidAnswerKind.PaymentRequired,
                    JsonRpcPaymentCodes.VerificationFailed => PaidAnswerKind.VerificationFailed,
                    JsonRpcPaymentCodes.InvalidParams or JsonRpcPaymentCodes.InternalError when credentialSent => PaidAnswerKind.Failed,
                    _ => PaidAnswerKind.Accepted, // some other error: the application's answer, not a payment matter
                };
                return new PaidAnswer<HttpResponseMessage>(kind, null, null, data, code);
            }

            var receipt = JsonRpcPaymentData.ReadReceipt(root.TryGetProperty("_meta", out var meta) ? meta : null)
                ?? (root.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.Object && result.TryGetProperty("_meta", out var resultMeta) ? JsonRpcPaymentData.ReadReceipt(resultMeta) : null);
            return PaidAnswer<HttpResponseMessage>.Accepted(null!, receipt);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static JsonObject? TryParseRequest(byte[] body)
    {
        try
        {
            return JsonNode.Parse(body) as JsonObject;
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            return null; // not a JSON-RPC request we can resend (a repeated member is an ArgumentException): passed through unpaid
        }
    }

    /// <summary>
    /// The answer with the caller's own <c>id</c> put back (every <c>id</c> member of the root, should a server repeat
    /// it); anything that is not a JSON object with an <c>id</c> comes back unchanged.
    /// </summary>
    internal static byte[] WithId(byte[] bytes, JsonNode originalId)
    {
        if (!JsonObjectValidator.IsValidObject(bytes))
        {
            return bytes;
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("id", out _))
            {
                return bytes;
            }

            using var output = new MemoryStream(bytes.Length + 16);
            using (var writer = new Utf8JsonWriter(output))
            {
                writer.WriteStartObject();
                foreach (var member in root.EnumerateObject())
                {
                    if (member.NameEquals("id"u8))
                    {
                        writer.WritePropertyName("id"u8);
                        originalId.WriteTo(writer);
                    }
                    else
                    {
                        member.WriteTo(writer);
                    }
                }

                writer.WriteEndObject();
            }

            return output.ToArray();
        }
        catch (JsonException)
        {
            return bytes;
        }
    }

    /// <summary>The response with its (already read) body as buffered content, headers kept.</summary>
    private static HttpResponseMessage Rebuild(HttpResponseMessage response, byte[]? bytes)
    {
        if (bytes is null)
        {
            return response;
        }

        var content = new ByteArrayContent(bytes);
        foreach (var header in response.Content.Headers)
        {
            if (!header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        response.Content = content;
        return response;
    }
}

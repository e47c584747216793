using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Mpp.Client.Protocol;
using Mpp.Client.Testing.Chain;

namespace Mpp.Client.Testing.Http;

/// <summary>The test server's HTTP behaviour, shared by Kestrel and the in-memory handler.</summary>
internal sealed class MppRequestHandler(MppTestServerOptions options, MppTestPayments payments, TestTempoLedger ledger, TempoRpcEmulator rpc)
{
    private long _requests;
    private long _credentials;

    public long Requests => Interlocked.Read(ref _requests);

    public long CredentialsReceived => Interlocked.Read(ref _credentials);

    public async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        var body = buffer.ToArray();
        if (path == options.RpcPath && HttpMethods.IsPost(request.Method))
        {
            var answer = rpc.Handle(body);
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(answer, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        if (!options.Routes.TryGetValue(path, out var route))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var hostile = options.Hostile.Concat(route.Hostile).ToList();
        foreach (var slow in hostile.Where(h => h.Kind == HostileKind.SlowResponse))
        {
            await Task.Delay(slow.Delay, options.TimeProvider, context.RequestAborted).ConfigureAwait(false);
        }

        if (hostile.FirstOrDefault(h => h.Kind == HostileKind.WrongAmountInChallenge) is { } wrong && route.Kind != TestRouteKind.Free)
        {
            route = route with { Amount = route.Amount * wrong.Factor };
        }

        if (route.Kind == TestRouteKind.Free)
        {
            await WriteTextAsync(context, 200, route.Content).ConfigureAwait(false);
            return;
        }

        var credentialText = PaymentValue(request.Headers.Authorization) ?? PaymentValue(request.Headers[MppHeaderNames.PaymentAuthorization]);
        if (credentialText is null)
        {
            await ChallengeAsync(context, route, hostile, PaymentProblemTypes.PaymentRequired, "Payment is required.", null).ConfigureAwait(false);
            return;
        }

        Interlocked.Increment(ref _credentials);
        if (!PaymentCredential.TryParse(credentialText, out var credential))
        {
            await ChallengeAsync(context, route, hostile, PaymentProblemTypes.MalformedCredential, "The credential is not base64url JSON of a credential.", null).ConfigureAwait(false);
            return;
        }

        if (hostile.Any(h => h.Kind == HostileKind.Payment402Forever))
        {
            await ChallengeAsync(context, route, hostile, PaymentProblemTypes.InvalidChallenge, "Unknown challenge.", credential.Challenge.Id).ConfigureAwait(false);
            return;
        }

        // A body-less POST (or HEAD) without a query is a session management request: not billed, answered 204.
        var management = route.Intent == "session"
            && (HttpMethods.IsHead(request.Method) || (HttpMethods.IsPost(request.Method) && body.Length == 0 && !request.QueryString.HasValue));
        var verification = payments.Verify(credential, route, scope: null, billUnit: !management);
        if (!verification.Succeeded)
        {
            var problem = verification.Problem!;
            await ChallengeAsync(context, route, hostile, problem.Type, problem.Detail ?? "Refused.", credential.Challenge.Id, problem.Status ?? 402).ConfigureAwait(false);
            return;
        }

        if (hostile.Any(h => h.Kind == HostileKind.DropAfterCredential))
        {
            context.Abort();
            return;
        }

        var receipt = verification.Receipt!;
        context.Response.Headers.CacheControl = "private";
        context.Response.Headers[MppHeaderNames.PaymentReceipt] = hostile.Any(h => h.Kind == HostileKind.MalformedHeaders) ? "%%not-a-receipt%%"
            : hostile.Any(h => h.Kind == HostileKind.ReceiptMismatch) ? Mismatched(receipt).ToHeaderValue()
            : receipt.ToHeaderValue();
        if (management || verification.Action is "topUp" or "close")
        {
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        if (route.Kind == TestRouteKind.Stream)
        {
            await StreamAsync(context, route, verification.ChannelId!, credential.Challenge).ConfigureAwait(false);
            return;
        }

        await WriteTextAsync(context, 200, route.Content).ConfigureAwait(false);
    }

    private async Task StreamAsync(HttpContext context, TestRoute route, string channelId, PaymentChallenge challenge)
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        var aborted = context.RequestAborted;
        for (var i = 0; i < route.Tokens.Count; i++)
        {
            if (i > 0 && !await BillNextTokenAsync(context, route, channelId, aborted).ConfigureAwait(false))
            {
                return; // no voucher came: the stream ends unpaid
            }

            await WriteEventAsync(response, "message", route.Tokens[i], aborted).ConfigureAwait(false);
        }

        var final = ledger.WithChannel(channelId, c => new JsonObject
        {
            ["method"] = "tempo",
            ["intent"] = "session",
            ["status"] = "success",
            ["timestamp"] = PaymentChallenge.FormatTimestamp(options.TimeProvider.GetUtcNow()),
            ["reference"] = channelId,
            ["challengeId"] = challenge.Id,
            ["channelId"] = channelId,
            ["acceptedCumulative"] = TestTempoLedger.Text(c!.Accepted),
            ["spent"] = TestTempoLedger.Text(c.Spent),
            ["units"] = c.Units,
        });
        await WriteEventAsync(response, "payment-receipt", final.ToJsonString(), aborted).ConfigureAwait(false);
    }

    /// <summary>Bills one more token: asks for a voucher (<c>payment-need-voucher</c>) until the channel covers it.</summary>
    private async Task<bool> BillNextTokenAsync(HttpContext context, TestRoute route, string channelId, CancellationToken aborted)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        timeout.CancelAfter(options.VoucherWaitTimeout);
        var asked = false;
        while (true)
        {
            var (billed, need, wait) = ledger.WithChannel(channelId, c =>
            {
                if (c is null || c.Closed)
                {
                    return (false, (JsonObject?)null, (Task?)null);
                }

                if (c.Accepted - c.Spent >= route.Amount)
                {
                    c.Spent += route.Amount;
                    c.Units++;
                    return (true, null, null);
                }

                return (false, new JsonObject
                {
                    ["channelId"] = channelId,
                    ["requiredCumulative"] = TestTempoLedger.Text(c.Spent + route.Amount),
                    ["acceptedCumulative"] = TestTempoLedger.Text(c.Accepted),
                    ["deposit"] = TestTempoLedger.Text(c.Deposit),
                }, c.Changed.Task);
            });
            if (billed)
            {
                return true;
            }

            if (wait is null)
            {
                return false;
            }

            if (!asked)
            {
                await WriteEventAsync(context.Response, "payment-need-voucher", need!.ToJsonString(), aborted).ConfigureAwait(false);
                asked = true;
            }

            try
            {
                await wait.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
    }

    private static async Task WriteEventAsync(HttpResponse response, string name, string data, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        if (name != "message")
        {
            text.Append("event: ").Append(name).Append('\n');
        }

        foreach (var line in data.Split('\n'))
        {
            text.Append("data: ").Append(line).Append('\n');
        }

        text.Append('\n');
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text.ToString()), cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ChallengeAsync(HttpContext context, TestRoute route, List<HostileBehavior> hostile, string problemType, string detail, string? challengeId, int status = 402)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.Headers.CacheControl = "no-store";
        var challenge = payments.IssueChallenge(route);
        response.Headers.Append(MppHeaderNames.WwwAuthenticate, hostile.Any(h => h.Kind == HostileKind.MalformedHeaders)
            ? "Payment id=\"" + challenge.Id + "\", realm=\"unterminated"
            : challenge.ToHeaderValue());
        var problem = new JsonObject
        {
            ["type"] = problemType,
            ["title"] = problemType[(problemType.LastIndexOf('/') + 1)..].Replace('-', ' '),
            ["status"] = status,
            ["detail"] = detail,
            ["challengeId"] = challengeId ?? challenge.Id,
        };
        response.ContentType = PaymentProblem.MediaType;
        await response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(problem, TestingJsonContext.Default.JsonObject), context.RequestAborted).ConfigureAwait(false);
    }

    private static PaymentReceipt Mismatched(PaymentReceipt receipt)
    {
        var extensions = new Dictionary<string, JsonElement>
        {
            ["challengeId"] = JsonSerializer.SerializeToElement("not-the-challenge-you-paid", TestingJsonContext.Default.String),
            ["acceptedCumulative"] = JsonSerializer.SerializeToElement("999999999", TestingJsonContext.Default.String),
            ["spent"] = JsonSerializer.SerializeToElement("999999999", TestingJsonContext.Default.String),
        };
        return PaymentReceipt.Create(receipt.Method, "0x" + new string('e', 64), receipt.Timestamp, extensions);
    }

    private static async Task WriteTextAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), context.RequestAborted).ConfigureAwait(false);
    }

    private static string? PaymentValue(Microsoft.Extensions.Primitives.StringValues values)
    {
        foreach (var value in values)
        {
            foreach (var part in (value ?? string.Empty).Split(','))
            {
                var trimmed = part.Trim();
                if (trimmed.StartsWith("Payment ", StringComparison.OrdinalIgnoreCase))
                {
                    return trimmed;
                }
            }
        }

        return null;
    }

    internal static string Describe(long value) => value.ToString(CultureInfo.InvariantCulture);
}

using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mpp.Client.ReliabilityTests.Chaos;

/// <summary>What the proxy does with one request.</summary>
public enum FaultKind
{
    /// <summary>Forwards the request and relays the answer.</summary>
    Forward,

    /// <summary>Answers <see cref="Fault.Status"/> itself; the upstream never sees the request.</summary>
    AnswerInstead,

    /// <summary>Forwards (the upstream acts on it, takes a payment), then answers <see cref="Fault.Status"/> instead of the real answer.</summary>
    ForwardThenAnswer,

    /// <summary>Reads the whole request (credential included), then closes the connection without forwarding or answering.</summary>
    DropAfterReading,

    /// <summary>Forwards, then closes the connection without answering.</summary>
    ForwardThenDrop,

    /// <summary>Forwards, relays the status, headers and body with a Content-Length promising more, then resets the connection.</summary>
    ForwardThenResetMidBody,

    /// <summary>Holds the request for <see cref="Fault.Hold"/> (longer than the client waits), forwarding nothing.</summary>
    Hold,

    /// <summary>Forwards, then relays the answer with its body rewritten by <see cref="Fault.Rewrite"/>.</summary>
    ForwardThenRewrite,

    /// <summary>Waits <see cref="Fault.Hold"/>, then forwards and relays the answer (a slow server).</summary>
    DelayThenForward,

    /// <summary>Forwards (the upstream acts on it), then holds the answer for <see cref="Fault.Hold"/> and closes the connection.</summary>
    ForwardThenHold,
}

/// <summary>A fault to inject.</summary>
public sealed record Fault(FaultKind Kind, int Status = 0, TimeSpan Hold = default, Func<string, string>? Rewrite = null)
{
    public static Fault Forward { get; } = new(FaultKind.Forward);
}

/// <summary>A request as the proxy saw it.</summary>
public sealed record ProxiedRequest(int Index, string Method, string PathAndQuery, string? Authorization, string Body)
{
    public bool HasCredential => Authorization?.StartsWith("Payment ", StringComparison.OrdinalIgnoreCase) == true;
}

/// <summary>
/// A hostile middlebox on a real loopback socket (Kestrel at 127.0.0.1): forwards to an upstream server (the test kit, or
/// its chain RPC) and injects, per request, the fault a decision function picks: connections dropped after the credential
/// was read, resets mid-body, answers held past the client's timeout, 5xx instead of the real answer, rewritten answers.
/// </summary>
internal sealed class FaultProxy : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase) { "Transfer-Encoding", "Connection", "Keep-Alive", "Content-Length" };
    private readonly WebApplication _app;
    private readonly HttpClient _upstream;
    private readonly Uri _target;
    private readonly Func<ProxiedRequest, Fault> _decide;
    private int _index;

    private FaultProxy(WebApplication app, Uri target, Func<ProxiedRequest, Fault> decide)
    {
        _app = app;
        _target = target;
        _decide = decide;
        _upstream = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromMinutes(2) };
    }

    public Uri BaseAddress { get; private set; } = null!;

    public ConcurrentQueue<(ProxiedRequest Request, Fault Fault)> Seen { get; } = new();

    public int CredentialsSeen => Seen.Count(s => s.Request.HasCredential);

    /// <summary>Starts a proxy in front of <paramref name="target"/> (requests keep their path and query).</summary>
    public static async Task<FaultProxy> StartAsync(Uri target, Func<ProxiedRequest, Fault> decide)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var proxy = new FaultProxy(app, target, decide);
        app.Run(proxy.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        proxy.BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, context.RequestAborted);
        var bodyText = System.Text.Encoding.UTF8.GetString(body.ToArray());
        var authorization = request.Headers.Authorization.ToString();
        var seen = new ProxiedRequest(Interlocked.Increment(ref _index), request.Method, request.Path + request.QueryString, authorization.Length > 0 ? authorization : null, bodyText);
        var fault = _decide(seen);
        Seen.Enqueue((seen, fault));

        switch (fault.Kind)
        {
            case FaultKind.AnswerInstead:
                context.Response.StatusCode = fault.Status;
                return;
            case FaultKind.DropAfterReading:
                context.Abort();
                return;
            case FaultKind.Hold:
                await HoldAsync(fault.Hold, context.RequestAborted);
                context.Abort();
                return;
            case FaultKind.DelayThenForward:
                await Task.Delay(fault.Hold, context.RequestAborted);
                break;
        }

        using var forwarded = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(_target, seen.PathAndQuery.TrimStart('/')));
        if (body.Length > 0 || request.ContentLength is not null)
        {
            forwarded.Content = new ByteArrayContent(body.ToArray());
        }

        foreach (var header in request.Headers)
        {
            if (header.Key.Equals("Host", StringComparison.OrdinalIgnoreCase) || HopByHop.Contains(header.Key))
            {
                continue;
            }

            if (!forwarded.Headers.TryAddWithoutValidation(header.Key, (IEnumerable<string>)header.Value))
            {
                forwarded.Content?.Headers.TryAddWithoutValidation(header.Key, (IEnumerable<string>)header.Value);
            }
        }

        HttpResponseMessage answer;
        try
        {
            answer = await _upstream.SendAsync(forwarded, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        }
        catch (HttpRequestException)
        {
            context.Abort(); // the upstream dropped the connection: so does the proxy
            return;
        }

        using var disposeAnswer = answer;
        if (fault.Kind is FaultKind.Forward or FaultKind.DelayThenForward)
        {
            // Relayed as it arrives, so a server-sent event stream flows through (its server waits for voucher POSTs).
            context.Response.StatusCode = (int)answer.StatusCode;
            CopyHeaders(answer, context.Response, withLength: true);
            await using var upstreamBody = await answer.Content.ReadAsStreamAsync(context.RequestAborted);
            var buffer = new byte[8192];
            int read;
            while ((read = await upstreamBody.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }

            return;
        }

        var answerBody = await answer.Content.ReadAsByteArrayAsync(context.RequestAborted);
        switch (fault.Kind)
        {
            case FaultKind.ForwardThenAnswer:
                context.Response.StatusCode = fault.Status;
                return;
            case FaultKind.ForwardThenDrop:
                context.Abort();
                return;
            case FaultKind.ForwardThenHold:
                await HoldAsync(fault.Hold, context.RequestAborted);
                context.Abort();
                return;
            case FaultKind.ForwardThenRewrite:
                answerBody = System.Text.Encoding.UTF8.GetBytes(fault.Rewrite!(System.Text.Encoding.UTF8.GetString(answerBody)));
                break;
        }

        context.Response.StatusCode = (int)answer.StatusCode;
        CopyHeaders(answer, context.Response, withLength: false);

        if (fault.Kind == FaultKind.ForwardThenResetMidBody)
        {
            // Promise more body than there is, send what there is, give the client time to read the headers, then reset:
            // the client fails while reading the content, after the payment handler has seen the (paid) answer.
            context.Response.ContentLength = answerBody.Length + 1024;
            await context.Response.Body.WriteAsync(answerBody, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await HoldAsync(TimeSpan.FromMilliseconds(300), context.RequestAborted);
            context.Abort();
            return;
        }

        context.Response.ContentLength = answerBody.Length;
        await context.Response.Body.WriteAsync(answerBody, context.RequestAborted);
    }

    private static void CopyHeaders(HttpResponseMessage answer, HttpResponse response, bool withLength)
    {
        foreach (var header in answer.Headers.Concat(answer.Content.Headers))
        {
            if (!HopByHop.Contains(header.Key))
            {
                response.Headers.Append(header.Key, header.Value.ToArray());
            }
        }

        if (withLength && answer.Content.Headers.ContentLength is { } length)
        {
            response.ContentLength = length;
        }
    }

    private static async Task HoldAsync(TimeSpan hold, CancellationToken aborted)
    {
        try
        {
            await Task.Delay(hold, aborted);
        }
        catch (OperationCanceledException)
        {
            // the client gave up first
        }
    }
}

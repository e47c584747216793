using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Mpp.Client.Protocol;
using Mpp.Client.Testing;

namespace Mpp.Client.Mcp.Tests;

/// <summary>
/// A paid MCP server built on the MCP C# SDK's server side (<see cref="McpServer"/> over
/// <see cref="StreamableHttpServerTransport"/>, stateless Streamable HTTP on Kestrel at 127.0.0.1) whose priced tools are
/// paid through the test kit's transport-neutral verifier (<see cref="MppTestServer.Payments"/>), as protocol.md §7 says:
/// a call without a credential is answered with JSON-RPC error <c>-32042</c> whose <c>data</c> is
/// <c>{ httpStatus: 402, challenges: [challenge as JSON], problem }</c>; a credential in
/// <c>params._meta["org.paymentauth/credential"]</c> is verified and the tool's result carries the receipt in
/// <c>result._meta["org.paymentauth/receipt"]</c>, or the call is answered with <c>-32043</c> (or <c>-32602</c> for a
/// malformed credential) and a fresh challenge. Challenges are bound to <c>tools/call:&lt;tool&gt;</c>. A session
/// <c>close</c> or <c>topUp</c> credential is answered with empty content and its receipt; the tool does not run.
/// The payment errors are raised as <see cref="McpProtocolException"/>s from a call-tool filter: the SDK writes the
/// exception's code and its <see cref="Exception.Data"/> (JSON values) as the JSON-RPC error's <c>code</c> and <c>data</c>.
/// </summary>
internal sealed class KitMcpServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly MppTestServer _kit;
    private readonly IReadOnlyDictionary<string, TestRoute> _prices;
    private readonly McpServerOptions _options;
    private readonly List<JsonObject> _credentials = [];
    private readonly List<string> _methods = [];
    private int _toolRuns;

    private KitMcpServer(WebApplication app, MppTestServer kit, IEnumerable<McpServerTool> tools, IReadOnlyDictionary<string, TestRoute> prices, string? protocolVersion)
    {
        _app = app;
        _kit = kit;
        _prices = prices;
        _options = new McpServerOptions
        {
            ServerInfo = new Implementation { Name = "kit-mcp", Version = "1.0.0" },
            Capabilities = new ServerCapabilities
            {
                Experimental = new Dictionary<string, object>
                {
                    ["payment"] = JsonSerializer.SerializeToElement(new JsonObject { ["methods"] = new JsonObject { ["tempo"] = new JsonObject { ["intents"] = new JsonArray("charge", "session") } } }, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(JsonObject))),
                },
            },
            ToolCollection = [.. tools],
            ProtocolVersion = protocolVersion,
        };
        _options.Filters.Request.CallToolFilters.Add(next => (request, cancellationToken) => PayAsync(request, next, cancellationToken));
    }

    /// <summary>Gets the MCP endpoint.</summary>
    public Uri Endpoint { get; private set; } = null!;

    /// <summary>Gets the JSON-RPC methods received, in order (<c>server/discover</c>, <c>initialize</c>, <c>tools/call</c>, …).</summary>
    public IReadOnlyList<string> Methods
    {
        get
        {
            lock (_methods)
            {
                return [.. _methods];
            }
        }
    }

    /// <summary>Gets how many times a priced tool's body ran.</summary>
    public int ToolRuns => Volatile.Read(ref _toolRuns);

    /// <summary>Gets copies of the credentials received, in order.</summary>
    public IReadOnlyList<JsonObject> Credentials
    {
        get
        {
            lock (_credentials)
            {
                return [.. _credentials.Select(c => (JsonObject)c.DeepClone())];
            }
        }
    }

    /// <summary>Starts the server.</summary>
    /// <param name="kit">The test kit whose verifier and ledger take the payments.</param>
    /// <param name="tools">The tools (free and priced).</param>
    /// <param name="prices">The price of each priced tool, by tool name.</param>
    /// <param name="protocolVersion">
    /// The one MCP revision to serve, or <see langword="null"/> for all the SDK knows (the client then starts with
    /// <c>server/discover</c> and per-request metadata, 2026-07-28); <c>2025-11-25</c> makes the client fall back to the
    /// <c>initialize</c> handshake, as against mppx's server.
    /// </param>
    /// <returns>The running server.</returns>
    public static async Task<KitMcpServer> StartAsync(MppTestServer kit, IEnumerable<McpServerTool> tools, IReadOnlyDictionary<string, TestRoute> prices, string? protocolVersion = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new KitMcpServer(app, kit, tools, prices, protocolVersion);
        app.MapPost("/mcp", server.HandlePostAsync);
        app.MapMethods("/mcp", ["GET", "DELETE"], (HttpContext context) => context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Endpoint = new Uri(address.TrimEnd('/') + "/mcp");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Stateless Streamable HTTP: every POST is served by a fresh MCP server, answered as an SSE stream.</summary>
    private async Task HandlePostAsync(HttpContext context)
    {
        var message = await JsonSerializer.DeserializeAsync(context.Request.Body, McpJsonUtilities.DefaultOptions.GetTypeInfo<JsonRpcMessage>(), context.RequestAborted);
        if (message is null)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        lock (_methods)
        {
            _methods.Add((message as JsonRpcRequest)?.Method ?? (message as JsonRpcNotification)?.Method ?? "(response)");
        }

        await using var transport = new StreamableHttpServerTransport { Stateless = true };
        await using var server = McpServer.Create(transport, _options);
        var running = server.RunAsync(context.RequestAborted);
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache,no-store";
        if (!await transport.HandlePostRequestAsync(message, context.Response.Body, context.RequestAborted))
        {
            context.Response.ContentType = null;
            context.Response.StatusCode = StatusCodes.Status202Accepted;
        }

        await transport.DisposeAsync();
        await running;
    }

    private async ValueTask<CallToolResult> PayAsync(RequestContext<CallToolRequestParams> request, McpRequestHandler<CallToolRequestParams, CallToolResult> next, CancellationToken cancellationToken)
    {
        var name = request.Params?.Name ?? string.Empty;
        if (!_prices.TryGetValue(name, out var route))
        {
            return await next(request, cancellationToken);
        }

        var scope = "tools/call:" + name;
        if (request.Params!.Meta?[JsonRpcPaymentCodes.CredentialKey] is not JsonObject credentialJson)
        {
            throw PaymentError(JsonRpcPaymentCodes.PaymentRequired, "Payment Required", route, scope, PaymentProblemTypes.PaymentRequired, "Payment is required.");
        }

        lock (_credentials)
        {
            _credentials.Add((JsonObject)credentialJson.DeepClone());
        }

        PaymentCredential credential;
        try
        {
            using var document = JsonDocument.Parse(credentialJson.ToJsonString());
            credential = PaymentCredential.FromJson(document.RootElement);
        }
        catch (MppProtocolException ex)
        {
            throw PaymentError(JsonRpcPaymentCodes.InvalidParams, "Invalid Params", route, scope, PaymentProblemTypes.MalformedCredential, ex.Message);
        }

        var verification = await _kit.Payments.VerifyAsync(credential, route, scope, cancellationToken);
        if (!verification.Succeeded)
        {
            throw PaymentError(JsonRpcPaymentCodes.VerificationFailed, "Payment Verification Failed", route, scope, verification.Problem!.Type, verification.Problem.Detail ?? "Refused.", verification.Problem);
        }

        var result = verification.Action is "close" or "topUp"
            ? new CallToolResult { Content = [] }
            : await RunAsync(request, next, cancellationToken);
        result.Meta ??= [];
        result.Meta[JsonRpcPaymentCodes.ReceiptKey] = JsonNode.Parse(verification.Receipt!.Json.GetRawText());
        return result;
    }

    private async ValueTask<CallToolResult> RunAsync(RequestContext<CallToolRequestParams> request, McpRequestHandler<CallToolRequestParams, CallToolResult> next, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _toolRuns);
        return await next(request, cancellationToken);
    }

    /// <summary>
    /// A JSON-RPC payment error with a fresh challenge: the SDK serializes <see cref="Exception.Data"/> as the error's
    /// <c>data</c> object. A refused credential also gets <c>failure</c>; its problem is the verifier's.
    /// </summary>
    private McpProtocolException PaymentError(int code, string message, TestRoute route, string scope, string problemType, string detail, PaymentProblem? problem = null)
    {
        var challenge = _kit.Payments.IssueChallenge(route, scope);
        var problemJson = problem is null
            ? new JsonObject { ["type"] = problemType, ["title"] = message, ["status"] = 402, ["detail"] = detail, ["challengeId"] = challenge.Id }.ToJsonString()
            : problem.Json.GetRawText();
        var exception = new McpProtocolException(message, (McpErrorCode)code);
        exception.Data["httpStatus"] = Json("402");
        exception.Data["challenges"] = Json("[" + challenge.ToJson() + "]");
        exception.Data["problem"] = Json(problemJson);
        if (code != JsonRpcPaymentCodes.PaymentRequired)
        {
            exception.Data["failure"] = Json(new JsonObject { ["reason"] = problemType[(problemType.LastIndexOf('/') + 1)..], ["detail"] = detail }.ToJsonString());
        }

        return exception;
    }

    private static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}

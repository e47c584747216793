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
using Mpp.Client;
using Mpp.Client.Protocol;
using Mpp.Client.Testing;

/// <summary>
/// A small paid MCP server for the example: the MCP C# SDK's <see cref="McpServer"/> over stateless Streamable HTTP on
/// Kestrel, with a call-tool filter that charges priced tools through the test kit's verifier (protocol.md §7). No
/// credential: JSON-RPC error -32042 with a challenge bound to <c>tools/call:&lt;tool&gt;</c>. A credential in
/// <c>params._meta</c>: verified on the kit's chain, then the tool runs and its result carries the receipt in
/// <c>result._meta</c>; a refused one gets -32043 with a fresh challenge. The SDK writes an
/// <see cref="McpProtocolException"/>'s code and <see cref="Exception.Data"/> as the JSON-RPC error's code and data.
/// </summary>
internal sealed class PaidMcpServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly McpServerOptions _options;

    private PaidMcpServer(WebApplication app, MppTestServer kit, McpServerTool[] tools, Dictionary<string, TestRoute> prices)
    {
        _app = app;
        _options = new McpServerOptions { ServerInfo = new Implementation { Name = "paid-tools", Version = "1.0.0" }, ToolCollection = [.. tools] };
        _options.Filters.Request.CallToolFilters.Add(next => async (request, cancellationToken) =>
        {
            var tool = request.Params!.Name;
            if (!prices.TryGetValue(tool, out var route))
            {
                return await next(request, cancellationToken); // a free tool
            }

            var scope = "tools/call:" + tool;
            if (request.Params.Meta?[JsonRpcPaymentCodes.CredentialKey] is not JsonObject json)
            {
                throw PaymentError(JsonRpcPaymentCodes.PaymentRequired, "Payment Required", kit.Payments.IssueChallenge(route, scope), null);
            }

            using var document = JsonDocument.Parse(json.ToJsonString());
            var verification = await kit.Payments.VerifyAsync(PaymentCredential.FromJson(document.RootElement), route, scope, cancellationToken);
            if (!verification.Succeeded)
            {
                throw PaymentError(JsonRpcPaymentCodes.VerificationFailed, "Payment Verification Failed", kit.Payments.IssueChallenge(route, scope), verification.Problem);
            }

            // A session close or top-up rides on a call of the tool without running it.
            var result = verification.Action is "close" or "topUp" ? new CallToolResult { Content = [] } : await next(request, cancellationToken);
            result.Meta ??= [];
            result.Meta[JsonRpcPaymentCodes.ReceiptKey] = JsonNode.Parse(verification.Receipt!.Json.GetRawText());
            return result;
        });
    }

    public Uri Endpoint { get; private set; } = null!;

    public static async Task<PaidMcpServer> StartAsync(MppTestServer kit, McpServerTool[] tools, Dictionary<string, TestRoute> prices)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new PaidMcpServer(app, kit, tools, prices);
        app.MapPost("/mcp", server.HandlePostAsync);
        await app.StartAsync();
        server.Endpoint = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/mcp");
        return server;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    /// <summary>Each POST is served by a fresh MCP server (stateless mode) and answered as an SSE stream.</summary>
    private async Task HandlePostAsync(HttpContext context)
    {
        var message = await JsonSerializer.DeserializeAsync(context.Request.Body, McpJsonUtilities.DefaultOptions.GetTypeInfo<JsonRpcMessage>(), context.RequestAborted);
        await using var transport = new StreamableHttpServerTransport { Stateless = true };
        await using var mcp = McpServer.Create(transport, _options);
        var running = mcp.RunAsync(context.RequestAborted);
        context.Response.ContentType = "text/event-stream";
        if (message is null || !await transport.HandlePostRequestAsync(message, context.Response.Body, context.RequestAborted))
        {
            context.Response.ContentType = null;
            context.Response.StatusCode = StatusCodes.Status202Accepted;
        }

        await transport.DisposeAsync();
        await running;
    }

    private static McpProtocolException PaymentError(int code, string message, PaymentChallenge challenge, PaymentProblem? problem)
    {
        var exception = new McpProtocolException(message, (McpErrorCode)code);
        exception.Data["httpStatus"] = Json("402");
        exception.Data["challenges"] = Json($"[{challenge.ToJson()}]"); // native JSON: request is an object
        if (problem is not null)
        {
            exception.Data["problem"] = problem.Json;
            exception.Data["failure"] = Json(new JsonObject { ["reason"] = problem.Code, ["detail"] = problem.Detail }.ToJsonString());
        }

        return exception;
    }

    private static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}

using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Mpp.Client.Mcp.Tests;

/// <summary>
/// A minimal Streamable HTTP MCP server in memory (JSON answers, one session): initialize, the initialized notification,
/// and <c>tools/call</c> answered by the test's <see cref="Tools"/> function, which returns either a <c>result</c> or an
/// <c>error</c> object. Every tools/call params object is recorded.
/// </summary>
internal sealed class FakeMcpServer : HttpMessageHandler
{
    public static readonly Uri Endpoint = new("http://127.0.0.1:9/mcp");

    public List<JsonObject> Calls { get; } = [];

    /// <summary>Params in, <c>{"result": …}</c> or <c>{"error": …}</c> out.</summary>
    public Func<JsonObject, JsonObject> Tools { get; set; } = _ => new JsonObject { ["result"] = new JsonObject { ["content"] = new JsonArray() } };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Method != HttpMethod.Post)
        {
            return new HttpResponseMessage(request.Method == HttpMethod.Delete ? HttpStatusCode.OK : HttpStatusCode.MethodNotAllowed);
        }

        var message = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!.AsObject();
        var method = (string)message["method"]!;
        if (message["id"] is null)
        {
            return new HttpResponseMessage(HttpStatusCode.Accepted);
        }

        JsonObject answer;
        if (method == "initialize")
        {
            answer = new JsonObject
            {
                ["result"] = new JsonObject
                {
                    ["protocolVersion"] = message["params"]!["protocolVersion"]!.DeepClone(),
                    ["capabilities"] = new JsonObject
                    {
                        ["tools"] = new JsonObject(),
                        ["experimental"] = new JsonObject { ["payment"] = new JsonObject { ["methods"] = new JsonObject { ["test"] = new JsonObject { ["intents"] = new JsonArray("charge") } } } },
                    },
                    ["serverInfo"] = new JsonObject { ["name"] = "fake", ["version"] = "1.0.0" },
                },
            };
        }
        else if (method == "tools/call")
        {
            var parameters = message["params"]!.AsObject();
            lock (Calls)
            {
                Calls.Add((JsonObject)parameters.DeepClone());
            }

            answer = Tools(parameters);
        }
        else if (method == "ping")
        {
            answer = new JsonObject { ["result"] = new JsonObject() };
        }
        else
        {
            // For example the SDK's discovery probe: an older server does not know it, and the SDK falls back to initialize.
            answer = new JsonObject { ["error"] = new JsonObject { ["code"] = -32601, ["message"] = "Method not found" } };
        }

        answer["jsonrpc"] = "2.0";
        answer["id"] = message["id"]!.DeepClone();
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(answer.ToJsonString(), Encoding.UTF8, "application/json") };
        response.Headers.Add("Mcp-Session-Id", "fake-session");
        return response;
    }
}

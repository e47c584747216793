using System.Text.Json.Nodes;

namespace Mpp.Client.InteropTests;

/// <summary>
/// The real mppx 0.11 server and local Tempo chain started by shared/interop/harness.mjs, which exports
/// MPP_SERVER_URL, MPP_RPC_URL and MPP_CHAIN_ID to the test command (see .ci/run).
/// </summary>
internal static class ReferenceServer
{
    // The harness server's built-in challenge secret (shared/interop/server.mjs), unless MPP_SECRET_KEY overrides it.
    private const string DefaultSecret = "interop-test-secret-key-0123456789abcdef0123";

    public static Uri Url => new(Required("MPP_SERVER_URL"));

    public static Uri RpcUrl => new(Required("MPP_RPC_URL"));

    /// <summary>The paid MCP server (shared/interop/mcp-server.mjs), started by the harness only with MPP_MCP=1.</summary>
    public static Uri McpUrl
    {
        get
        {
            var value = Environment.GetEnvironmentVariable("MPP_MCP_URL");
            if (string.IsNullOrEmpty(value))
            {
                Assert.Fail("MPP_MCP_URL is not set: the MCP interop tests need the harness's paid MCP server. Start it with MPP_MCP=1: " +
                            "cd ../shared/interop && npm install && MPP_MCP=1 node harness.mjs -- dotnet test tests/Mpp.Client.InteropTests --filter Category=Interop");
            }

            return new Uri(value!);
        }
    }

    /// <summary>anvil dev account #0, funded with pathUSD by the local chain (the payer in every interop test).</summary>
    public const string PayerKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    /// <summary>anvil dev account #1: the harness server's payee.</summary>
    public const string Payee = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    public static int ChainId => int.Parse(Required("MPP_CHAIN_ID"), System.Globalization.CultureInfo.InvariantCulture);

    public static string Secret => Environment.GetEnvironmentVariable("MPP_SECRET_KEY") is { Length: > 0 } secret ? secret : DefaultSecret;

    public static bool FeePayer => Environment.GetEnvironmentVariable("FEE_PAYER") == "1";

    public static HttpClient CreateClient() => new() { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>One JSON-RPC call to the local chain; a JSON-RPC error fails the test.</summary>
    public static async Task<JsonNode?> RpcAsync(string method, JsonArray parameters)
    {
        using var rpc = new HttpClient();
        var request = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 1, ["method"] = method, ["params"] = parameters };
        using var response = await rpc.PostAsync(RpcUrl, new StringContent(request.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.That(json["error"], Is.Null, json.ToJsonString());
        return json["result"];
    }

    /// <summary>A mined transaction's receipt; a failed transaction fails the test.</summary>
    public static async Task<System.Text.Json.JsonElement> TransactionReceiptAsync(string transactionHash)
    {
        var result = await RpcAsync("eth_getTransactionReceipt", new JsonArray(transactionHash));
        Assert.That(result, Is.Not.Null, $"no receipt for {transactionHash}");
        var receipt = System.Text.Json.JsonSerializer.SerializeToElement(result);
        Assert.That(receipt.GetProperty("status").GetString(), Is.EqualTo("0x1"));
        return receipt;
    }

    private static string Required(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrEmpty(value))
        {
            Assert.Fail($"{name} is not set. Interop tests run against the reference server: " +
                        "cd ../shared/interop && npm install && node harness.mjs -- dotnet test tests/Mpp.Client.InteropTests --filter Category=Interop");
        }

        return value!;
    }
}

using System.Text;
using System.Text.Json.Nodes;
using Mpp.Client.Protocol;

namespace Mpp.Client.Fuzz;

/// <summary>
/// Seed inputs for each target, taken from the reference vectors (mppx 0.11's challenges, receipts, problem bodies, SSE
/// stream and RPC answers, copied into <c>tests/Mpp.Client.ReliabilityTests/Vectors</c>), plus the JSON-RPC/MCP and
/// chain-answer shapes built around those real values. Compiled into the fuzz harness and the property tests.
/// </summary>
public static class SeedCorpus
{
    /// <summary>Reads every vector file of <paramref name="directory"/> and returns the seeds per target name.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<byte[]>> FromVectors(string directory)
    {
        var documents = Directory.GetFiles(directory, "*.json").Order(StringComparer.Ordinal).Select(f => JsonNode.Parse(File.ReadAllText(f))!).ToList();
        var challenges = Strings(documents, "wwwAuthenticate", "www-authenticate").Distinct().ToList();
        var receiptHeaders = Strings(documents, "paymentReceiptHeader", "payment-receipt").Distinct().ToList();
        var bodies = Strings(documents, "body").Where(b => b.StartsWith('{')).Distinct().ToList();
        var streams = Strings(documents, "sse").Distinct().ToList();
        var rpcResults = documents.SelectMany(d => Find(d, "rpcExchanges")).OfType<JsonArray>().SelectMany(a => a).Select(e => e?["result"]?.ToJsonString()).OfType<string>().ToList();

        var parsed = challenges.SelectMany(c => PaymentChallenge.ParseAll([c]).Challenges).ToList();
        var receipts = receiptHeaders.Select(h => Base64UrlCodec.Decode(h)).ToList();
        receipts.AddRange(streams.SelectMany(s => s.Split("\n\n")).Where(e => e.StartsWith("event: payment-receipt", StringComparison.Ordinal)).Select(e => Encoding.UTF8.GetBytes(e[(e.IndexOf("data: ", StringComparison.Ordinal) + 6)..])));

        var rpcErrors = new List<string>();
        foreach (var challenge in parsed)
        {
            var problem = bodies.FirstOrDefault(b => b.Contains(challenge.Id, StringComparison.Ordinal)) ?? bodies.FirstOrDefault() ?? "{}";
            rpcErrors.Add("""{"jsonrpc":"2.0","id":1,"error":{"code":-32042,"message":"Payment Required","data":{"httpStatus":402,"challenges":[""" + challenge.ToJson() + """],"problem":""" + problem + "}}}");
            rpcErrors.Add("""{"jsonrpc":"2.0","id":2,"error":{"code":-32043,"message":"Payment Verification Failed","data":{"challenges":[""" + challenge.ToJson() + """],"failure":{"reason":"invalid signature","detail":"recovered another signer"}}}}""");
        }

        var paidAnswers = receipts.Select(r => $$$"""{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"ok"}],"_meta":{"org.paymentauth/receipt":{{{Encoding.UTF8.GetString(r)}}}}},"_meta":{"org.paymentauth/receipt":{{{Encoding.UTF8.GetString(r)}}}}}""").ToList();
        var toolResults = parsed.Select(c => $$$"""{"org.paymentauth/payment-required":{"httpStatus":402,"challenges":[{{{c.ToJson()}}}]}}""").ToList();

        return new Dictionary<string, IReadOnlyList<byte[]>>(StringComparer.Ordinal)
        {
            ["challenge"] = Latin1([.. challenges, string.Join(", ", challenges), string.Join("\n", challenges), "Bearer realm=\"api\", error=\"invalid_token\", " + challenges[0] + ", Basic dXNlcjpwYXNz"]),
            ["request"] = [.. parsed.Select(c => Base64UrlCodec.Decode(c.RequestEncoded)).DistinctBy(Convert.ToHexString)],
            ["receipt"] = [.. receipts.DistinctBy(Convert.ToHexString)],
            ["problem"] = Utf8(bodies),
            ["jsonrpc"] = Utf8([.. rpcErrors, .. paidAnswers, """{"jsonrpc":"2.0","id":4,"result":{"ok":true}}"""]),
            ["mcp"] = Utf8([.. rpcErrors, .. rpcErrors.Select(e => "event: message\ndata: " + e + "\n\n"), .. toolResults, .. paidAnswers]),
            ["sse"] = Utf8(streams),
            ["rpc"] = Utf8([.. rpcResults.Select(r => $$$"""{"jsonrpc":"2.0","id":1,"result":{{{r}}}}"""), .. ChainAnswers()]),
        };
    }

    /// <summary>Writes the seeds as one file per input under <c>directory/target/</c>.</summary>
    public static void Write(string vectors, string directory)
    {
        foreach (var (target, seeds) in FromVectors(vectors))
        {
            var folder = Directory.CreateDirectory(Path.Combine(directory, target)).FullName;
            for (var i = 0; i < seeds.Count; i++)
            {
                File.WriteAllBytes(Path.Combine(folder, $"seed-{i:D3}"), seeds[i]);
            }

            Console.WriteLine($"{target}: {seeds.Count} seeds in {folder}");
        }
    }

    /// <summary>The other answers a payment reads from a node, around the vectors' chain (1337), escrow and channel.</summary>
    private static IEnumerable<string> ChainAnswers()
    {
        const string channel = "0xd641949e6399464508c6e85c1044211ba8934615fdeb78d70da10dbbf5adc2bf";
        var closed = Mpp.Client.Tempo.Sessions.Escrow.ChannelClosedTopic;
        yield return """{"jsonrpc":"2.0","id":1,"result":"0x539"}""";
        yield return """{"jsonrpc":"2.0","id":2,"result":{"number":"0x10","timestamp":"0x6955b919","baseFeePerGas":"0x4a817c800"}}""";
        yield return """{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"the method eth_fillTransaction does not exist/is not available"}}""";
        yield return """{"jsonrpc":"2.0","id":4,"result":null}""";
        yield return $$$"""{"jsonrpc":"2.0","id":5,"result":{"status":"0x1","transactionHash":"0x{{{new string('a', 64)}}}","logs":[{"address":"0x4d50500000000000000000000000000000000000","topics":["{{{closed}}}","{{{channel}}}"],"data":"0x{{{new string('0', 61)}}}7d0{{{new string('0', 59)}}}f41a8"}]}}""";
        yield return $$$"""{"jsonrpc":"2.0","id":6,"result":[{"transactionHash":"0x{{{new string('b', 64)}}}"}]}""";
        yield return $$$"""{"jsonrpc":"2.0","id":7,"result":"0x{{{new string('0', 64 * 7)}}}{{{new string('0', 61)}}}7d0{{{new string('0', 59)}}}f4240{{{new string('0', 64)}}}"}""";
    }

    private static IEnumerable<string> Strings(IEnumerable<JsonNode> documents, params string[] names)
        => documents.SelectMany(d => names.SelectMany(n => Find(d, n))).OfType<JsonValue>().Select(v => v.TryGetValue<string>(out var s) ? s : null).OfType<string>();

    private static IEnumerable<JsonNode?> Find(JsonNode? node, string name)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (key == name)
                    {
                        yield return value;
                    }

                    foreach (var found in Find(value, name))
                    {
                        yield return found;
                    }
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    foreach (var found in Find(item, name))
                    {
                        yield return found;
                    }
                }

                break;
        }
    }

    private static byte[][] Latin1(IEnumerable<string> texts) => [.. texts.Select(Encoding.Latin1.GetBytes)];

    private static byte[][] Utf8(IEnumerable<string> texts) => [.. texts.Select(Encoding.UTF8.GetBytes)];
}

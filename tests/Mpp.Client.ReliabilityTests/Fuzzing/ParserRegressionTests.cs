using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mpp.Client.Fuzz;
using Mpp.Client.Mcp;
using Mpp.Client.Protocol;
using Mpp.Client.Tempo;

namespace Mpp.Client.ReliabilityTests.Fuzzing;

/// <summary>
/// One test per bug the property tests, the fuzzer or the review for them found in a parser of server input, each
/// failing before its fix; and every input kept under <c>Fuzzing/Regressions/&lt;target&gt;/</c> replayed.
/// </summary>
public sealed class ParserRegressionTests
{
    public static IEnumerable<TestCaseData> KeptInputs()
        => Directory.EnumerateFiles(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fuzzing", "Regressions"), "*", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(f => new TestCaseData(Path.GetFileName(Path.GetDirectoryName(f))!, f).SetName($"Kept_input_{Path.GetFileName(Path.GetDirectoryName(f))}_{Path.GetFileName(f)}_ends_in_a_typed_outcome"));

    [TestCaseSource(nameof(KeptInputs))]
    public void Every_kept_input_ends_in_the_parsers_typed_outcome(string target, string file)
        => Assert.That(() => FuzzTargets.All[target](File.ReadAllBytes(file)), Throws.Nothing);

    [TestCase("description")]
    [TestCase("id")]
    [TestCase("realm")]
    [TestCase("opaque")]
    public void A_challenge_parameter_whose_unicode_escape_leaves_half_a_character_is_refused_when_parsed(string parameter)
    {
        // Found by AFL: the challenge parsed, and building the credential (its JSON echo) then threw after signing.
        var values = new Dictionary<string, string> { ["id"] = "ch", ["realm"] = "r", ["method"] = "tempo", ["intent"] = "charge", ["request"] = "e30", ["description"] = "d", ["opaque"] = "e30" };
        values[parameter] = "a\\uDeB5b";
        var header = "Payment " + string.Join(", ", values.Select(v => $"{v.Key}=\"{v.Value}\""));

        var ex = Assert.Throws<MppProtocolException>(() => PaymentChallenge.Parse(header));

        Assert.That(ex!.Parameter, Is.EqualTo(parameter));
        Assert.That(PaymentChallenge.Parse(header.Replace("\\uDeB5", "\\uD83D\\uDE00", StringComparison.Ordinal)).ToJson(), Does.Contain("\U0001F600"), "a whole surrogate pair is still read");
    }

    [Test]
    public void A_json_rpc_failure_reason_with_a_lone_surrogate_is_dropped_not_thrown()
    {
        var answer = JsonRpcPaymentHandler.ReadAnswer(Utf8("""{"jsonrpc":"2.0","id":1,"error":{"code":-32043,"data":{"challenges":[],"failure":{"reason":"\ud800"}}}}"""), credentialSent: true);

        Assert.That(answer, Is.Null, "a document holding an escaped lone surrogate is not read at all");
        var data = JsonRpcPaymentData.Read(JsonDocument.Parse("""{"failure":{"reason":"\ud800"}}""").RootElement);
        Assert.That((data.FailureReason, data.Errors.Count), Is.EqualTo(((string?)null, 1)), "read directly, the reason is dropped and the error named");
    }

    [Test]
    public void A_json_rpc_error_code_that_is_not_a_number_is_not_a_payment_error()
    {
        var answer = JsonRpcPaymentHandler.ReadAnswer(Utf8("""{"jsonrpc":"2.0","id":1,"error":{"code":"-32042","data":{"challenges":[]}}}"""), credentialSent: false);

        Assert.That(answer!.Kind, Is.EqualTo(PaidAnswerKind.Accepted), "an error the server did not code as -32042 is the application's answer");
    }

    [Test]
    public void A_paid_json_rpc_answer_repeating_its_id_comes_back_with_the_callers_id()
    {
        // JsonNode.Parse threw ArgumentException on the repeated member: after paying, the caller got an exception.
        var renumbered = JsonRpcPaymentHandler.WithId(Utf8("""{"jsonrpc":"2.0","id":"mpp-1","result":{"ok":true},"id":"mpp-2"}"""), JsonValue.Create(7));

        Assert.That(Encoding.UTF8.GetString(renumbered), Is.EqualTo("""{"jsonrpc":"2.0","id":"mpp-1","result":{"ok":true},"id":"mpp-2"}"""), "a repeated member is not one answer: returned unchanged");
        Assert.That(Encoding.UTF8.GetString(JsonRpcPaymentHandler.WithId(Utf8("""{"jsonrpc":"2.0","id":"mpp-1","result":{"ok":true}}"""), JsonValue.Create(7))),
            Is.EqualTo("""{"jsonrpc":"2.0","id":7,"result":{"ok":true}}"""));
    }

    [Test]
    public void A_json_rpc_answer_with_invalid_utf8_is_neither_read_nor_rewritten()
    {
        var bytes = File.ReadAllBytes(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fuzzing", "Regressions", "jsonrpc", "invalid-utf8-in-a-challenge-changed-by-renumbering"));

        Assert.That(JsonRpcPaymentHandler.ReadAnswer(bytes, credentialSent: true), Is.Null);
        Assert.That(JsonRpcPaymentHandler.WithId(bytes, JsonValue.Create(7)), Is.SameAs(bytes), "the writer used to replace the bad bytes, so the renumbered answer read differently");
    }

    [Test]
    public void Mcp_error_data_with_names_that_are_not_text_or_nested_too_deep_gives_no_challenges_instead_of_throwing()
    {
        var invalidName = JsonDocument.Parse(Encoding.UTF8.GetBytes("{\"x\":1}").Select(b => b == (byte)'x' ? (byte)0xd7 : b).ToArray()).RootElement;
        var deep = JsonDocument.Parse(new string('[', 64) + new string(']', 64)).RootElement;

        Assert.That(McpPaymentError.DataObject(new Dictionary<string, object?> { ["data"] = invalidName }), Is.Null);
        Assert.That(McpPaymentError.DataObject(new Dictionary<string, object?> { ["challenges"] = deep }), Is.Null, "wrapping a 64-deep value went past JsonDocument's depth and threw");
        var merged = McpPaymentError.DataObject(new Dictionary<string, object?> { ["data"] = JsonDocument.Parse("""{"challenges":[],"x":1}""").RootElement, ["x"] = 2 });
        Assert.That(merged!.Value.GetProperty("x").GetInt32(), Is.EqualTo(2), "a later entry replaces an earlier one instead of repeating the member");
    }

    [Test]
    public void An_mcp_answer_that_is_not_utf8_is_refused_as_bytes_without_copies_through_utf16()
    {
        // Found in AFL's corpus: the capture turned the bytes into text (each bad byte a U+FFFD), back into bytes and then
        // read the now-valid JSON: 23 KB in, 1.2 MB allocated. Read as bytes, the validator refuses it at once.
        var bytes = File.ReadAllBytes(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fuzzing", "Regressions", "mcp", "afl-invalid-utf8-answer-copied-through-utf16"));
        using var capture = new McpPaymentCaptureHandler.PaymentErrorCapture();
        capture.Append(bytes);
        _ = capture.TryGetError(out _, out _);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var found = capture.TryGetError(out _, out var data);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That((found, data), Is.EqualTo((false, (JsonElement?)null)));
        Assert.That(allocated, Is.LessThan(8 * bytes.Length), $"{allocated:N0} bytes allocated for a {bytes.Length:N0}-byte answer");
    }

    [Test]
    public void A_tool_results_meta_that_cannot_be_read_back_has_no_receipt()
    {
        JsonNode deep = new JsonObject();
        for (var i = 0; i < 80; i++)
        {
            deep = new JsonObject { ["n"] = deep };
        }

        Assert.That(McpPaymentError.ReadMeta((JsonObject)deep), Is.Null, "re-reading a meta deeper than 64 threw JsonException after the call was paid");
        Assert.That(McpPaymentError.ReadMeta(new JsonObject { ["org.paymentauth/receipt"] = new JsonObject() }), Is.Not.Null);
    }

    [TestCase("[1]", TestName = "An_rpc_answer_that_is_an_array_is_a_typed_rpc_error")]
    [TestCase("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":\"x\",\"message\":5}}", TestName = "An_rpc_error_with_a_text_code_and_a_numeric_message_is_a_typed_rpc_error")]
    [TestCase("{\"result\":\"0x1\",\"result\":\"0x2\"}", TestName = "An_rpc_answer_repeating_its_result_is_a_typed_rpc_error")]
    [TestCase("{\"result\":\"0x1\"", TestName = "A_truncated_rpc_answer_is_a_typed_rpc_error")]
    public void A_malformed_rpc_envelope_is_a_typed_rpc_error(string body)
        => Assert.That(() => RpcAnswer.ReadResult(Utf8(body), "eth_chainId"), Throws.InstanceOf<TempoRpcException>());

    [TestCase("{\"x\":1}", TestName = "A_chain_id_that_is_an_object_is_a_typed_rpc_error")]
    [TestCase("\"0xffffffffffffffffffff\"", TestName = "A_chain_id_over_64_bits_is_a_typed_rpc_error")]
    [TestCase("\"0xzz\"", TestName = "A_chain_id_that_is_not_hex_is_a_typed_rpc_error")]
    [TestCase("7", TestName = "A_chain_id_that_is_a_json_number_is_a_typed_rpc_error")]
    public void A_malformed_chain_id_is_a_typed_rpc_error(string result)
    {
        var value = RpcAnswer.ReadResult(Utf8($$"""{"jsonrpc":"2.0","id":1,"result":{{result}}}"""), "eth_chainId");

        Assert.That(() => RpcAnswer.Int64(value, "eth_chainId", "chain id"), Throws.InstanceOf<TempoRpcException>());
    }

    [Test]
    public void Fill_and_receipt_answers_of_the_wrong_shape_are_typed_rpc_errors()
    {
        static JsonElement Result(string json) => RpcAnswer.ReadResult(Utf8($$"""{"result":{{json}}}"""), "m");

        Assert.Multiple(() =>
        {
            Assert.That(() => RpcAnswer.FilledFees(Result("""{"tx":{"gas":"0x1","maxFeePerGas":"0x1"}}"""), isCharge: true), Throws.InstanceOf<TempoRpcException>().With.Message.Contains("maxPriorityFeePerGas"));
            Assert.That(() => RpcAnswer.FilledFees(Result("""{"tx":{"gas":"0x1","maxFeePerGas":"0x1","maxPriorityFeePerGas":"0x1","feeToken":"0x12"}}"""), isCharge: true), Throws.InstanceOf<TempoRpcException>());
            Assert.That(() => RpcAnswer.Receipt(Result("[]")), Throws.InstanceOf<TempoRpcException>());
            Assert.That(() => RpcAnswer.Succeeded(Result("""{"status":1}""")), Throws.InstanceOf<TempoRpcException>());
            Assert.That(() => RpcAnswer.LogTransactionHashes(Result("""[{"transactionHash":5}]""")), Throws.InstanceOf<TempoRpcException>());
            Assert.That(() => Mpp.Client.Tempo.Sessions.Escrow.DecodeChannel(new byte[319]), Throws.InstanceOf<TempoRpcException>());
            Assert.That(() => Mpp.Client.Tempo.Sessions.Escrow.DecodeChannel(Enumerable.Repeat((byte)0xff, 320).ToArray()), Throws.InstanceOf<TempoRpcException>().With.Message.Contains("too large"));
        });
    }

    [Test]
    public void Receipt_logs_of_any_other_shape_are_skipped_when_looking_for_channel_closed()
    {
        var escrow = EvmAddress.Parse("0x4d50500000000000000000000000000000000000");
        var receipt = RpcAnswer.ReadResult(Utf8("""{"result":{"transactionHash":7,"logs":[5,{"address":5},{"address":"0x4d50500000000000000000000000000000000000","topics":"x"},{"address":"0x4d50500000000000000000000000000000000000","topics":[1,2],"data":"0x"}]}}"""), "eth_getTransactionReceipt");

        Assert.That(Mpp.Client.Tempo.Sessions.Escrow.FindChannelClosed(receipt, escrow, "0x01"), Is.Null);
    }

    [Test]
    public async Task An_rpc_answer_larger_than_4_mib_is_refused_without_reading_it_all()
    {
        var huge = new byte[RpcAnswer.MaxAnswerBytes + 1];
        using var http = new HttpClient(new StaticAnswer(() => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new MemoryStream(huge)) }));
        var rpc = new TempoRpcClient(http, new Uri("http://127.0.0.1:1/"), TimeSpan.FromSeconds(30), retries: 0, TimeProvider.System);

        var ex = Assert.ThrowsAsync<TempoRpcException>(() => rpc.ChainIdAsync(CancellationToken.None));

        Assert.That(ex!.Message, Does.Contain("more than 4194304 bytes"));
        await Task.CompletedTask;
    }

    [Test]
    public async Task Keep_alive_comments_do_not_count_towards_a_server_sent_events_size_limit()
    {
        // 1.5 MiB of comments, then a small event: the comments used to count, and the stream failed at 1 MiB.
        var text = string.Concat(Enumerable.Repeat(": keep-alive\n", 120_000)) + "event: message\ndata: hello\n\n";
        var events = new List<(string, string, string?)>();
        await foreach (var e in PaidEventStream.ReadEventsAsync(new MemoryStream(Utf8(text)), CancellationToken.None))
        {
            events.Add(e);
        }

        Assert.That(events, Is.EqualTo(new[] { ("message", "hello", (string?)null) }));
    }

    [Test]
    public void A_server_sent_event_over_the_size_limit_is_a_typed_protocol_error()
    {
        var text = "data: " + new string('x', 1024 * 1024) + "\n\n";

        Assert.That(async () =>
        {
            await foreach (var unused in PaidEventStream.ReadEventsAsync(new MemoryStream(Utf8(text)), CancellationToken.None))
            {
            }
        }, Throws.InstanceOf<MppProtocolException>());
    }

    [Test]
    public void A_payment_need_voucher_event_with_an_escaped_lone_surrogate_or_a_repeated_member_stops_the_stream_with_a_session_error()
    {
        const string channel = "0xd641949e6399464508c6e85c1044211ba8934615fdeb78d70da10dbbf5adc2bf";

        Assert.Multiple(() =>
        {
            Assert.That(() => PaidEventStream.ReadRequiredCumulative($$"""{"channelId":"{{channel}}","requiredCumulative":"1","\ud800":1}""", channel), Throws.InstanceOf<TempoSessionException>());
            Assert.That(() => PaidEventStream.ReadRequiredCumulative($$"""{"channelId":"{{channel}}","requiredCumulative":"1","requiredCumulative":"9"}""", channel), Throws.InstanceOf<TempoSessionException>(), "which amount would be meant?");
            Assert.That(PaidEventStream.ReadRequiredCumulative($$"""{"channelId":"{{channel}}","requiredCumulative":"2200"}""", channel), Is.EqualTo(new System.Numerics.BigInteger(2200)));
        });
    }

    [Test]
    public void Challenges_from_json_with_names_that_are_not_text_are_typed_protocol_errors()
    {
        var element = JsonDocument.Parse(Encoding.UTF8.GetBytes("{\"id\":\"a\",\"x\":1}").Select(b => b == (byte)'x' ? (byte)0xd7 : b).ToArray()).RootElement;

        Assert.Multiple(() =>
        {
            Assert.That(() => PaymentChallenge.FromJson(element), Throws.InstanceOf<MppProtocolException>());
            Assert.That(() => PaymentReceipt.FromJson(JsonDocument.Parse("""{"\ud800":1,"status":"success"}""").RootElement), Throws.InstanceOf<MppProtocolException>());
            Assert.That(() => PaymentProblem.FromJson(JsonDocument.Parse("""{"\ud800":1,"type":"x"}""").RootElement), Throws.InstanceOf<MppProtocolException>());
        });
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private sealed class StaticAnswer(Func<HttpResponseMessage> answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => Task.FromResult(answer());
    }
}

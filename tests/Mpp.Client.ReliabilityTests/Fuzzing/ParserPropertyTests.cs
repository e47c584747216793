using System.Text;
using CsCheck;
using Mpp.Client.Fuzz;
using Mpp.Client.Protocol;

namespace Mpp.Client.ReliabilityTests.Fuzzing;

/// <summary>
/// Property tests of every parser of server input (<see cref="FuzzTargets"/>, the same targets the coverage-guided
/// harness in <c>fuzz/</c> runs): a fixed set of generated inputs per parser, seeded from mppx's real challenges,
/// receipts, problems, SSE stream and RPC answers. Each input must end in the parser's documented typed outcome (the
/// target catches only that), keep its round trips, and allocate at most a bounded multiple of its size; and the work
/// of scaled-up inputs must grow linearly (counted in allocated bytes and in the JSON validator's name comparisons,
/// never in wall-clock time).
/// </summary>
public sealed class ParserPropertyTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(10);

    private static readonly Lazy<IReadOnlyDictionary<string, IReadOnlyList<byte[]>>> Seeds =
        new(() => SeedCorpus.FromVectors(Path.Combine(TestContext.CurrentContext.TestDirectory, "Vectors")));

    /// <summary>The parser, how many inputs it gets (250,000 in all), and its stream of seeds.</summary>
    private static readonly (string Target, int Count, uint Stream)[] Budgets =
    [
        ("challenge", 80_000, 1),
        ("request", 30_000, 2),
        ("receipt", 25_000, 3),
        ("problem", 25_000, 4),
        ("jsonrpc", 25_000, 5),
        ("mcp", 20_000, 6),
        ("sse", 20_000, 7),
        ("rpc", 25_000, 8),
    ];

    public static IEnumerable<TestCaseData> Targets()
        => Budgets.Select(b => new TestCaseData(b.Target, b.Count, b.Stream).SetName($"Parser_{b.Target}_survives_{b.Count}_generated_inputs_with_bounded_allocation"));

    [TestCaseSource(nameof(Targets))]
    public void Every_parser_of_server_input_survives_its_generated_inputs(string target, int count, uint stream)
    {
        var gen = Generator(target);
        var run = Property.WithHangGuard(() => Property.Run(target, gen, FuzzTargets.All[target], count, stream), HangGuard);

        Assert.That(run.Inputs, Is.EqualTo(count));
    }

    [Test]
    public void The_property_tests_cover_every_fuzz_target_with_at_least_100000_inputs_in_all()
    {
        Assert.That(Budgets.Select(b => b.Target), Is.EquivalentTo(FuzzTargets.All.Keys));
        Assert.That(Budgets.Sum(b => b.Count), Is.GreaterThanOrEqualTo(100_000));
        foreach (var (target, _, _) in Budgets)
        {
            Assert.That(Seeds.Value[target], Is.Not.Empty, $"no seed from the vectors for {target}");
        }
    }

    [Test]
    public void The_seeds_from_the_reference_vectors_are_all_accepted_by_their_parsers()
    {
        // A seed corpus of inputs the parsers refuse would make the mutants prove little: the real ones must read cleanly.
        var parsed = Seeds.Value["challenge"].Sum(s => PaymentChallenge.ParseAll(Encoding.Latin1.GetString(s).Split('\n')).Challenges.Count);
        var receipts = Seeds.Value["receipt"].Count(r => PaymentReceipt.TryParse(Base64UrlCodec.Encode(r), out _));
        var problems = Seeds.Value["problem"].Count(p => PaymentProblem.TryParse(p, out _));

        Assert.That(parsed, Is.GreaterThanOrEqualTo(Seeds.Value["challenge"].Count));
        Assert.That(receipts, Is.EqualTo(Seeds.Value["receipt"].Count));
        Assert.That(problems, Is.EqualTo(Seeds.Value["problem"].Count));
        foreach (var target in FuzzTargets.All)
        {
            foreach (var seed in Seeds.Value[target.Key])
            {
                target.Value(seed);
            }
        }
    }

    public static IEnumerable<TestCaseData> Shapes()
        => ScaledShapes.Select(s => new TestCaseData(s.Key).SetName($"Work_grows_linearly_for_{s.Key}"));

    /// <summary>
    /// Inputs built at size n and 16n in the shapes most likely to cost more than linear work (many members, many
    /// challenges, many escapes, many events, long runs of separators): allocation and JSON-name comparisons at 16n
    /// stay within twice 16 times those at n.
    /// </summary>
    [TestCaseSource(nameof(Shapes))]
    public void Work_grows_linearly_with_the_input(string shape)
    {
        var (target, build) = ScaledShapes[shape];
        var run = FuzzTargets.All[target];
        var small = Measure(run, build(64));
        var large = Measure(run, build(1024));

        TestContext.Out.WriteLine($"{shape}: n=64 {small.Bytes:N0} bytes allocated, {small.Work:N0} comparisons; n=1024 {large.Bytes:N0} bytes, {large.Work:N0} comparisons");
        Assert.That(large.Bytes, Is.LessThanOrEqualTo((2 * 16 * small.Bytes) + (64 * 1024)), "allocation grew faster than the input");
        Assert.That(large.Work, Is.LessThanOrEqualTo((2 * 16 * small.Work) + 64), "JSON member-name comparisons grew faster than the input");
    }

    [Test]
    public void A_json_object_with_thousands_of_members_is_checked_for_repeats_in_linear_work()
    {
        // The duplicate-member check used to compare each name with every earlier one: 8,000 members cost 32 million comparisons.
        static byte[] Members(int n) => Encoding.UTF8.GetBytes("{" + string.Join(",", Enumerable.Range(0, n).Select(i => $"\"m{i}\":0")) + ",\"status\":\"success\"}");

        var small = Measure(FuzzTargets.Problem, Members(500));
        var large = Measure(FuzzTargets.Problem, Members(8_000));

        Assert.That(large.Work, Is.LessThan(8_000 * 3), $"{large.Work:N0} comparisons for 8,000 members");
        Assert.That(large.Work, Is.LessThanOrEqualTo((2 * 16 * small.Work) + 64));
        Assert.That(() => PaymentProblem.Parse(Encoding.UTF8.GetBytes("{" + string.Join(",", Enumerable.Range(0, 5_000).Select(i => $"\"m{i}\":0")) + ",\"m4999\":1}")),
            Throws.InstanceOf<MppProtocolException>().With.Message.Contains("repeats the member name 'm4999'"), "a repeat past the set threshold is still found");
    }

    private static (long Bytes, long Work) Measure(Action<byte[]> target, byte[] input)
    {
        target(input); // once to warm up: the JIT allocates too
        var work = JsonObjectValidatorWork();
        var before = GC.GetAllocatedBytesForCurrentThread();
        target(input);
        return (GC.GetAllocatedBytesForCurrentThread() - before, JsonObjectValidatorWork() - work);
    }

    private static long JsonObjectValidatorWork() => Mpp.Client.Protocol.JsonObjectValidator.WorkDone;

    private static Gen<byte[]> Generator(string target)
    {
        var seeds = Seeds.Value[target];
        return target switch
        {
            "challenge" => Inputs.Of(seeds, Inputs.HeaderTokens, Inputs.Header),
            "sse" => Inputs.Of(seeds, Inputs.JsonTokens, Inputs.EventStream),
            "mcp" => Inputs.Of(seeds, Inputs.JsonTokens, Gen.OneOf(Inputs.JsonObject, Inputs.EventStream)),
            _ => Inputs.Of(seeds, Inputs.JsonTokens, Inputs.JsonObject),
        };
    }

    private static string Unknown(int i) => $"Payment id=\"u{i}\", realm=\"api.example.com\", method=\"unknownmethod\", intent=\"charge\", request=\"eyJhbW91bnQiOiIxIn0\"";

    private static readonly Dictionary<string, (string Target, Func<int, byte[]> Build)> ScaledShapes = new(StringComparer.Ordinal)
    {
        ["many_challenges_in_one_value"] = ("challenge", n => Latin1(string.Join(", ", Enumerable.Range(0, n / 8).Select(Unknown)))),
        ["many_header_values"] = ("challenge", n => Latin1(string.Join("\n", Enumerable.Range(0, n / 8).Select(Unknown)))),
        ["escapes_in_a_quoted_value"] = ("challenge", n => Latin1("Payment id=\"x\", description=\"" + string.Concat(Enumerable.Repeat("\\\"\\u00e9", n)) + "\", realm=\"r\", method=\"a\", intent=\"b\", request=\"e30\"")),
        ["an_unclosed_quote_of_backslashes"] = ("challenge", n => Latin1("Payment id=\"x\", fuzz=\"" + new string('\\', n * 4))),
        ["runs_of_separators_and_other_schemes"] = ("challenge", n => Latin1(string.Concat(Enumerable.Repeat(",, Bearer a=b, c=\"d,e\", Basic xyz==,\t", n)))),
        ["many_members_in_a_request"] = ("request", n => Utf8("{\"amount\":\"1\",\"currency\":\"0x20c0000000000000000000000000000000000000\"," + string.Join(",", Enumerable.Range(0, n).Select(i => $"\"x{i}\":{i}")) + "}")),
        ["deep_arrays_in_a_request"] = ("request", n => Utf8("{\"a\":[" + string.Join(",", Enumerable.Repeat("[[[[1]]]]", n)) + "]}")),
        ["many_members_in_a_receipt"] = ("receipt", n => Utf8("{\"status\":\"success\",\"method\":\"tempo\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"reference\":\"r\"," + string.Join(",", Enumerable.Range(0, n).Select(i => $"\"x{i}\":\"{i}\"")) + "}")),
        ["many_members_in_a_problem"] = ("problem", n => Utf8("{\"type\":\"about:blank\"," + string.Join(",", Enumerable.Range(0, n).Select(i => $"\"x{i}\":[{i}]")) + "}")),
        ["many_json_rpc_challenges"] = ("jsonrpc", n => Utf8("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32042,\"data\":{\"challenges\":[" + string.Join(",", Enumerable.Range(0, n / 8).Select(i => $"{{\"id\":\"c{i}\",\"realm\":\"r\",\"method\":\"tempo\",\"intent\":\"charge\",\"request\":{{\"amount\":\"{i}\"}}}}")) + "]}}}")),
        ["many_mcp_events"] = ("mcp", n => Utf8(string.Concat(Enumerable.Repeat("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32042,\"data\":{\"challenges\":[]}}}\n\n", n / 8)))),
        ["many_sse_events"] = ("sse", n => Utf8(string.Concat(Enumerable.Repeat("event: payment-need-voucher\ndata: {\"channelId\":\"0x1\",\"requiredCumulative\":\"1\"}\n\n", n / 4)))),
        ["many_lines_in_one_sse_event"] = ("sse", n => Utf8(string.Concat(Enumerable.Repeat("data: x\r\n: comment\r", n)) + "\n\n")),
        ["many_logs_in_an_rpc_answer"] = ("rpc", n => Utf8("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"status\":\"0x1\",\"transactionHash\":\"0x1\",\"logs\":[" + string.Join(",", Enumerable.Repeat("{\"address\":\"0x4d50500000000000000000000000000000000000\",\"topics\":[\"0x1\",\"0x2\"],\"data\":\"0x00\",\"transactionHash\":\"0x3\"}", n / 4)) + "]}}")),
    };

    private static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}

using System.Collections;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mpp.Client.Mcp;
using Mpp.Client.Protocol;
using Mpp.Client.Stripe;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Charge;
using Mpp.Client.Tempo.Sessions;

namespace Mpp.Client.Fuzz;

/// <summary>An input broke a parser's contract beyond throwing: a round trip changed a value, or two readings disagree.</summary>
public sealed class FuzzFindingException(string message) : Exception(message);

/// <summary>
/// One target per parser of server input. Each feeds the bytes to the parser and catches only the parser's documented,
/// typed outcome; anything else (another exception type, a broken round trip: <see cref="FuzzFindingException"/>) escapes, which
/// is a crash for the fuzzer and a failure for the property tests (this file is compiled into both).
/// </summary>
public static class FuzzTargets
{
    /// <summary>The targets by name, as the fuzz harness and its README name them.</summary>
    public static IReadOnlyDictionary<string, Action<byte[]>> All { get; } = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["challenge"] = Challenge,
        ["request"] = Request,
        ["receipt"] = Receipt,
        ["problem"] = Problem,
        ["jsonrpc"] = JsonRpc,
        ["mcp"] = Mcp,
        ["sse"] = ServerSentEvents,
        ["rpc"] = RpcAnswers,
    };

    private const string ChannelId = "0xd641949e6399464508c6e85c1044211ba8934615fdeb78d70da10dbbf5adc2bf";

    /// <summary>
    /// <c>WWW-Authenticate</c> values (Latin-1, as on the wire; one value per line): every challenge of every value, the
    /// first of the first alone, and each valid challenge's decoded request, opaque data, JSON forms and header round trip.
    /// </summary>
    public static void Challenge(byte[] data)
    {
        var values = Encoding.Latin1.GetString(data).Split('\n');
        var all = PaymentChallenge.ParseAll(values);
        if (all.ExceedsSizeLimit && all.Challenges.Count > 0)
        {
            throw new FuzzFindingException("challenges were read from values over the size limit");
        }

        foreach (var challenge in all.Challenges)
        {
            Exercise(challenge);
        }

        PaymentChallenge? parsed = null;
        try
        {
            parsed = PaymentChallenge.Parse(values[0]);
            Exercise(parsed);
        }
        catch (MppProtocolException)
        {
        }

        if (PaymentChallenge.TryParse(values[0], out var tried) != (parsed is not null) || (tried is not null && tried.ToJson() != parsed!.ToJson()))
        {
            throw new FuzzFindingException("TryParse and Parse disagree");
        }
    }

    /// <summary>
    /// A challenge's <c>request</c>: the bytes are the decoded JSON, sent base64url-encoded in a charge and a session
    /// challenge, then read by the Tempo charge, Tempo session and Stripe methods as a quote would.
    /// </summary>
    public static void Request(byte[] data)
    {
        var encoded = Base64UrlCodec.Encode(data);
        foreach (var (method, intent) in new[] { ("tempo", "charge"), ("tempo", "session"), ("stripe", "charge") })
        {
            PaymentChallenge challenge;
            try
            {
                challenge = PaymentChallenge.Parse($"Payment id=\"fuzz\", realm=\"api.example.com\", method=\"{method}\", intent=\"{intent}\", request=\"{encoded}\"");
                _ = CanonicalJson.Serialize(challenge.Request);
            }
            catch (MppProtocolException)
            {
                continue;
            }

            try
            {
                switch (method, intent)
                {
                    case ("tempo", "charge"):
                        _ = ChargeRequest.Read(challenge);
                        break;
                    case ("tempo", "session"):
                        _ = SessionRequest.Read(challenge);
                        break;
                    default:
                        _ = Shared.Stripe.QuoteAsync(challenge, Shared.Context, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                        break;
                }
            }
            catch (PaymentDeniedException)
            {
            }
        }
    }

    /// <summary>
    /// <c>Payment-Receipt</c>: the bytes are the receipt's JSON, read base64url-encoded as the header carries it (with a
    /// round trip through <see cref="PaymentReceipt.ToHeaderValue"/>), and as raw header text.
    /// </summary>
    public static void Receipt(byte[] data)
    {
        try
        {
            var receipt = PaymentReceipt.Parse(Base64UrlCodec.Encode(data));
            var again = PaymentReceipt.Parse(receipt.ToHeaderValue());
            if (again.Reference != receipt.Reference || again.Status != receipt.Status || again.Timestamp != receipt.Timestamp || again.ExternalId != receipt.ExternalId)
            {
                throw new FuzzFindingException("a receipt changed in a header round trip");
            }

            _ = receipt.ToString();
        }
        catch (MppProtocolException)
        {
        }

        _ = PaymentReceipt.TryParse(Encoding.Latin1.GetString(data), out _);
    }

    /// <summary>An RFC 9457 problem body, as read after a refused payment.</summary>
    public static void Problem(byte[] data)
    {
        if (PaymentProblem.TryParse(data, out var problem))
        {
            _ = (problem.ToString(), problem.Code, problem.IsKnownType, problem.Status);
        }
    }

    /// <summary>
    /// A JSON-RPC answer to a paid call (generic binding): read before and after a credential, and the caller's id put
    /// back, which must not change how the answer reads.
    /// </summary>
    public static void JsonRpc(byte[] data)
    {
        var before = JsonRpcPaymentHandler.ReadAnswer(data, credentialSent: false);
        var after = JsonRpcPaymentHandler.ReadAnswer(data, credentialSent: true);
        if ((before is null) != (after is null))
        {
            throw new FuzzFindingException("an answer read as JSON-RPC only before or only after a credential");
        }

        var renumbered = JsonRpcPaymentHandler.WithId(data, JsonValue.Create(7));
        var again = JsonRpcPaymentHandler.ReadAnswer(renumbered, credentialSent: true);
        if (after is not null && (again is null || again.Kind != after.Kind || again.Data.Challenges.Count != after.Data.Challenges.Count))
        {
            throw new FuzzFindingException("putting the caller's id back changed how the answer reads");
        }
    }

    /// <summary>
    /// MCP payment errors: the wire copy of an answer (a JSON body or an SSE stream), the error data the SDK hands over
    /// in <see cref="Exception.Data"/>, and a tool result's <c>_meta</c>.
    /// </summary>
    public static void Mcp(byte[] data)
    {
        using (var capture = new McpPaymentCaptureHandler.PaymentErrorCapture())
        {
            capture.Append(data);
            if (capture.TryGetError(out _, out var wire))
            {
                _ = JsonRpcPaymentData.Read(wire);
            }
        }

        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(data);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return; // not JSON: nothing the SDK would hand over
        }

        if (root.ValueKind == JsonValueKind.Object)
        {
            IDictionary entries = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var member in root.EnumerateObject())
            {
                string name;
                try
                {
                    name = member.Name;
                }
                catch (InvalidOperationException)
                {
                    continue; // the SDK's deserializer hands over string keys: a name that is not text never gets here
                }

                entries[name] = member.Value;
            }

            _ = JsonRpcPaymentData.Read(McpPaymentError.DataObject(entries));
            _ = JsonRpcPaymentData.Read(McpPaymentError.DataObject(new Dictionary<string, object?> { ["data"] = root }));
            _ = JsonRpcPaymentData.ReadReceipt(root);
        }

        JsonObject? meta;
        try
        {
            meta = JsonNode.Parse(data) as JsonObject;
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            return; // the SDK's own deserializer would refuse it before we see it
        }

        if (McpPaymentError.ReadMeta(meta) is { ValueKind: JsonValueKind.Object } read)
        {
            if (read.TryGetProperty(JsonRpcPaymentCodes.PaymentRequiredKey, out var required))
            {
                _ = JsonRpcPaymentData.Read(required);
            }

            _ = JsonRpcPaymentData.ReadReceipt(read);
        }
    }

    /// <summary>
    /// A paid SSE stream: the events, read whole and in 7-byte chunks (which must agree), each <c>payment-need-voucher</c>
    /// read for the channel and each <c>payment-receipt</c> as a receipt.
    /// </summary>
    public static void ServerSentEvents(byte[] data)
    {
        List<(string Event, string Data, string? Id)> whole, chunked;
        try
        {
            whole = ReadEvents(new MemoryStream(data));
        }
        catch (MppProtocolException)
        {
            return; // an event over the size limit
        }

        chunked = ReadEvents(new ChunkedStream(data, 7));
        if (!whole.SequenceEqual(chunked))
        {
            throw new FuzzFindingException("the events depend on how the stream was cut into reads");
        }

        foreach (var (name, text, _) in whole)
        {
            switch (name)
            {
                case "payment-need-voucher":
                    try
                    {
                        _ = PaidEventStream.ReadRequiredCumulative(text, ChannelId);
                    }
                    catch (TempoSessionException)
                    {
                    }

                    break;
                case "payment-receipt":
                    _ = PaidEventStream.ParseReceipt(text);
                    break;
            }
        }
    }

    /// <summary>
    /// A chain node's answer: the JSON-RPC envelope, then the result read as each value the client takes from one (chain
    /// id, quantities, hashes, data, addresses, filled fees, receipts, logs, a ChannelClosed event, getChannel's words).
    /// </summary>
    public static void RpcAnswers(byte[] data)
    {
        JsonElement result;
        try
        {
            result = RpcAnswer.ReadResult(data, "eth_fuzz");
        }
        catch (TempoRpcException)
        {
            return;
        }

        Try(() => RpcAnswer.Int64(result, "eth_chainId", "chain id"));
        Try(() => RpcAnswer.Quantity(result, "eth_estimateGas", "gas"));
        Try(() => RpcAnswer.Text(result, "eth_sendRawTransaction", "hash"));
        Try(() => RpcAnswer.Address(result, "eth_fuzz", "address"));
        Try(() => RpcAnswer.FilledFees(result, isCharge: true));
        Try(() => RpcAnswer.Int64(RpcAnswer.Member(result, "timestamp", "eth_getBlockByNumber"), "eth_getBlockByNumber", "timestamp"));
        Try(() => RpcAnswer.LogTransactionHashes(result));
        Try(() => RpcAnswer.Receipt(result) is { } receipt && RpcAnswer.Succeeded(receipt));
        Try(() => Mpp.Client.Tempo.Sessions.Escrow.FindChannelClosed(result, Shared.Escrow, ChannelId));
        Try(() => Mpp.Client.Tempo.Sessions.Escrow.DecodeChannel(RpcAnswer.Data(result, "eth_call", "return data")));
    }

    private static void Try<T>(Func<T> read)
    {
        try
        {
            _ = read();
        }
        catch (TempoRpcException)
        {
        }
    }

    private static void Exercise(PaymentChallenge challenge)
    {
        _ = challenge.Request; // validated when parsed: decoding must not fail later
        _ = challenge.TryGetOpaqueJson(out _);
        _ = challenge.IsExpired(DateTimeOffset.UnixEpoch, TimeSpan.FromSeconds(5));
        var json = challenge.ToJson();
        var echo = challenge.ToJson(decodeRequest: false);
        using (var document = JsonDocument.Parse(echo))
        {
            if (PaymentChallenge.FromJson(document.RootElement).ToJson() != json)
            {
                throw new FuzzFindingException("a challenge changed in a JSON round trip");
            }
        }

        string header;
        try
        {
            header = challenge.ToHeaderValue();
        }
        catch (MppProtocolException ex) when (ex.Kind == MppProtocolErrorKind.Format)
        {
            return; // a \u escape decoded to a control character, which may not be written back
        }

        if (PaymentChallenge.Parse(header).ToJson() != json)
        {
            throw new FuzzFindingException("a challenge changed in a header round trip");
        }
    }

    private static List<(string, string, string?)> ReadEvents(Stream body)
    {
        var events = new List<(string, string, string?)>();
        var reader = PaidEventStream.ReadEventsAsync(body, CancellationToken.None).GetAsyncEnumerator();
        try
        {
            while (reader.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                events.Add(reader.Current);
            }
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        return events;
    }

    /// <summary>Gives out at most a few bytes per read, as a network stream may.</summary>
    private sealed class ChunkedStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, chunk)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            => base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    }

    /// <summary>
    /// Values the targets share, built on first use: under the fuzzer, instrumented code may run only after SharpFuzz has
    /// attached AFL's coverage map, so nothing of the library runs in a static initializer of <see cref="FuzzTargets"/>.
    /// </summary>
    private static class Shared
    {
        public static readonly PaymentContext Context;
        public static readonly StripeChargeMethod Stripe;
        public static readonly EvmAddress Escrow;

        static Shared()
        {
            Context = new("fuzz", HttpMethod.Get, new Uri("https://api.example.com/resource"), 1);
            Stripe = new(new NoTokens(), TimeProvider.System);
            Escrow = EvmAddress.Parse("0x4d50500000000000000000000000000000000000");
        }
    }

    /// <summary>Quoting never asks for a token; paying is not fuzzed.</summary>
    private sealed class NoTokens : ISharedPaymentTokenProvider
    {
        public ValueTask<string> CreateTokenAsync(SharedPaymentTokenRequest request, CancellationToken cancellationToken)
            => throw new InvalidOperationException("not used when quoting");
    }
}

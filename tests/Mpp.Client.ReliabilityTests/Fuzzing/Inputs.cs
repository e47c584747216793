using System.Text;
using System.Text.Json;
using CsCheck;

namespace Mpp.Client.ReliabilityTests.Fuzzing;

/// <summary>One change to a seed input.</summary>
internal sealed record Edit(int Kind, int At, int Length, byte[] Bytes);

/// <summary>
/// The generators: mutants of the real seeds (byte edits, tokens that matter to the parser, repeated and spliced
/// slices) and inputs built from scratch (JSON values, challenge headers, SSE streams) around the protocol's vocabulary.
/// </summary>
internal static class Inputs
{
    public static readonly string[] HeaderTokens =
    [
        "\"", "\\", ",", "=", " ", "\t", "Payment ", "payment", "Bearer ", "Basic ", "id=", "realm=", "method=", "intent=", "request=",
        "expires=", "digest=", "opaque=", "header=", "description=", "\\u", "\\u00", "\\u0022", "\u0000", "\r\n", "\u00ff", "==", "e30",
        "\"tempo\"", "\"charge\"", "\"session\"", "\"Payment-Authorization\"", "\"2026-01-01T00:00:00Z\"", "sha-256=:abc=:", ", ,", "\"\"",
    ];

    public static readonly string[] JsonTokens =
    [
        "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "\\udc00", "\\u0000", "null", "true", "false", "-", "0", "1e400", "-0",
        "1.5", "99999999999999999999999999999999", "\"amount\":", "\"status\":", "\"id\":", "\"code\":-32042", "\"challenges\":[", "\"_meta\":",
        "\"result\":", "\"error\":", "\"0x\"", "\"0x1\"", "\"0xzz\"", "\u00e9", "\u2615", "\ufeff", "\n", "\r\n", "event: ", "data: ", ": ",
        "\n\n", "\r", "payment-need-voucher", "payment-receipt",
    ];

    public static readonly string[] Names =
    [
        "status", "method", "timestamp", "reference", "externalId", "challengeId", "type", "title", "detail", "instance", "jsonrpc", "id",
        "error", "code", "message", "data", "challenges", "problem", "failure", "reason", "result", "_meta", "org.paymentauth/receipt",
        "org.paymentauth/payment-required", "channelId", "requiredCumulative", "acceptedCumulative", "deposit", "tx", "gas",
        "maxFeePerGas", "maxPriorityFeePerGas", "feeToken", "logs", "topics", "address", "transactionHash", "timestamp", "baseFeePerGas",
        "amount", "currency", "recipient", "methodDetails", "chainId", "feePayer", "splits", "memo", "supportedModes", "escrowContract",
        "sessionProtocol", "suggestedDeposit", "operator", "networkId", "realm", "intent", "request", "expires", "httpStatus",
    ];

    public static readonly string[] Texts =
    [
        "success", "tempo", "charge", "session", "stripe", "v2", "0x539", "0x1", "0x0", "0x", "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "0x20c0000000000000000000000000000000000000", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x4d50500000000000000000000000000000000000",
        "0xd641949e6399464508c6e85c1044211ba8934615fdeb78d70da10dbbf5adc2bf", "2026-01-01T00:05:00.000Z", "2026-13-45T99:99:99Z", "1000000",
        "-1", "1e3", "https://paymentauth.org/problems/payment-required", "https://paymentauth.org/problems/verification-failed", "about:blank",
        "eyJhbW91bnQiOiIxMDAwIn0", "\ud800", "a\u0000b", "\u00e9\u2615", "",
    ];

    /// <summary>Mutants of <paramref name="seeds"/> (four in five) and fresh inputs from <paramref name="fresh"/>.</summary>
    public static Gen<byte[]> Of(IReadOnlyList<byte[]> seeds, string[] tokens, Gen<byte[]> fresh)
        => Gen.Frequency((4, Mutants(seeds, tokens)), (1, fresh));

    public static Gen<byte[]> Mutants(IReadOnlyList<byte[]> seeds, string[] tokens)
    {
        var tokenBytes = tokens.Select(Encoding.UTF8.GetBytes).ToArray();
        var payload = Gen.OneOf(Gen.OneOf(tokenBytes), Gen.Byte.Array[1, 6]);
        var edit = Gen.Select(Gen.Int[0, 8], Gen.Int[0, int.MaxValue], Gen.Int[1, 64], payload, (kind, at, length, bytes) => new Edit(kind, at, length, bytes));
        return Gen.Select(Gen.Int[0, seeds.Count - 1], edit.Array[1, 6], (i, edits) => Apply(seeds, seeds[i], edits));
    }

    public static byte[] Apply(IReadOnlyList<byte[]> seeds, byte[] seed, Edit[] edits)
    {
        var data = new List<byte>(seed);
        foreach (var e in edits)
        {
            var at = data.Count == 0 ? 0 : e.At % (data.Count + 1);
            var end = Math.Min(data.Count, at + e.Length);
            switch (e.Kind)
            {
                case 0:
                    data.InsertRange(at, e.Bytes);
                    break;
                case 1:
                    data.RemoveRange(at, end - at);
                    break;
                case 2 when at < data.Count:
                    data[at] = e.Bytes[0];
                    break;
                case 3 when end > at:
                    var slice = data.GetRange(at, end - at);
                    data.InsertRange((e.At / 7) % (data.Count + 1), slice);
                    break;
                case 4:
                    data.RemoveRange(at, data.Count - at);
                    break;
                case 5 when end > at:
                    var repeated = data.GetRange(at, end - at);
                    for (var r = 0; r < 2 + (e.Bytes[0] % 7); r++)
                    {
                        data.InsertRange(at, repeated);
                    }

                    break;
                case 6 when data.Count > 1:
                    var other = (e.At / 3) % data.Count;
                    (data[Math.Min(at, data.Count - 1)], data[other]) = (data[other], data[Math.Min(at, data.Count - 1)]);
                    break;
                case 7:
                    for (var r = 0; r < e.Length; r++)
                    {
                        data.InsertRange(at, e.Bytes);
                    }

                    break;
                default:
                    var donor = seeds[e.At % seeds.Count];
                    var from = e.Length % Math.Max(1, donor.Length);
                    data.InsertRange(at, donor.Skip(from).Take(e.Length * 4));
                    break;
            }
        }

        return [.. data];
    }

    /// <summary>A JSON value from the protocol's vocabulary, nested up to <paramref name="depth"/> deep; sometimes not quite JSON.</summary>
    public static Gen<string> Json(int depth)
    {
        var text = Gen.OneOf(Gen.OneOf(Texts), Gen.String[Gen.Char[' ', '\u00ff'], 0, 12]).Select(s => JsonSerializer.Serialize(s));
        var scalar = Gen.OneOf(
            text,
            Gen.OneOf("null", "true", "false", "0", "-1", "1e400", "-0", "0.5", "123456789012345678901234567890", "\"\\ud800\"", "\"\\u0000x\"", "-32042", "-32043", "402"),
            Gen.Long.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (depth == 0)
        {
            return scalar;
        }

        var inner = Json(depth - 1);
        var member = Gen.Select(Gen.OneOf(Gen.OneOf(Names), Gen.String[Gen.Char.AlphaNumeric, 0, 6]), inner, (n, v) => JsonSerializer.Serialize(n) + ":" + v);
        var obj = member.Array[0, 6].Select(m => "{" + string.Join(",", m) + "}");
        var array = inner.Array[0, 5].Select(a => "[" + string.Join(",", a) + "]");
        return Gen.Frequency((3, scalar), (3, obj), (1, array));
    }

    /// <summary>A JSON object (the usual shape of every document here), as UTF-8.</summary>
    public static Gen<byte[]> JsonObject { get; } = Gen.Select(Gen.OneOf(Gen.OneOf(Names)).Select(n => JsonSerializer.Serialize(n)), Json(3), (n, v) => (n, v))
        .Array[0, 8].Select(m => Encoding.UTF8.GetBytes("{" + string.Join(",", m.Select(x => x.n + ":" + x.v)) + "}"));

    /// <summary><c>WWW-Authenticate</c> values built from schemes, parameters, quoted strings and separators.</summary>
    public static Gen<byte[]> Header { get; } = HeaderGen();

    /// <summary>An SSE stream of event, data, id and comment lines with every line ending.</summary>
    public static Gen<byte[]> EventStream { get; } = EventStreamGen();

    private static Gen<byte[]> HeaderGen()
    {
        var quoted = Gen.String[Gen.OneOf(Gen.Char[' ', '~'], Gen.OneOf('\\', '"', '\t', '\u00e9', '\u0001')), 0, 24].Select(s => "\"" + s + "\"");
        var token = Gen.String[Gen.Char.AlphaNumeric, 1, 10];
        var name = Gen.OneOf(Gen.OneOf("id", "realm", "method", "intent", "request", "expires", "description", "digest", "opaque", "header", "ID", "Request"), token);
        var value = Gen.OneOf(quoted, token, Gen.OneOf("\"tempo\"", "\"charge\"", "\"e30\"", "\"eyJhIjoxfQ\"", "\"2026-01-01T00:00:00Z\"", "\"Payment-Authorization\"", "=="));
        var parameter = Gen.Select(name, Gen.OneOf("=", " = ", "="), value, (n, eq, v) => n + eq + v);
        var scheme = Gen.OneOf("Payment", "payment", "PAYMENT", "Bearer", "Basic", "Digest", "Payment,", "");
        var challenge = Gen.Select(scheme, parameter.Array[0, 8], Gen.OneOf(", ", ",", " ", ",,", " ,\t"), (s, p, sep) => s + " " + string.Join(sep, p));
        return Gen.Select(challenge.Array[1, 4], Gen.OneOf(", ", "\n"), (c, separator) => Encoding.Latin1.GetBytes(string.Join(separator, c)));
    }

    private static Gen<byte[]> EventStreamGen()
    {
        var eol = Gen.OneOf("\n", "\r", "\r\n");
        var line = Gen.Frequency(
            (3, Json(2).Select(j => "data: " + j)),
            (2, Gen.OneOf("event: message", "event: payment-need-voucher", "event: payment-receipt", "event:payment-need-voucher", "event")),
            (1, Gen.OneOf(": keep-alive", ":", "id: 7", "id", "retry: 100", "data", "data:", "data:  two spaces")),
            (1, Gen.Const(string.Empty)));
        return Gen.Select(line, eol, (l, e) => l + e).Array[0, 16].Select(lines => Encoding.UTF8.GetBytes(string.Concat(lines)));
    }
}

using System.Text;
using Mpp.Client.Protocol;
using Mpp.Client.Tests.Vectors;

namespace Mpp.Client.Tests.Protocol;

/// <summary>
/// Feeds deterministically corrupted inputs to the parsers. Each must parse or throw
/// <see cref="MppProtocolException"/>; any other exception escapes and fails the test, because the
/// parsers have no catch-all that could hide it.
/// </summary>
public sealed class ParserMutationTests
{
    private const int Seed = 20261120;
    private const int ChallengeIterations = 100_000;
    private static readonly TimeSpan OverallLimit = TimeSpan.FromMinutes(5);

    private static readonly string[] Interesting =
    [
        "\"", "\\", ",", "=", " ", "\t", "Payment ", "payment", "Bearer ", "id=", "\\u", "\\u00", "\u0000", "\r\n", "\u00ff", "\u2615",
        "\ud83d", "==", "e30", "request=\"", "expires=\"2026-01-01T00:00:00Z\"", "header=\"Payment-Authorization\"", "\"\"", ", ,",
    ];

    [Test]
    public void One_hundred_thousand_corrupted_challenge_headers_either_parse_or_throw_the_documented_exception()
    {
        var charge = ReferenceVectors.Load("charge.json").Str("challenge", "wwwAuthenticate");
        string[] seeds =
        [
            charge,
            "Bearer realm=\"api\", error=\"invalid_token\", " + charge + ", Basic dXNlcjpwYXNz==",
            charge + ", " + charge.Replace("charge", "session", StringComparison.Ordinal) + ", header=\"Payment-Authorization\", opaque=\"eyJrIjoidiJ9\", digest=\"sha-256=:abc=:\"",
            "Payment id=ch, realm=r, method=tempo, intent=charge, request=eyJhIjpbMSx7ImIiOiJcdTAwZTkifV19",
        ];

        var counts = Run(seed => CorruptChallenge(seeds, seed), ChallengeIterations, input =>
        {
            var parsed = 0;
            try
            {
                var challenge = PaymentChallenge.Parse(input);
                parsed = 1;
                _ = challenge.Request; // validated at parse time: decoding must not fail later
                try
                {
                    var again = PaymentChallenge.Parse(challenge.ToHeaderValue());
                    Assert.That(again.ToJson(), Is.EqualTo(challenge.ToJson()), input);
                }
                catch (MppProtocolException ex) when (ex.Kind == MppProtocolErrorKind.Format)
                {
                    // A \u escape can decode to a control character that may not be written back; that is a format refusal.
                }
            }
            catch (MppProtocolException)
            {
            }

            var all = PaymentChallenge.ParseAll([input, input]);
            Assert.That(all.Challenges.Count + all.Errors.Count, Is.LessThanOrEqualTo(input.Length + 1), "at most one challenge or error per character");
            return parsed;
        });

        TestContext.Out.WriteLine($"{counts.Parsed} of {ChallengeIterations} corrupted headers still parsed; the rest threw MppProtocolException.");
        Assert.That(counts.Parsed, Is.GreaterThan(1_000), "the corpus should keep a share of valid inputs, or the test proves little");
        Assert.That(counts.Parsed, Is.LessThan(ChallengeIterations - 1_000), "the corpus should mostly be invalid, or the test proves little");
    }

    [Test]
    public void Corrupted_credentials_and_receipts_either_parse_or_throw_the_documented_exception()
    {
        var vector = ReferenceVectors.Load("charge.json");
        var credential = vector.Str("credential", "authorization");
        var receipt = vector.Str("exampleReceipt", "paymentReceiptHeader");
        var credentialJson = Encoding.UTF8.GetString(Base64UrlCodec.Decode(credential["Payment ".Length..]));
        var receiptJson = Encoding.UTF8.GetString(Base64UrlCodec.Decode(receipt));

        var counts = Run(seed =>
        {
            var random = new Random(seed);
            return random.Next(4) switch
            {
                0 => Mutate(random, credential),
                1 => "Payment " + Base64UrlCodec.Encode(Encoding.UTF8.GetBytes(Mutate(random, credentialJson))),
                2 => Mutate(random, receipt),
                _ => Base64UrlCodec.Encode(Encoding.UTF8.GetBytes(Mutate(random, receiptJson))),
            };
        }, 20_000, input =>
        {
            var parsed = 0;
            try
            {
                if (input.StartsWith("Payment", StringComparison.Ordinal))
                {
                    parsed = PaymentCredential.Parse(input).ToHeaderValue().Length > 0 ? 1 : 0;
                }
                else
                {
                    parsed = PaymentReceipt.Parse(input).ToHeaderValue().Length > 0 ? 1 : 0;
                }
            }
            catch (MppProtocolException)
            {
            }

            try
            {
                _ = PaymentProblem.Parse(input);
            }
            catch (MppProtocolException)
            {
            }

            return parsed;
        });

        Assert.That(counts.Parsed, Is.GreaterThan(100));
    }

    private static (int Parsed, int Total) Run(Func<int, string> makeInput, int iterations, Func<string, int> check)
    {
        var task = Task.Run(() =>
        {
            var parsed = 0;
            for (var i = 0; i < iterations; i++)
            {
                var input = makeInput(Seed + i);
                try
                {
                    parsed += check(input);
                }
                catch (Exception ex) when (ex is not MppProtocolException and not AssertionException)
                {
                    throw new AssertionException($"Input #{i} made the parser throw {ex.GetType().Name}: {Escape(input)}", ex);
                }
            }

            return parsed;
        });
        Assert.That(task.Wait(OverallLimit), Is.True, $"the inputs were not all handled within {OverallLimit} (a hang?)");
        return (task.Result, iterations);
    }

    private static string CorruptChallenge(string[] seeds, int seed)
    {
        var random = new Random(seed);
        return Mutate(random, seeds[random.Next(seeds.Length)]);
    }

    private static string Mutate(Random random, string text)
    {
        var sb = new StringBuilder(text);
        var edits = 1 + random.Next(4);
        for (var e = 0; e < edits; e++)
        {
            var at = sb.Length == 0 ? 0 : random.Next(sb.Length);
            switch (random.Next(7))
            {
                case 0 when sb.Length > 0:
                    sb[at] = (char)random.Next(0, 0x80);
                    break;
                case 1:
                    sb.Insert(at, Interesting[random.Next(Interesting.Length)]);
                    break;
                case 2 when sb.Length > 0:
                    sb.Remove(at, Math.Min(sb.Length - at, 1 + random.Next(12)));
                    break;
                case 3 when sb.Length > 0:
                    var length = Math.Min(sb.Length - at, 1 + random.Next(40));
                    sb.Insert(random.Next(sb.Length), sb.ToString(at, length));
                    break;
                case 4 when sb.Length > 0:
                    sb.Length = at;
                    break;
                case 5 when sb.Length > 1:
                    var other = random.Next(sb.Length);
                    (sb[at], sb[other]) = (sb[other], sb[at]);
                    break;
                default:
                    sb.Insert(at, (char)random.Next(0x20, 0x3000));
                    break;
            }
        }

        return sb.ToString();
    }

    private static string Escape(string input)
    {
        var sb = new StringBuilder();
        foreach (var c in input)
        {
            sb.Append(c is < ' ' or > '~' ? $"\\u{(int)c:x4}" : c.ToString());
        }

        return sb.ToString();
    }
}

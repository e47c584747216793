using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mpp.Client.Protocol;
using Mpp.Client.ReliabilityTests.Chaos;
using Mpp.Client.Tempo;
using Mpp.Client.Testing;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Mpp.Client.ReliabilityTests.Telemetry;

/// <summary>
/// Telemetry as a user collects it: the OpenTelemetry SDK with its in-memory exporters for metrics, traces and logs
/// (logs at Trace, HttpClient's own included), over a real paid charge, a session (open, prepaid vouchers, close), a
/// paid SSE stream, a refused 402, an unknown outcome and a rejected credential on the kit. Checks the README table's
/// instruments (names, units, types, tags) and that no credential, signature, voucher or key of the run appears in any
/// tag, log line, activity or exception message.
/// </summary>
[NonParallelizable]
public sealed class TelemetryTests
{
    /// <summary>The README "Telemetry" table: instrument, unit, kind, and the tags it may carry.</summary>
    private static readonly Dictionary<string, (string Unit, MetricType Type, string[] Tags)> Instruments = new(StringComparer.Ordinal)
    {
        ["mpp.client.payments"] = ("{payment}", MetricType.LongSum, ["mpp.method", "mpp.intent", "mpp.outcome"]),
        ["mpp.client.payment.amount"] = ("{atomic unit}", MetricType.DoubleSum, ["mpp.asset", "mpp.method", "mpp.intent", "mpp.outcome"]),
        ["mpp.client.payment.duration"] = ("s", MetricType.Histogram, ["mpp.method", "mpp.intent", "mpp.outcome"]),
        ["mpp.client.payment.rounds"] = ("{round}", MetricType.Histogram, []),
        ["mpp.client.negotiation.duration"] = ("s", MetricType.Histogram, []),
        ["mpp.client.denials"] = ("{challenge}", MetricType.LongSum, ["mpp.rule"]),
        ["mpp.client.session.vouchers"] = ("{voucher}", MetricType.LongSum, ["mpp.asset", "mpp.outcome"]),
        ["mpp.client.channel.deposits"] = ("{atomic unit}", MetricType.DoubleSum, ["mpp.asset", "mpp.deposit.kind"]),
        ["mpp.client.channel.refunds"] = ("{atomic unit}", MetricType.DoubleSum, ["mpp.asset"]),
    };

    private static readonly string[] ActivityNames = ["mpp.negotiate", "mpp.sign", "mpp.resend", "mpp.prepay"];

    private static readonly string[] ActivityTags = ["mpp.method", "mpp.intent", "mpp.outcome", "http.response.status_code"];

    [Test]
    public async Task Metrics_traces_and_logs_collected_by_the_OpenTelemetry_SDK_match_the_readme_and_never_hold_a_secret()
    {
        var metrics = new List<Metric>();
        var activities = new List<Activity>();
        var logs = new List<LogRecord>();
        using var meters = Sdk.CreateMeterProviderBuilder().AddMeter(MppDiagnostics.MeterName).AddInMemoryExporter(metrics).Build();
        using var traces = Sdk.CreateTracerProviderBuilder().AddSource(MppDiagnostics.ActivitySourceName).AddInMemoryExporter(activities).Build();

        await using var server = await MppTestServer.StartAsync(o =>
        {
            o.Routes["/charge"] = TestRoute.Charge(0.01m);
            o.Routes["/session"] = TestRoute.Session(0.001m, suggestedDeposit: 0.1m);
            o.Routes["/stream"] = TestRoute.Stream(0.0001m, tokens: 4, suggestedDeposit: 0.1m);
            o.Routes["/drop"] = TestRoute.Charge(0.01m).WithHostile(HostileBehavior.DropAfterCredential);
            o.Routes["/forever"] = TestRoute.Charge(0.01m).WithHostile(HostileBehavior.Payment402Forever);
            o.Routes["/expensive"] = TestRoute.Charge(0.01m).WithHostile(HostileBehavior.WrongAmountInChallenge);
        });
        await using var proxy = await FaultProxy.StartAsync(server.BaseAddress, _ => Fault.Forward);
        var payer = server.CreateFundedAccount(5m);
        var thrown = new List<Exception>();
        var channelRefund = System.Numerics.BigInteger.Zero;
        var opened = 0;
        await using (var client = PayingClient.Create(server, payer, new PayingClientOptions
        {
            Server = proxy.BaseAddress,
            Rpc = server.RpcUrl,
            PerRequest = 0.2m,
            Services = s => s.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddOpenTelemetry(o =>
            {
                o.IncludeFormattedMessage = true;
                o.IncludeScopes = true;
                o.AddInMemoryExporter(logs);
            })),
        }))
        {
            using (var charge = await client.Client.GetAsync(new Uri("/charge", UriKind.Relative)))
            {
                Assert.That(charge.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            }

            for (var i = 0; i < 3; i++)
            {
                using var session = await client.Client.GetAsync(new Uri("/session", UriKind.Relative));
                Assert.That(session.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            }

            using (var stream = await client.Sessions.StreamAsync(client.Client, new HttpRequestMessage(HttpMethod.Get, new Uri("/stream", UriKind.Relative))))
            {
                await foreach (var unused in stream)
                {
                }
            }

            using (var refused = await client.Client.GetAsync(new Uri("/expensive", UriKind.Relative)))
            {
                Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.PaymentRequired));
            }

            thrown.Add(Assert.CatchAsync<PaymentOutcomeUnknownException>(() => client.Client.GetAsync(new Uri("/drop", UriKind.Relative)))!);
            thrown.Add(Assert.CatchAsync<PaymentRejectedException>(() => client.Client.GetAsync(new Uri("/forever", UriKind.Relative)))!);
            opened = (await client.ChannelsAsync()).Count;
            foreach (var closed in await client.Sessions.CloseAllAsync())
            {
                Assert.That(closed.Error, Is.Null);
                channelRefund += closed.Result!.RefundedToPayer;
            }
        }

        meters.ForceFlush();
        traces.ForceFlush();

        // The instruments: names, units, kinds and tag keys as the README documents them.
        var emitted = metrics.GroupBy(m => m.Name).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        Assert.That(emitted.Keys, Is.EquivalentTo(Instruments.Keys), "every documented instrument was emitted, and no other");
        foreach (var (name, (unit, type, tags)) in Instruments)
        {
            foreach (var metric in emitted[name])
            {
                Assert.That((metric.Unit, metric.MetricType), Is.EqualTo((unit, type)), name);
                foreach (var point in Points(metric))
                {
                    Assert.That(Tags(point).Select(t => t.Key), Is.SubsetOf(tags), name);
                }
            }
        }

        var asset = TempoAssets.PathUsdOn(server.ChainId).Id.ToString();
        Assert.Multiple(() =>
        {
            Assert.That(Sum(emitted, "mpp.client.payment.amount", ("mpp.intent", "charge"), ("mpp.outcome", "Settled"), ("mpp.asset", asset)), Is.EqualTo(10_000), "spent on the charge");
            Assert.That(Sum(emitted, "mpp.client.payments", ("mpp.outcome", "Unknown")), Is.GreaterThanOrEqualTo(1));
            Assert.That(Sum(emitted, "mpp.client.payments", ("mpp.outcome", "Rejected")), Is.GreaterThanOrEqualTo(1));
            Assert.That(Sum(emitted, "mpp.client.session.vouchers", ("mpp.outcome", "Signed")), Is.GreaterThanOrEqualTo(3 + 4 + 1), "the session calls, the stream tokens, the close");
            Assert.That(Sum(emitted, "mpp.client.channel.deposits", ("mpp.deposit.kind", "open"), ("mpp.asset", asset)), Is.EqualTo(opened * 100_000), "each channel opened with 0.1 (the stream shares the session's channel: same payee and token)");
            Assert.That(Sum(emitted, "mpp.client.channel.refunds", ("mpp.asset", asset)), Is.EqualTo((double)channelRefund));
            Assert.That(Sum(emitted, "mpp.client.denials"), Is.GreaterThanOrEqualTo(1));
            Assert.That(emitted["mpp.client.payment.duration"].SelectMany(Points).Sum(p => p.GetHistogramCount()), Is.GreaterThanOrEqualTo(4));
        });

        // The activities: names and tag keys.
        Assert.That(activities.Select(a => a.OperationName).Distinct(), Is.EquivalentTo(ActivityNames));
        Assert.That(activities.SelectMany(a => a.TagObjects.Select(t => t.Key)).Distinct(), Is.SubsetOf(ActivityTags));

        // The redaction scan: every credential sent, everything in its payload, and the key, against all that was emitted.
        var secrets = Secrets(proxy, payer.PrivateKey);
        Assert.That(secrets, Has.Count.GreaterThan(20), "the run must have produced credentials, signatures and vouchers to look for");
        var text = Everything(metrics, activities, logs, thrown);
        Assert.That(logs.Count(l => l.LogLevel == LogLevel.Trace), Is.GreaterThan(0), "Trace-level logs were captured");
        Assert.That(text, Does.Contain("Paying challenge").And.Contain("Sending HTTP request"), "MppClient's and HttpClient's logs were captured");
        foreach (var secret in secrets)
        {
            Assert.That(text.Contains(secret, StringComparison.OrdinalIgnoreCase), Is.False, $"a secret ({secret[..Math.Min(12, secret.Length)]}…) was emitted");
        }
    }

    private static IEnumerable<MetricPoint> Points(Metric metric)
    {
        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            yield return point;
        }
    }

    private static List<KeyValuePair<string, object?>> Tags(MetricPoint point)
    {
        var tags = new List<KeyValuePair<string, object?>>();
        foreach (var tag in point.Tags)
        {
            tags.Add(tag);
        }

        return tags;
    }

    private static double Sum(Dictionary<string, List<Metric>> emitted, string name, params (string Key, string Value)[] filter)
    {
        var total = 0.0;
        foreach (var point in emitted[name].SelectMany(Points))
        {
            var tags = Tags(point);
            if (filter.All(f => tags.Any(t => t.Key == f.Key && Equals(t.Value?.ToString(), f.Value))))
            {
                total += emitted[name][0].MetricType == MetricType.LongSum ? point.GetSumLong() : point.GetSumDouble();
            }
        }

        return total;
    }

    /// <summary>Every credential header value seen on the wire, its base64url part, every text in its payload, and the key.</summary>
    private static List<string> Secrets(FaultProxy proxy, string privateKey)
    {
        var secrets = new HashSet<string>(StringComparer.Ordinal) { privateKey, privateKey.StartsWith("0x", StringComparison.Ordinal) ? privateKey[2..] : "0x" + privateKey };
        foreach (var header in proxy.Seen.Select(s => s.Request.Authorization).OfType<string>().Where(a => a.StartsWith("Payment ", StringComparison.Ordinal)))
        {
            secrets.Add(header);
            secrets.Add(header["Payment ".Length..]);
            var credential = PaymentCredential.Parse(header);
            foreach (var value in Signed(credential.Payload))
            {
                secrets.Add(value); // signatures, signed transactions, voucher signatures (channel ids and addresses are public)
            }
        }

        return [.. secrets];
    }

    /// <summary>The payload's signatures and signed transactions, wherever they sit.</summary>
    private static IEnumerable<string> Signed(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p =>
            p.Name is "signature" or "transaction" && p.Value.ValueKind == JsonValueKind.String ? [p.Value.GetString()!] : Signed(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(Signed),
        _ => [],
    };

    private static string Everything(List<Metric> metrics, List<Activity> activities, List<LogRecord> logs, List<Exception> thrown)
    {
        var text = new StringBuilder();
        foreach (var metric in metrics)
        {
            text.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"{metric.Name} {metric.Description} {metric.Unit}");
            foreach (var point in Points(metric))
            {
                text.AppendJoin(' ', Tags(point).Select(t => $"{t.Key}={t.Value}")).AppendLine();
            }
        }

        foreach (var activity in activities)
        {
            text.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"{activity.OperationName} {activity.DisplayName} {activity.StatusDescription}");
            text.AppendJoin(' ', activity.TagObjects.Select(t => $"{t.Key}={t.Value}")).AppendLine();
            text.AppendJoin(' ', activity.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name} {t.Key}={t.Value}"))).AppendLine();
        }

        foreach (var log in logs)
        {
            text.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"{log.LogLevel} {log.CategoryName} {log.EventId} {log.FormattedMessage} {log.Body}");
            text.AppendJoin(' ', (log.Attributes ?? []).Select(a => $"{a.Key}={a.Value}")).AppendLine();
            log.ForEachScope((scope, builder) =>
            {
                foreach (var item in scope)
                {
                    builder.Append(item.Key).Append('=').Append(item.Value).Append(' ');
                }

                builder.AppendLine();
            }, text);
            text.AppendLine(log.Exception?.ToString());
        }

        foreach (var exception in thrown)
        {
            text.AppendLine(exception.ToString());
        }

        return text.ToString();
    }
}

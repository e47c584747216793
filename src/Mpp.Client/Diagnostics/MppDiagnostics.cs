using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Mpp.Client;

/// <summary>The names of MppClient's telemetry: one <see cref="Meter"/> and one <see cref="ActivitySource"/>.</summary>
public static class MppDiagnostics
{
    /// <summary>The meter name, <c>Mpp.Client</c>.</summary>
    public const string MeterName = "Mpp.Client";

    /// <summary>The activity source name, <c>Mpp.Client</c>.</summary>
    public const string ActivitySourceName = "Mpp.Client";

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);
}

/// <summary>The instruments. Tags are low-cardinality: method, intent, outcome, asset, rule. Never a credential or an amount's payer.</summary>
internal sealed class MppMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _payments;
    private readonly Counter<double> _amount;
    private readonly Counter<long> _denials;
    private readonly Histogram<int> _rounds;
    private readonly Histogram<double> _overhead;

    public MppMetrics(IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(MppDiagnostics.MeterName) ?? new Meter(MppDiagnostics.MeterName);
        _payments = _meter.CreateCounter<long>("mpp.client.payments", "{payment}", "Credentials sent, by method, intent and outcome.");
        _amount = _meter.CreateCounter<double>("mpp.client.payment.amount", "{atomic unit}", "Amounts paid and settled, in atomic units of each asset.");
        _denials = _meter.CreateCounter<long>("mpp.client.denials", "{challenge}", "Challenges not paid, by rule.");
        _rounds = _meter.CreateHistogram<int>("mpp.client.payment.rounds", "{round}", "Credentials sent per paid call.");
        _overhead = _meter.CreateHistogram<double>("mpp.client.negotiation.duration", "ms", "Time the handler spends negotiating a 402 (parse, select, policy, reserve, encode), excluding signing and the network.");
    }

    public void Payment(string method, string intent, PaymentOutcome outcome)
    {
        if (_payments.Enabled)
        {
            _payments.Add(1, new("mpp.method", method), new("mpp.intent", intent), new("mpp.outcome", outcome.ToString()));
        }
    }

    public void Amount(AssetAmount amount)
    {
        if (_amount.Enabled)
        {
            _amount.Add((double)amount.Units, new KeyValuePair<string, object?>("mpp.asset", amount.Asset.ToString()));
        }
    }

    public void Denial(string rule)
    {
        if (_denials.Enabled)
        {
            _denials.Add(1, new KeyValuePair<string, object?>("mpp.rule", rule));
        }
    }

    public void Rounds(int rounds)
    {
        if (_rounds.Enabled)
        {
            _rounds.Record(rounds);
        }
    }

    public void Overhead(TimeSpan elapsed)
    {
        if (_overhead.Enabled)
        {
            _overhead.Record(elapsed.TotalMilliseconds);
        }
    }

    public void Dispose() => _meter.Dispose();
}

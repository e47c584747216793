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

    /// <summary>The <c>Mpp.Client</c> meter, from the host's factory when there is one.</summary>
    internal static Meter CreateMeter(IMeterFactory? meterFactory) => meterFactory?.Create(MeterName) ?? new Meter(MeterName);
}

/// <summary>
/// The instruments (README "Telemetry" lists them). Tags are low-cardinality: method, intent, outcome, asset, rule. Never
/// a credential, a payer, a challenge id or an amount as a tag.
/// </summary>
internal sealed class MppMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _payments;
    private readonly Counter<double> _amount;
    private readonly Counter<long> _denials;
    private readonly Histogram<int> _rounds;
    private readonly Histogram<double> _overhead;
    private readonly Histogram<double> _duration;

    public MppMetrics(IMeterFactory? meterFactory)
    {
        _meter = MppDiagnostics.CreateMeter(meterFactory);
        _payments = _meter.CreateCounter<long>("mpp.client.payments", "{payment}", "Credentials sent, by method, intent and outcome.");
        _amount = _meter.CreateCounter<double>("mpp.client.payment.amount", "{atomic unit}", "Amounts of the credentials sent, in atomic units of each asset, by outcome: Settled is spent; Unknown and Rejected stay counted by the budget.");
        _denials = _meter.CreateCounter<long>("mpp.client.denials", "{challenge}", "Challenges not paid, by rule.");
        _rounds = _meter.CreateHistogram<int>("mpp.client.payment.rounds", "{round}", "Credentials sent per paid call.");
        _overhead = _meter.CreateHistogram<double>("mpp.client.negotiation.duration", "s", "Time the handler spends negotiating a 402 (parse, select, policy, reserve, encode), excluding signing and the network.");
        _duration = _meter.CreateHistogram<double>("mpp.client.payment.duration", "s", "Time from a 402 (for a prepaid session call, from the request) to the answer to the credential sent for it: negotiation, signing and the paid round trip.");
    }

    /// <summary>
    /// One credential sent and how it ended: counted, its amount added to the asset's total for that outcome, and the time
    /// since its 402 (or, prepaid, since the request) recorded.
    /// </summary>
    public void Payment(PaymentQuote quote, PaymentOutcome outcome, TimeSpan elapsed)
    {
        var challenge = quote.Challenge;
        var method = new KeyValuePair<string, object?>("mpp.method", challenge.Method);
        var intent = new KeyValuePair<string, object?>("mpp.intent", challenge.Intent);
        var result = new KeyValuePair<string, object?>("mpp.outcome", outcome.ToString());
        if (_payments.Enabled)
        {
            _payments.Add(1, method, intent, result);
        }

        if (_amount.Enabled)
        {
            _amount.Add((double)quote.Amount.Units, new("mpp.asset", quote.Amount.Asset.ToString()), method, intent, result);
        }

        if (_duration.Enabled)
        {
            _duration.Record(elapsed.TotalSeconds, method, intent, result);
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
            _overhead.Record(elapsed.TotalSeconds);
        }
    }

    public void Dispose() => _meter.Dispose();
}

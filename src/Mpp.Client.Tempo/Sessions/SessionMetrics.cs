using System.Diagnostics.Metrics;
using System.Numerics;

namespace Mpp.Client.Tempo;

/// <summary>
/// The session instruments, on the <c>Mpp.Client</c> meter beside the payment handler's (README "Telemetry"): vouchers
/// signed and refused, deposits locked in channels (opens and top-ups), refunds on close. Tagged by asset and kind only.
/// </summary>
internal sealed class SessionMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _vouchers;
    private readonly Counter<double> _deposits;
    private readonly Counter<double> _refunds;

    public SessionMetrics(IMeterFactory? meterFactory)
    {
        _meter = MppDiagnostics.CreateMeter(meterFactory);
        _vouchers = _meter.CreateCounter<long>("mpp.client.session.vouchers", "{voucher}", "Session vouchers signed, and vouchers the server refused, by asset.");
        _deposits = _meter.CreateCounter<double>("mpp.client.channel.deposits", "{atomic unit}", "Deposits locked in payment channels (open and top-up), in atomic units of each asset.");
        _refunds = _meter.CreateCounter<double>("mpp.client.channel.refunds", "{atomic unit}", "Deposits returned to the payer when channels closed, in atomic units of each asset.");
    }

    public void VoucherSigned(SessionChannel channel) => Voucher(channel, "Signed");

    public void VoucherRejected(SessionChannel channel) => Voucher(channel, "Rejected");

    /// <summary>A deposit the chain or the server confirmed: <paramref name="kind"/> is <c>open</c> or <c>topUp</c>.</summary>
    public void Deposit(SessionChannel channel, BigInteger units, string kind)
    {
        if (_deposits.Enabled && units.Sign > 0)
        {
            _deposits.Add((double)units, new("mpp.asset", Asset(channel)), new KeyValuePair<string, object?>("mpp.deposit.kind", kind));
        }
    }

    public void Refund(SessionChannel channel, BigInteger units)
    {
        if (_refunds.Enabled && units.Sign > 0)
        {
            _refunds.Add((double)units, new KeyValuePair<string, object?>("mpp.asset", Asset(channel)));
        }
    }

    public void Dispose() => _meter.Dispose();

    private void Voucher(SessionChannel channel, string outcome)
    {
        if (_vouchers.Enabled)
        {
            _vouchers.Add(1, new("mpp.asset", Asset(channel)), new KeyValuePair<string, object?>("mpp.outcome", outcome));
        }
    }

    private static string Asset(SessionChannel channel) => AssetId.Token(channel.ChainId, channel.Token.ToLowerInvariant()).ToString();
}

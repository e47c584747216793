using System.Globalization;
using System.Numerics;

namespace Mpp.Client;

/// <summary>A catalogued asset: its identity, a display symbol and the number of decimals of one whole unit.</summary>
/// <param name="Id">The identity.</param>
/// <param name="Symbol">A display symbol; never used to identify the asset.</param>
/// <param name="Decimals">Digits after the decimal point of one whole unit (2 for USD cents, 6 for pathUSD).</param>
public sealed record Asset(AssetId Id, string Symbol, int Decimals)
{
    /// <summary>Converts a decimal display amount (for example <c>0.05</c>) to atomic units.</summary>
    /// <param name="amount">The display amount, not negative, with at most <see cref="Decimals"/> decimals.</param>
    /// <returns>The amount in atomic units.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The amount is negative or has more decimals than the asset.</exception>
    public BigInteger ToAtomic(decimal amount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        var scaled = amount;
        for (var i = 0; i < Decimals; i++)
        {
            scaled *= 10;
        }

        if (decimal.Truncate(scaled) != scaled)
        {
            throw new ArgumentOutOfRangeException(nameof(amount), amount, $"{Symbol} has {Decimals} decimals; {amount.ToString(CultureInfo.InvariantCulture)} has more.");
        }

        return new BigInteger(scaled);
    }

    /// <summary>Formats atomic units as a display amount, e.g. <c>0.01 pathUSD</c>.</summary>
    /// <param name="atomic">The amount in atomic units.</param>
    /// <returns>The display text.</returns>
    public string Format(BigInteger atomic)
    {
        var negative = atomic.Sign < 0;
        var digits = BigInteger.Abs(atomic).ToString(CultureInfo.InvariantCulture).PadLeft(Decimals + 1, '0');
        var whole = digits[..^Decimals];
        var fraction = Decimals > 0 ? digits[^Decimals..].TrimEnd('0') : string.Empty;
        return (negative ? "-" : string.Empty) + whole + (fraction.Length > 0 ? "." + fraction : string.Empty) + " " + Symbol;
    }
}

/// <summary>Fiat currencies, for card and Stripe payments.</summary>
public static class FiatAssets
{
    /// <summary>US dollars, in cents.</summary>
    public static Asset Usd { get; } = new(AssetId.Fiat("usd"), "USD", 2);

    /// <summary>Euros, in cents.</summary>
    public static Asset Eur { get; } = new(AssetId.Fiat("eur"), "EUR", 2);
}

using System.Globalization;
using System.Text;

namespace Mpp.Client.Protocol;

/// <summary>One <c>Accept-Payment</c> range: a method and intent (either may be <c>*</c>) and a quality from 0 to 1.</summary>
/// <param name="Method">A payment method id (lowercase letters) or <c>*</c>.</param>
/// <param name="Intent">An intent or <c>*</c>.</param>
/// <param name="Quality">The preference, 0 (refuse) to 1, with at most three decimals.</param>
public readonly record struct AcceptPaymentRange(string Method, string Intent, decimal Quality = 1m)
{
    /// <summary>Formats the range, e.g. <c>tempo/charge</c> or <c>stripe/*;q=0.5</c>.</summary>
    /// <returns>The range text.</returns>
    /// <exception cref="ArgumentException">A part is invalid.</exception>
    public override string ToString()
    {
        Validate();
        var text = Method + "/" + Intent;
        return Quality == 1m ? text : text + ";q=" + Quality.ToString("0.###", CultureInfo.InvariantCulture);
    }

    internal void Validate()
    {
        if (Method != "*" && (string.IsNullOrEmpty(Method) || !Method.All(static c => c is >= 'a' and <= 'z')))
        {
            throw new ArgumentException($"'{Method}' is not a payment method id (lowercase letters) or '*'.", nameof(Method));
        }

        if (Intent != "*" && (string.IsNullOrEmpty(Intent) || !Intent.All(static c => char.IsAsciiLetterOrDigit(c) || c == '-')))
        {
            throw new ArgumentException($"'{Intent}' is not an intent or '*'.", nameof(Intent));
        }

        if (Quality is < 0m or > 1m || decimal.Round(Quality, 3) != Quality)
        {
            throw new ArgumentException("The quality must be between 0 and 1 with at most three decimals.", nameof(Quality));
        }
    }
}

/// <summary>Formats the <c>Accept-Payment</c> request header (a hint; the server's challenge stays authoritative).</summary>
public static class AcceptPaymentHeader
{
    /// <summary>Formats ranges in the order given, e.g. <c>tempo/charge, tempo/session, stripe/charge;q=0.5</c>.</summary>
    /// <param name="ranges">The ranges.</param>
    /// <returns>The field value.</returns>
    /// <exception cref="ArgumentException">No range was given, or one is invalid.</exception>
    public static string Format(IEnumerable<AcceptPaymentRange> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        var sb = new StringBuilder();
        foreach (var range in ranges)
        {
            if (sb.Length > 0)
            {
                sb.Append(", ");
            }

            sb.Append(range.ToString());
        }

        return sb.Length > 0 ? sb.ToString() : throw new ArgumentException("At least one range is required.", nameof(ranges));
    }
}

using System.Globalization;
using Microsoft.Extensions.Options;

namespace Mpp.Client;

/// <summary>Checks <see cref="MppPaymentOptions"/> at start-up; each message names the HttpClient and the setting, and says how to fix it.</summary>
internal sealed class MppPaymentOptionsValidator : IValidateOptions<MppPaymentOptions>
{
    public ValidateOptionsResult Validate(string? name, MppPaymentOptions options)
    {
        var client = string.IsNullOrEmpty(name) ? "(default)" : name;
        var failures = new List<string>();
        void Fail(string setting, string problem) => failures.Add($"MPP payments for HttpClient '{client}': {setting} {problem}");

        if (options.MaxPaymentRounds is < 1 or > 10)
        {
            Fail(nameof(options.MaxPaymentRounds), $"is {options.MaxPaymentRounds}; use 1 to 10.");
        }

        if (options.MaxBufferedRequestBytes is < 0 or > int.MaxValue)
        {
            Fail(nameof(options.MaxBufferedRequestBytes), $"is {options.MaxBufferedRequestBytes}; use 0 to {int.MaxValue}.");
        }

        if (options.MaxRedirects is < 0 or > 50)
        {
            Fail(nameof(options.MaxRedirects), $"is {options.MaxRedirects}; use 0 to 50.");
        }

        if (options.ExpiryMargin < TimeSpan.Zero || options.ExpiryMargin > TimeSpan.FromHours(1))
        {
            Fail(nameof(options.ExpiryMargin), "must be between zero and one hour.");
        }

        foreach (var preferred in options.PreferredMethods)
        {
            if (string.IsNullOrWhiteSpace(preferred) || preferred.Split('/').Length > 2)
            {
                Fail(nameof(options.PreferredMethods), $"has '{preferred}'; use 'method' or 'method/intent', e.g. 'tempo/charge'.");
            }
        }

        if (options.Budget.Limits.Count == 0 && !options.DryRun)
        {
            Fail("Budget", "has no limits, so nothing could be paid; add one, e.g. o.Budget.Limit(FiatAssets.Usd, perRequest: 0.50m, total: 10m).");
        }

        var seen = new HashSet<AssetId>();
        for (var i = 0; i < options.Budget.Limits.Count; i++)
        {
            var limit = options.Budget.Limits[i];
            var setting = $"Budget.Limits[{i}]";
            if (!AssetId.TryParse(limit.Asset, out var asset))
            {
                Fail(setting + ".Asset", $"'{limit.Asset}' is not an asset id; use eip155:<chainId>/<address> or fiat:<code>.");
                continue;
            }

            if (!seen.Add(asset))
            {
                Fail(setting + ".Asset", $"repeats {asset}; give each asset one set of limits.");
            }

            if (limit.Decimals is < 0 or > 36)
            {
                Fail(setting + ".Decimals", $"is {limit.Decimals}; use the asset's decimals (0 to 36).");
                continue;
            }

            if (limit.PerRequest is null && limit.Total is null && limit.PerHost is null && limit.Windows.Count == 0)
            {
                Fail(setting, $"sets no limit for {asset}; set PerRequest, Total, PerHost or a window.");
            }

            CheckAmount(setting + ".PerRequest", limit.PerRequest, limit.Decimals);
            CheckAmount(setting + ".PerHost", limit.PerHost, limit.Decimals);
            CheckAmount(setting + ".Total", limit.Total, limit.Decimals);
            if (limit.PerRequest > limit.Total)
            {
                Fail(setting + ".PerRequest", $"({limit.PerRequest}) is larger than Total ({limit.Total}).");
            }

            for (var w = 0; w < limit.Windows.Count; w++)
            {
                var window = limit.Windows[w];
                if (window.Period <= TimeSpan.Zero || window.Period > LedgerBook.RetainedHistory)
                {
                    Fail($"{setting}.Windows[{w}].Period", $"is {window.Period}; use more than zero and at most {LedgerBook.RetainedHistory.TotalDays} days.");
                }

                CheckAmount($"{setting}.Windows[{w}].Max", window.Max, limit.Decimals);
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void CheckAmount(string setting, decimal? amount, int decimals)
        {
            if (amount is not { } value)
            {
                return;
            }

            if (value < 0)
            {
                Fail(setting, $"is negative ({value.ToString(CultureInfo.InvariantCulture)}).");
            }
            else if (decimal.Round(value, Math.Min(decimals, 28)) != value)
            {
                Fail(setting, $"({value.ToString(CultureInfo.InvariantCulture)}) has more decimals than the asset's {decimals}.");
            }
        }
    }
}

namespace Mpp.Client;

/// <summary>The built-in checks, driven by <see cref="MppPaymentOptions"/>: allow-lists, expiry, a limit for the asset, the per-request limit.</summary>
internal static class BuiltInPolicy
{
    public static PaymentDecision Evaluate(PaymentQuote quote, PaymentContext context, MppPaymentOptions options, DateTimeOffset now)
    {
        var challenge = quote.Challenge;
        if (options.AllowedHosts.Count > 0 && !options.AllowedHosts.Any(pattern => HostMatches(pattern, context.Host)))
        {
            return PaymentDecision.Deny("policy.host", $"The host {context.Host} is not in AllowedHosts.");
        }

        if (options.AllowedMethods.Count > 0 && !options.AllowedMethods.Contains(challenge.Method, StringComparer.Ordinal))
        {
            return PaymentDecision.Deny("policy.method", $"The method {challenge.Method} is not in AllowedMethods.");
        }

        if (options.AllowedChainIds.Count > 0 && (quote.ChainId is not { } chain || !options.AllowedChainIds.Contains(chain)))
        {
            return PaymentDecision.Deny("policy.chain", $"The chain {quote.ChainId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"} is not in AllowedChainIds.");
        }

        if (options.AllowedRecipients.Count > 0)
        {
            foreach (var recipient in quote.Recipients)
            {
                if (!options.AllowedRecipients.Contains(recipient, StringComparer.OrdinalIgnoreCase))
                {
                    return PaymentDecision.Deny("policy.recipient", $"The recipient {recipient} is not in AllowedRecipients.");
                }
            }
        }

        if (challenge.IsExpired(now, options.ExpiryMargin))
        {
            return PaymentDecision.Deny("policy.expired", $"The challenge expires at {challenge.ExpiresText}, within the {options.ExpiryMargin.TotalSeconds} s safety margin.");
        }

        var limit = options.Budget.Find(quote.Reserved.Asset);
        if (limit is null || (quote.Amount.Asset != quote.Reserved.Asset && options.Budget.Find(quote.Amount.Asset) is null))
        {
            return PaymentDecision.Deny("budget.no-limit", $"No budget limit is configured for {quote.Reserved.Asset}, so nothing is paid in it.");
        }

        if (limit.PerRequest is { } perRequest && quote.Amount.Units > perRequest)
        {
            return PaymentDecision.Deny("budget.per-request", $"The call costs {quote.Amount.Units} units of {quote.Amount.Asset}; the per-request limit is {perRequest}.");
        }

        return options.RequireApproval ? PaymentDecision.RequireApproval("Every payment of this client needs approval (RequireApproval).") : PaymentDecision.Allow;
    }

    private static bool HostMatches(string pattern, string host)
        => pattern.StartsWith("*.", StringComparison.Ordinal)
            ? host.EndsWith(pattern[1..], StringComparison.OrdinalIgnoreCase) && host.Length > pattern.Length - 1
            : string.Equals(pattern, host, StringComparison.OrdinalIgnoreCase);
}

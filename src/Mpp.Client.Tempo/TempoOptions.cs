using Microsoft.Extensions.Options;

namespace Mpp.Client.Tempo;

/// <summary>How Tempo challenges are paid.</summary>
public enum TempoChargeMode
{
    /// <summary>Sign the transaction and let the server broadcast it (the default; servers should support it).</summary>
    Pull,

    /// <summary>Broadcast the transaction and send its hash, where the challenge allows it (never when fees are sponsored).</summary>
    Push,
}

/// <summary>The Tempo method's settings, validated at start-up.</summary>
public sealed class TempoOptions
{
    /// <summary>Gets or sets the key custody. Required. Use <see cref="PrivateKeySigner.FromEnvironment"/> or your own <see cref="IEvmSigner"/>.</summary>
    public IEvmSigner? Signer { get; set; }

    /// <summary>Gets or sets the chain's JSON-RPC endpoint (gas and fees, chain id checks, broadcasting in push mode). Required.</summary>
    public Uri? RpcUrl { get; set; }

    /// <summary>Gets or sets the chain id every challenge and the RPC endpoint must have; <see langword="null"/> accepts the chain a challenge names, after checking the RPC serves it.</summary>
    public long? ChainId { get; set; }

    /// <summary>Gets the token addresses that may be paid in; empty allows any (the budget still needs a limit for each).</summary>
    public IList<string> AllowedCurrencies { get; } = [];

    /// <summary>Gets or sets the mode.</summary>
    /// <value>The default is <see cref="TempoChargeMode.Pull"/>.</value>
    public TempoChargeMode Mode { get; set; } = TempoChargeMode.Pull;

    /// <summary>Gets or sets the time allowed for one RPC attempt.</summary>
    /// <value>The default is 10 seconds.</value>
    public TimeSpan RpcTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets how many times a transient RPC failure is retried.</summary>
    /// <value>The default is 2.</value>
    public int RpcRetries { get; set; } = 2;

    /// <summary>Gets or sets how long push mode waits for the transaction's receipt.</summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan ReceiptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets an optional client id fingerprinted into the attribution memo.</summary>
    public string? ClientId { get; set; }
}

internal sealed class TempoOptionsValidator : IValidateOptions<TempoOptions>
{
    public ValidateOptionsResult Validate(string? name, TempoOptions options)
    {
        var failures = new List<string>();
        if (options.Signer is null)
        {
            failures.Add("Tempo: Signer is required; e.g. o.Signer = PrivateKeySigner.FromEnvironment(\"MPP_PRIVATE_KEY\").");
        }

        if (options.RpcUrl is not { IsAbsoluteUri: true } url || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add("Tempo: RpcUrl must be an absolute http(s) URL of the chain's JSON-RPC endpoint.");
        }

        if (options.ChainId is <= 0)
        {
            failures.Add($"Tempo: ChainId {options.ChainId} is not a chain id.");
        }

        foreach (var currency in options.AllowedCurrencies)
        {
            if (!EvmAddress.TryParse(currency, out _))
            {
                failures.Add($"Tempo: AllowedCurrencies has '{currency}', which is not a token address.");
            }
        }

        if (options.RpcTimeout <= TimeSpan.Zero || options.ReceiptTimeout <= TimeSpan.Zero || options.RpcRetries is < 0 or > 10)
        {
            failures.Add("Tempo: RpcTimeout and ReceiptTimeout must be positive and RpcRetries 0 to 10.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

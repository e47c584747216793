using Microsoft.Extensions.Options;

namespace Mpp.Client.Tempo;

/// <summary>Settings for Tempo sessions (payment channels), validated at start-up. Amounts are in whole tokens (TIP-20 tokens have 6 decimals).</summary>
public sealed class TempoSessionOptions
{
    /// <summary>Gets or sets the most one channel may lock in the escrow, deposit and top-ups together.</summary>
    /// <value>The default is 10 tokens.</value>
    public decimal MaxDeposit { get; set; } = 10m;

    /// <summary>Gets or sets the deposit (and top-up size) used when the server suggests none; capped by <see cref="MaxDeposit"/>.</summary>
    /// <value>The default is 1 token.</value>
    public decimal DefaultDeposit { get; set; } = 1m;

    /// <summary>
    /// Gets or sets a fixed deposit (and top-up size) for every channel, whatever the server suggests; <see langword="null"/>
    /// follows the server's <c>suggestedDeposit</c> (else <see cref="DefaultDeposit"/>). Always capped by <see cref="MaxDeposit"/> and the budget.
    /// </summary>
    public decimal? Deposit { get; set; }

    /// <summary>Gets escrow addresses accepted besides the canonical TIP-1034 escrow <c>0x4d50…0000</c>.</summary>
    public IList<string> AllowedEscrows { get; } = [];

    /// <summary>Gets or sets whether open channels are closed cooperatively when the host stops (not with <see cref="ChannelSharing.Shared"/>: a fleet's channels outlive one agent).</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool CloseOnShutdown { get; set; } = true;

    /// <summary>Gets or sets how long a cooperative close may take (server answer and the on-chain confirmation).</summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how processes that share a durable channel store (SQLite, PostgreSQL) use one channel. The store leases
    /// each channel to one process at a time, so two processes never sign on a channel at once.
    /// </summary>
    /// <value>The default is <see cref="ChannelSharing.Exclusive"/>.</value>
    public ChannelSharing Sharing { get; set; } = ChannelSharing.Exclusive;

    /// <summary>
    /// Gets or sets how long a channel lease lasts without renewal (the holder renews it every third of this while it runs).
    /// A crashed holder's channel is taken over this long after its last renewal (at once on the same machine).
    /// </summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how long a call waits for a channel another process holds (<see cref="ChannelSharing.Shared"/>) before it is denied (<c>tempo.channel-busy</c>).</summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan LeaseWaitTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>How processes sharing a channel store use one channel.</summary>
public enum ChannelSharing
{
    /// <summary>
    /// A process leases each channel it pays on for as long as it runs (renewed in the background, released when it stops);
    /// another process that finds the channel leased opens a channel of its own. The most throughput: one channel per process.
    /// </summary>
    Exclusive,

    /// <summary>
    /// Processes share channels: each voucher-carrying request leases the channel for its duration and releases it after the
    /// answer; a process that finds the channel leased waits its turn (up to <see cref="TempoSessionOptions.LeaseWaitTimeout"/>).
    /// One deposit for a fleet; requests on one channel are sequenced across the fleet.
    /// </summary>
    Shared,
}

internal sealed class TempoSessionOptionsValidator : IValidateOptions<TempoSessionOptions>
{
    public ValidateOptionsResult Validate(string? name, TempoSessionOptions options)
    {
        var failures = new List<string>();
        // DefaultDeposit above MaxDeposit is not an error: every deposit is capped by MaxDeposit, so lowering only
        // MaxDeposit (the safety knob) just works.
        if (options.MaxDeposit <= 0 || options.DefaultDeposit <= 0)
        {
            failures.Add($"Tempo sessions: MaxDeposit ({options.MaxDeposit}) and DefaultDeposit ({options.DefaultDeposit}) must be positive.");
        }

        if (options.Deposit is { } fixedDeposit && (fixedDeposit <= 0 || fixedDeposit > options.MaxDeposit || decimal.Round(fixedDeposit, 6) != fixedDeposit))
        {
            failures.Add($"Tempo sessions: Deposit ({fixedDeposit}) must be positive, at most MaxDeposit, with at most 6 decimals.");
        }

        if (decimal.Round(options.MaxDeposit, 6) != options.MaxDeposit || decimal.Round(options.DefaultDeposit, 6) != options.DefaultDeposit)
        {
            failures.Add("Tempo sessions: deposits have at most 6 decimals (TIP-20 tokens).");
        }

        foreach (var escrow in options.AllowedEscrows)
        {
            if (!EvmAddress.TryParse(escrow, out _))
            {
                failures.Add($"Tempo sessions: AllowedEscrows has '{escrow}', which is not an address.");
            }
        }

        if (options.CloseTimeout <= TimeSpan.Zero)
        {
            failures.Add("Tempo sessions: CloseTimeout must be positive.");
        }

        if (options.LeaseDuration < TimeSpan.FromMilliseconds(300) || options.LeaseWaitTimeout < TimeSpan.Zero || !Enum.IsDefined(options.Sharing))
        {
            failures.Add($"Tempo sessions: LeaseDuration ({options.LeaseDuration}) must be at least 300 ms, LeaseWaitTimeout ({options.LeaseWaitTimeout}) not negative, and Sharing Exclusive or Shared.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

using System.Numerics;

namespace Mpp.Client;

/// <summary>
/// The budget ledger: reserve → commit / release / keep-as-unknown. A reservation is checked against the
/// limits and recorded atomically, so concurrent callers (and, for durable ledgers, other processes) can
/// never together exceed a limit. Reserved, committed and unknown amounts all count as spent.
/// </summary>
public interface ISpendLedger
{
    /// <summary>Reserves an amount if every limit still allows it.</summary>
    /// <param name="request">What to reserve and under which limits.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>The reservation, or the rule that refused it.</returns>
    ValueTask<ReservationResult> TryReserveAsync(SpendRequest request, CancellationToken cancellationToken);

    /// <summary>The payment settled: the reservation becomes spending.</summary>
    /// <param name="reservation">The reservation.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    /// <returns>A task.</returns>
    ValueTask CommitAsync(SpendReservation reservation, CancellationToken cancellationToken);

    /// <summary>
    /// Part of the reservation was spent and the rest came back (a session channel closed: the payee's settlement is
    /// spent, the refund returns to the budget). The default keeps the whole reservation counted, which is safe but
    /// never gives the refund back.
    /// </summary>
    /// <param name="reservation">The reservation.</param>
    /// <param name="spentUnits">The units spent, from 0 to the reserved amount; the rest is released.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    /// <returns>A task.</returns>
    ValueTask CommitPartAsync(SpendReservation reservation, BigInteger spentUnits, CancellationToken cancellationToken) => CommitAsync(reservation, cancellationToken);

    /// <summary>Nothing left the process: the reservation is returned to the budget.</summary>
    /// <param name="reservation">The reservation.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    /// <returns>A task.</returns>
    ValueTask ReleaseAsync(SpendReservation reservation, CancellationToken cancellationToken);

    /// <summary>The outcome is unknown (or the server refused a credential it could still settle): keep it counted.</summary>
    /// <param name="reservation">The reservation.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    /// <returns>A task.</returns>
    ValueTask MarkUnknownAsync(SpendReservation reservation, CancellationToken cancellationToken);

    /// <summary>Reads what has been spent (reserved, committed and unknown) in a scope.</summary>
    /// <param name="scope">The budget scope, by default the HttpClient name.</param>
    /// <param name="asset">The asset.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The amounts.</returns>
    ValueTask<SpendSummary> GetSummaryAsync(string scope, AssetId asset, CancellationToken cancellationToken);
}

/// <summary>A request to reserve budget.</summary>
/// <param name="Scope">The budget scope (the HttpClient name unless configured).</param>
/// <param name="Host">The host paid, lowercase.</param>
/// <param name="Amount">The amount to reserve (a session's deposit, else the price), counted against per-host, window and total limits.</param>
/// <param name="PerRequestAmount">The price of this call, checked against the per-request limit.</param>
/// <param name="Limit">The limits for the asset.</param>
/// <param name="Reference">A label for the reservation, such as the challenge id.</param>
public sealed record SpendRequest(string Scope, string Host, AssetAmount Amount, BigInteger PerRequestAmount, SpendLimit Limit, string Reference);

/// <summary>An amount held against the budget until it is committed, released or marked unknown.</summary>
/// <param name="Id">The reservation id.</param>
/// <param name="Scope">The budget scope.</param>
/// <param name="Host">The host paid.</param>
/// <param name="Amount">The amount held.</param>
/// <param name="CreatedAt">When it was made.</param>
public sealed record SpendReservation(Guid Id, string Scope, string Host, AssetAmount Amount, DateTimeOffset CreatedAt);

/// <summary>The answer to a reservation attempt.</summary>
public readonly struct ReservationResult
{
    private ReservationResult(SpendReservation? reservation, string? rule, string? reason)
    {
        Reservation = reservation;
        Rule = rule;
        Reason = reason;
    }

    /// <summary>Gets the reservation, when it succeeded.</summary>
    public SpendReservation? Reservation { get; }

    /// <summary>Gets the limit that refused it (<c>budget.per-request</c>, <c>budget.per-host</c>, <c>budget.window</c>, <c>budget.total</c>).</summary>
    public string? Rule { get; }

    /// <summary>Gets the explanation of a refusal.</summary>
    public string? Reason { get; }

    /// <summary>Gets whether the reservation holds.</summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNullWhen(true, nameof(Reservation))]
    [System.Diagnostics.CodeAnalysis.MemberNotNullWhen(false, nameof(Rule), nameof(Reason))]
    public bool Succeeded => Reservation is not null;

    /// <summary>A reservation that holds.</summary>
    /// <param name="reservation">The reservation.</param>
    /// <returns>The result.</returns>
    public static ReservationResult Reserved(SpendReservation reservation) => new(reservation, null, null);

    /// <summary>A refusal.</summary>
    /// <param name="rule">The limit that refused.</param>
    /// <param name="reason">The explanation.</param>
    /// <returns>The result.</returns>
    public static ReservationResult Refused(string rule, string reason) => new(null, rule, reason);
}

/// <summary>What a scope has spent in one asset.</summary>
/// <param name="Reserved">Held by payments in flight.</param>
/// <param name="Committed">Settled.</param>
/// <param name="Unknown">Sent with no known outcome, or refused but still settleable: counted as spent.</param>
public sealed record SpendSummary(BigInteger Reserved, BigInteger Committed, BigInteger Unknown)
{
    /// <summary>Gets everything counted against the limits.</summary>
    public BigInteger Total => Reserved + Committed + Unknown;
}

using System.Collections.Concurrent;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mpp.Client.Protocol;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Charge;
using Mpp.Client.Tempo.Evm;
using Mpp.Client.Tempo.Sessions;
using Mpp.Client.Testing.Chain;

namespace Mpp.Client.Testing;

/// <summary>The outcome of verifying a credential.</summary>
/// <param name="Succeeded">Whether the payment was accepted (and settled on the test ledger).</param>
/// <param name="Receipt">The receipt to return, when accepted.</param>
/// <param name="Problem">The problem details to return with a fresh challenge, when refused.</param>
public sealed record TestVerification(bool Succeeded, PaymentReceipt? Receipt, PaymentProblem? Problem)
{
    /// <summary>Gets the session action (<c>open</c>, <c>voucher</c>, <c>topUp</c>, <c>close</c>), or <see langword="null"/> for a charge.</summary>
    public string? Action { get; init; }

    /// <summary>Gets the session channel id, or <see langword="null"/> for a charge.</summary>
    public string? ChannelId { get; init; }

    /// <summary>Gets whether a unit (or the charge) was billed for the request this credential rode on.</summary>
    public bool Billed { get; init; }
}

/// <summary>
/// The transport-neutral core of the test server: issues HMAC-bound challenges and verifies credentials against the
/// test ledger (an MCP server in tests can use it directly). Verifies Tempo <c>charge</c> (pull transactions, push
/// hashes, zero-amount proofs) and <c>session</c> (open, voucher, topUp, close).
/// </summary>
public sealed class MppTestPayments
{
    private readonly MppTestServerOptions _options;
    private readonly TestTempoLedger _ledger;
    private readonly byte[] _secret;
    private readonly ConcurrentDictionary<string, byte> _usedChallenges = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _claimedHashes = new(StringComparer.Ordinal);
    private long _nonce;

    internal MppTestPayments(MppTestServerOptions options, TestTempoLedger ledger, string payee)
    {
        _options = options;
        _ledger = ledger;
        Payee = EvmAddress.Parse(payee);
        _secret = Encoding.UTF8.GetBytes(options.SecretKey);
        if (_secret.Length < PaymentChallengeId.MinimumSecretLength)
        {
            throw new ArgumentException($"The test server's SecretKey must be at least {PaymentChallengeId.MinimumSecretLength} bytes.", nameof(options));
        }
    }

    internal EvmAddress Payee { get; }

    /// <summary>Issues a fresh challenge for a route.</summary>
    /// <param name="route">The route.</param>
    /// <param name="scope">An optional scope bound in <c>opaque</c> (for example <c>tools/call:weather</c>); the credential must be verified with the same scope.</param>
    /// <returns>The challenge.</returns>
    public PaymentChallenge IssueChallenge(TestRoute route, string? scope = null)
    {
        ArgumentNullException.ThrowIfNull(route);
        var request = route.Intent == "session" ? SessionRequestJson(route) : ChargeRequestJson(route);
        using var document = JsonDocument.Parse(request.ToJsonString());
        var expires = PaymentChallenge.FormatTimestamp(_options.TimeProvider.GetUtcNow() + route.ExpiresIn);
        return PaymentChallenge.CreateBound(_secret, _options.Realm, route.Method, route.Intent, document.RootElement, expires, route.Description, opaque: Opaque(scope));
    }

    /// <summary>Verifies a credential for a route and settles it on the test ledger; a session <c>open</c>/<c>voucher</c> bills one unit.</summary>
    /// <param name="credential">The credential.</param>
    /// <param name="route">The route it must pay.</param>
    /// <param name="scope">The scope the challenge was issued with.</param>
    /// <param name="cancellationToken">Cancels the verification.</param>
    /// <returns>The outcome.</returns>
    public Task<TestVerification> VerifyAsync(PaymentCredential credential, TestRoute route, string? scope = null, CancellationToken cancellationToken = default)
        => Task.FromResult(Verify(credential, route, scope, billUnit: true));

    internal TestVerification Verify(PaymentCredential credential, TestRoute route, string? scope, bool billUnit)
    {
        ArgumentNullException.ThrowIfNull(credential);
        ArgumentNullException.ThrowIfNull(route);
        var challenge = credential.Challenge;
        if (!PaymentChallengeId.Verify(_secret, challenge) || challenge.Realm != _options.Realm)
        {
            return Fail(PaymentProblemTypes.InvalidChallenge, "The challenge was not issued by this server (its id does not verify).", challenge);
        }

        if (challenge.Method != route.Method || challenge.Intent != route.Intent || challenge.Opaque != Opaque(scope))
        {
            return Fail(PaymentProblemTypes.InvalidChallenge, "The challenge was issued for another route or scope.", challenge);
        }

        if (route.Method != "tempo")
        {
            return Fail(PaymentProblemTypes.MethodUnsupported, $"The test kit verifies only 'tempo'; '{route.Method}' is not supported.", challenge, 400);
        }

        var request = challenge.Request;
        if (!Matches(request, "amount", TestTempoLedger.Text(route.Amount)) || !SameAddress(request, "currency", CurrencyOf(route)) || !SameAddress(request, "recipient", RecipientOf(route)))
        {
            return Fail(PaymentProblemTypes.InvalidChallenge, "The challenge was issued for another price, token or recipient than this route's.", challenge);
        }

        try
        {
            return route.Intent == "session" ? VerifySession(credential, route, billUnit) : VerifyCharge(credential, route);
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException or KeyNotFoundException or ArgumentException)
        {
            return Fail(PaymentProblemTypes.InvalidPayload, "The payload is not valid: " + ex.Message, challenge);
        }
    }

    // ------------------------------------------------------------------ charge

    private TestVerification VerifyCharge(PaymentCredential credential, TestRoute route)
    {
        var challenge = credential.Challenge;
        if (challenge.IsExpired(_options.TimeProvider.GetUtcNow()))
        {
            return Fail(PaymentProblemTypes.PaymentExpired, "The challenge has expired.", challenge);
        }

        if (_usedChallenges.ContainsKey(challenge.Id))
        {
            return Fail(PaymentProblemTypes.InvalidChallenge, "The challenge was already used.", challenge);
        }

        var payload = credential.Payload;
        var type = Str(payload, "type");
        return type switch
        {
            "transaction" => ChargeTransaction(credential, route, Str(payload, "signature")),
            "hash" => ChargeHash(credential, route, Str(payload, "hash")),
            "proof" => ChargeProof(credential, route, Str(payload, "signature")),
            _ => Fail(PaymentProblemTypes.InvalidPayload, $"The charge payload type '{type}' is unknown.", challenge),
        };
    }

    private TestVerification ChargeTransaction(PaymentCredential credential, TestRoute route, string? signed)
    {
        var challenge = credential.Challenge;
        if (route.Amount.IsZero)
        {
            return Fail(PaymentProblemTypes.InvalidPayload, "A zero-amount charge is paid with a proof, not a transaction.", challenge);
        }

        if (!SignedTempoTransaction.TryDecode(signed, out var tx, out var error))
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "The transaction does not decode: " + error, challenge);
        }

        if (route.SupportedModes is { } modes && !modes.Contains("pull"))
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "Pull mode is not offered by this route.", challenge);
        }

        if (CheckChargeTransaction(credential, route, tx!) is { } refused)
        {
            return refused;
        }

        if (!_usedChallenges.TryAdd(challenge.Id, 0))
        {
            return Fail(PaymentProblemTypes.InvalidChallenge, "The challenge was already used.", challenge);
        }

        TransactionRecord record;
        try
        {
            record = _ledger.Execute(tx!);
        }
        catch (TestChainException ex)
        {
            _usedChallenges.TryRemove(challenge.Id, out _);
            return Fail(PaymentProblemTypes.VerificationFailed, "The chain refused the transaction: " + ex.Message, challenge);
        }

        if (!record.Succeeded)
        {
            _usedChallenges.TryRemove(challenge.Id, out _);
            return Fail(PaymentProblemTypes.VerificationFailed, "The transaction reverted: " + record.RevertReason, challenge);
        }

        _claimedHashes.TryAdd(record.Hash, 0);
        return ChargeSettled(challenge, route, record.Hash, tx!.Sender);
    }

    private TestVerification? CheckChargeTransaction(PaymentCredential credential, TestRoute route, SignedTempoTransaction tx)
    {
        var challenge = credential.Challenge;
        if (tx.ChainId != _ledger.ChainId)
        {
            return Fail(PaymentProblemTypes.VerificationFailed, $"The transaction is for chain {tx.ChainId}, not {_ledger.ChainId}.", challenge);
        }

        if (tx.Sponsored != route.FeePayer)
        {
            return Fail(PaymentProblemTypes.VerificationFailed, route.FeePayer ? "Fees are sponsored: the 0x78 hand-off form is expected." : "Fees are not sponsored on this route.", challenge);
        }

        if (SourceMismatch(credential, tx.Sender) is { } mismatch)
        {
            return mismatch;
        }

        if (challenge.Expires is { } expires && tx.ValidBefore > expires.ToUnixTimeSeconds())
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "The transaction stays valid past the challenge's expiry.", challenge);
        }

        if (SponsorRefusal(tx, challenge) is { } sponsorRefusal)
        {
            return sponsorRefusal;
        }

        return TempoPaymentRules.CallsProblem(tx.Calls, [ExpectedTransfer(route)], challenge) is { } callsProblem
            ? Fail(PaymentProblemTypes.VerificationFailed, callsProblem, challenge)
            : null;
    }

    /// <summary>A sponsored transaction beyond what the kit, as fee payer, pays gas for (<see cref="SponsorPolicy"/>).</summary>
    private TestVerification? SponsorRefusal(SignedTempoTransaction tx, PaymentChallenge challenge)
        => tx.Sponsored && TempoSponsor.PolicyProblem(tx, _ledger.ChainTime, challenge.Expires, SponsorPolicy.For(tx.ChainId)) is { } problem
            ? Fail(PaymentProblemTypes.VerificationFailed, problem, challenge)
            : null;

    /// <summary>The one transfer a route's charge asks for (the kit offers no splits).</summary>
    private ExpectedTransfer ExpectedTransfer(TestRoute route)
        => new(EvmAddress.Parse(CurrencyOf(route)), EvmAddress.Parse(RecipientOf(route)), route.Amount, route.Memo is null ? null : Hex.Decode(route.Memo), PlainTransferAllowed: false);

    private TestVerification ChargeHash(PaymentCredential credential, TestRoute route, string? hash)
    {
        var challenge = credential.Challenge;
        if (route.FeePayer || (route.SupportedModes is { } modes && !modes.Contains("push")))
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "Push mode is not allowed on this route.", challenge);
        }

        if (hash is null || _ledger.FindTransaction(hash) is not { Succeeded: true } record)
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "No successful transaction with that hash is on the chain.", challenge);
        }

        if (SourceMismatch(credential, record.From) is { } mismatch)
        {
            return mismatch;
        }

        if (!TempoPaymentRules.LogsPay(record.Logs.Select(l => (l.Address, l.Topics, l.Data)), ExpectedTransfer(route), challenge))
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "The transaction has no matching TransferWithMemo.", challenge);
        }

        if (!_claimedHashes.TryAdd(record.Hash, 0) || !_usedChallenges.TryAdd(challenge.Id, 0))
        {
            return Fail(PaymentProblemTypes.InvalidChallenge, "That transaction or challenge was already used.", challenge);
        }

        return ChargeSettled(challenge, route, record.Hash, record.From);
    }

    private TestVerification ChargeProof(PaymentCredential credential, TestRoute route, string? signature)
    {
        var challenge = credential.Challenge;
        if (!route.Amount.IsZero)
        {
            return Fail(PaymentProblemTypes.InvalidPayload, "A proof pays only a zero-amount charge.", challenge);
        }

        var account = SourceAddress(credential);
        if (account is null || !Hex.TryDecode(signature, out var rsv) || rsv.Length != 65)
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "A proof needs a did:pkh source and a 65-byte signature.", challenge);
        }

        var digest = ZeroAmountProof.Digest(ZeroAmountProof.TypedData(_ledger.ChainId, account.Value, challenge.Id, challenge.Realm));
        if (Recover(rsv, digest) != account.Value)
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "The proof is not signed by the source account.", challenge);
        }

        return _usedChallenges.TryAdd(challenge.Id, 0)
            ? Settled(Receipt(challenge.Id, challenge, route.ExternalId is null ? [] : [("externalId", route.ExternalId)]), billed: true)
            : Fail(PaymentProblemTypes.InvalidChallenge, "The challenge was already used.", challenge);
    }

    private TestVerification ChargeSettled(PaymentChallenge challenge, TestRoute route, string hash, EvmAddress payer)
    {
        _ledger.RecordPayment(new TestPayment(hash, challenge.Id, payer.ToString(), EvmAddress.Parse(RecipientOf(route)).ToString(), EvmAddress.Parse(CurrencyOf(route)).Lower, route.Amount));
        var extra = new List<(string, string)>();
        if (route.ExternalId is not null)
        {
            extra.Add(("externalId", route.ExternalId));
        }

        return Settled(Receipt(hash, challenge, extra), billed: true);
    }

    // ------------------------------------------------------------------ session

    private TestVerification VerifySession(PaymentCredential credential, TestRoute route, bool billUnit)
    {
        var challenge = credential.Challenge;
        var payload = credential.Payload;
        var action = Str(payload, "action");
        if (action is not ("open" or "voucher" or "topUp" or "close"))
        {
            return Fail(PaymentProblemTypes.InvalidPayload, $"The session action '{action}' is unknown.", challenge);
        }

        if (action != "close" && challenge.IsExpired(_options.TimeProvider.GetUtcNow()))
        {
            return Fail(PaymentProblemTypes.PaymentExpired, "The challenge has expired.", challenge);
        }

        var descriptor = ReadDescriptor(payload);
        var channelId = Hex.Encode(descriptor.ChannelId(_ledger.EscrowAddress, _ledger.ChainId));
        if (!string.Equals(Str(payload, "channelId"), channelId, StringComparison.OrdinalIgnoreCase))
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "The channel id does not match the descriptor.", challenge);
        }

        if (descriptor.Payee != EvmAddress.Parse(RecipientOf(route)) || descriptor.Token != EvmAddress.Parse(CurrencyOf(route)))
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "The channel pays another payee or token than this route's.", challenge);
        }

        if (SourceMismatch(credential, descriptor.Payer) is { } mismatch)
        {
            return mismatch;
        }

        return action switch
        {
            "open" => Open(credential, route, descriptor, channelId, billUnit),
            "voucher" => AcceptVoucher(credential, route, channelId, billUnit),
            "topUp" => TopUp(credential, descriptor, channelId),
            _ => Close(credential, channelId),
        };
    }

    private TestVerification Open(PaymentCredential credential, TestRoute route, ChannelDescriptor descriptor, string channelId, bool billUnit)
    {
        var challenge = credential.Challenge;
        if (!SignedTempoTransaction.TryDecode(Str(credential.Payload, "transaction"), out var tx, out var error))
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "The open transaction does not decode: " + error, challenge);
        }

        if (tx!.Sender != descriptor.Payer || tx.Sponsored != route.FeePayer || tx.Calls.Count != 1 || tx.Calls[0].To != _ledger.EscrowAddress)
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "The open transaction is not the payer's single escrow call (or its fee sponsorship does not match the route).", challenge);
        }

        if (SponsorRefusal(tx, challenge) is { } sponsorRefusal)
        {
            return sponsorRefusal;
        }

        var data = tx.Calls[0].Data;
        var expectedCall = Escrow.Open(descriptor.Payee, descriptor.Operator, descriptor.Token, data.Length == 196 ? EvmWords.Uint(data.AsSpan(4), 3) : 0, descriptor.Salt, descriptor.AuthorizedSigner);
        if (!data.AsSpan().SequenceEqual(expectedCall))
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "The open call does not match the descriptor.", challenge);
        }

        if (!tx.ExpiringNonceHash().AsSpan().SequenceEqual(descriptor.ExpiringNonceHash))
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "The descriptor's expiringNonceHash is not the open transaction's.", challenge);
        }

        var deposit = EvmWords.Uint(data.AsSpan(4), 3);
        var cumulative = Units(credential.Payload, "cumulativeAmount");
        var signer = descriptor.AuthorizedSigner == default(EvmAddress) ? descriptor.Payer : descriptor.AuthorizedSigner;
        if (VoucherProblem(credential, channelId, cumulative, signer) is { } bad)
        {
            return bad;
        }

        if (cumulative > deposit)
        {
            return Fail(PaymentProblemTypes.SessionAmountExceedsDeposit, "The first voucher exceeds the deposit.", challenge);
        }

        TransactionRecord record;
        try
        {
            record = _ledger.Execute(tx);
        }
        catch (TestChainException ex)
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "The chain refused the open: " + ex.Message, challenge);
        }

        if (!record.Succeeded)
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "The open reverted: " + record.RevertReason, challenge);
        }

        return Account(challenge, route, channelId, cumulative, billUnit, "open", record.Hash);
    }

    private TestVerification AcceptVoucher(PaymentCredential credential, TestRoute route, string channelId, bool billUnit)
    {
        var challenge = credential.Challenge;
        var cumulative = Units(credential.Payload, "cumulativeAmount");
        var signer = _ledger.WithChannel(channelId, c => c?.VoucherSigner);
        if (signer is null)
        {
            return Fail(PaymentProblemTypes.SessionChannelNotFound, "The channel is not open on the test chain.", challenge, 410);
        }

        return VoucherProblem(credential, channelId, cumulative, signer.Value) ?? Account(challenge, route, channelId, cumulative, billUnit, "voucher", null);
    }

    /// <summary>Accepts a verified voucher amount and bills a unit, atomically.</summary>
    private TestVerification Account(PaymentChallenge challenge, TestRoute route, string channelId, BigInteger cumulative, bool billUnit, string action, string? txHash)
    {
        return _ledger.WithChannel(channelId, channel =>
        {
            if (channel is null)
            {
                return Fail(PaymentProblemTypes.SessionChannelNotFound, "The channel is not open on the test chain.", challenge, 410);
            }

            if (channel.Closed || channel.CloseRequestedAt != 0)
            {
                return Fail(PaymentProblemTypes.SessionChannelFinalized, "The channel is closed or closing.", challenge, 410);
            }

            if (cumulative > channel.Deposit)
            {
                return Fail(PaymentProblemTypes.SessionAmountExceedsDeposit, $"The voucher ({cumulative}) exceeds the deposit ({channel.Deposit}).", challenge);
            }

            if (cumulative < channel.Accepted)
            {
                return Fail(PaymentProblemTypes.VerificationFailed, $"The voucher ({cumulative}) is below the accepted {channel.Accepted}.", challenge);
            }

            if (cumulative > channel.Accepted)
            {
                if (channel.Accepted > 0 && route.MinVoucherDelta is { } min && cumulative - channel.Accepted < min)
                {
                    return Fail(PaymentProblemTypes.SessionDeltaTooSmall, $"The voucher raises the amount by less than {min}.", challenge);
                }

                channel.Accepted = cumulative;
                var changed = channel.Changed;
                channel.Changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                changed.TrySetResult();
            }

            if (billUnit)
            {
                if (channel.Accepted - channel.Spent < route.Amount)
                {
                    return Fail(PaymentProblemTypes.SessionInsufficientBalance, $"The channel has {channel.Accepted - channel.Spent} available; a unit costs {route.Amount}.", challenge);
                }

                channel.Spent += route.Amount;
                channel.Units++;
            }

            return Settled(SessionReceipt(challenge, channel, txHash), billUnit) with { Action = action, ChannelId = channelId };
        });
    }

    private TestVerification TopUp(PaymentCredential credential, ChannelDescriptor descriptor, string channelId)
    {
        var challenge = credential.Challenge;
        if (!SignedTempoTransaction.TryDecode(Str(credential.Payload, "transaction"), out var tx, out var error))
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "The top-up transaction does not decode: " + error, challenge);
        }

        var additional = Units(credential.Payload, "additionalDeposit");
        if (tx!.Sender != descriptor.Payer || tx.Calls.Count != 1 || tx.Calls[0].To != _ledger.EscrowAddress || !tx.Calls[0].Data.AsSpan().SequenceEqual(Escrow.TopUp(descriptor, additional)))
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "The top-up transaction is not the payer's topUp of this channel by additionalDeposit.", challenge);
        }

        if (SponsorRefusal(tx, challenge) is { } sponsorRefusal)
        {
            return sponsorRefusal;
        }

        if (_ledger.WithChannel(channelId, c => c is null || c.Closed))
        {
            return Fail(PaymentProblemTypes.SessionChannelNotFound, "The channel is not open on the test chain.", challenge, 410);
        }

        TransactionRecord record;
        try
        {
            record = _ledger.Execute(tx);
        }
        catch (TestChainException ex)
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "The chain refused the top-up: " + ex.Message, challenge);
        }

        if (!record.Succeeded)
        {
            return Fail(PaymentProblemTypes.VerificationFailed, "The top-up reverted: " + record.RevertReason, challenge);
        }

        return _ledger.WithChannel(channelId, c => Settled(SessionReceipt(challenge, c!, record.Hash), billed: false) with { Action = "topUp", ChannelId = channelId });
    }

    private TestVerification Close(PaymentCredential credential, string channelId)
    {
        var challenge = credential.Challenge;
        var cumulative = Units(credential.Payload, "cumulativeAmount");
        var state = _ledger.WithChannel(channelId, c => c is null ? null : new { c.VoucherSigner, c.Closed, c.Spent, c.Settled, c.Deposit });
        if (state is null)
        {
            return Fail(PaymentProblemTypes.SessionChannelNotFound, "The channel is not open on the test chain.", challenge, 410);
        }

        if (state.Closed)
        {
            return Fail(PaymentProblemTypes.SessionChannelFinalized, "The channel is already closed.", challenge, 410);
        }

        if (VoucherProblem(credential, channelId, cumulative, state.VoucherSigner) is { } bad)
        {
            return bad;
        }

        if (cumulative < state.Spent || cumulative > state.Deposit)
        {
            return Fail(PaymentProblemTypes.VerificationFailed, $"The closing voucher ({cumulative}) must cover what was spent ({state.Spent}) and stay within the deposit ({state.Deposit}).", challenge);
        }

        var capture = BigInteger.Max(state.Spent, state.Settled);
        var record = _ledger.CloseByPayee(channelId, capture);
        return _ledger.WithChannel(channelId, c =>
        {
            c!.Accepted = BigInteger.Max(c.Accepted, cumulative);
            var changed = c.Changed;
            changed.TrySetResult();
            return Settled(SessionReceipt(challenge, c, record.Hash), billed: false) with { Action = "close", ChannelId = channelId };
        });
    }

    private TestVerification? VoucherProblem(PaymentCredential credential, string channelId, BigInteger cumulative, EvmAddress signer)
    {
        var challenge = credential.Challenge;
        if (cumulative.Sign < 0 || cumulative > Voucher.MaxAmount)
        {
            return Fail(PaymentProblemTypes.InvalidPayload, "The voucher amount is not a uint96.", challenge);
        }

        if (!Hex.TryDecode(Str(credential.Payload, "signature"), out var rsv) || rsv.Length != 65)
        {
            return Fail(PaymentProblemTypes.SessionInvalidSignature, "The voucher signature is not 65 bytes of hex.", challenge);
        }

        var digest = new Voucher(_ledger.ChainId, _ledger.EscrowAddress).Digest(Hex.Decode(channelId), cumulative);
        var recovered = Recover(rsv, digest);
        return recovered is null ? Fail(PaymentProblemTypes.SessionInvalidSignature, "The voucher signature is invalid.", challenge)
            : recovered != signer ? Fail(PaymentProblemTypes.SessionSignerMismatch, "The voucher is not signed by the channel's authorized signer.", challenge)
            : null;
    }

    private PaymentReceipt SessionReceipt(PaymentChallenge challenge, ChannelRecord channel, string? txHash)
    {
        var extra = new List<(string, string)>
        {
            ("intent", "session"),
            ("channelId", channel.Id),
            ("acceptedCumulative", TestTempoLedger.Text(channel.Accepted)),
            ("spent", TestTempoLedger.Text(channel.Spent)),
        };
        if (txHash is not null)
        {
            extra.Add(("txHash", txHash));
        }

        var extensions = extra.ToDictionary(e => e.Item1, e => JsonSerializer.SerializeToElement(e.Item2, TestingJsonContext.Default.String));
        extensions["challengeId"] = JsonSerializer.SerializeToElement(challenge.Id, TestingJsonContext.Default.String);
        extensions["units"] = JsonSerializer.SerializeToElement(channel.Units, TestingJsonContext.Default.Int64);
        return PaymentReceipt.Create("tempo", channel.Id, _options.TimeProvider.GetUtcNow(), extensions);
    }

    private PaymentReceipt Receipt(string reference, PaymentChallenge challenge, IEnumerable<(string Name, string Value)> extra)
    {
        var extensions = extra.ToDictionary(e => e.Name, e => JsonSerializer.SerializeToElement(e.Value, TestingJsonContext.Default.String));
        extensions["challengeId"] = JsonSerializer.SerializeToElement(challenge.Id, TestingJsonContext.Default.String);
        return PaymentReceipt.Create("tempo", reference, _options.TimeProvider.GetUtcNow(), extensions);
    }

    // ------------------------------------------------------------------ helpers

    internal string CurrencyOf(TestRoute route) => route.Currency ?? _options.Currency;

    internal string RecipientOf(TestRoute route) => route.Recipient ?? Payee.ToString();

    private JsonObject ChargeRequestJson(TestRoute route)
    {
        var details = new JsonObject { ["chainId"] = _ledger.ChainId };
        if (route.FeePayer)
        {
            details["feePayer"] = true;
        }

        if (route.Memo is not null)
        {
            details["memo"] = route.Memo;
        }

        if (route.SupportedModes is { } modes)
        {
            details["supportedModes"] = new JsonArray([.. modes.Select(m => (JsonNode)JsonValue.Create(m))]);
        }

        var request = new JsonObject
        {
            ["amount"] = TestTempoLedger.Text(route.Amount),
            ["currency"] = CurrencyOf(route),
            ["methodDetails"] = details,
            ["recipient"] = RecipientOf(route),
        };
        if (route.ExternalId is not null)
        {
            request["externalId"] = route.ExternalId;
        }

        // Each challenge is distinct even for the same price and second (the id binds the request).
        request["nonce"] = Interlocked.Increment(ref _nonce).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return request;
    }

    private JsonObject SessionRequestJson(TestRoute route)
    {
        var details = new JsonObject
        {
            ["chainId"] = _ledger.ChainId,
            ["escrowContract"] = _ledger.EscrowAddress.Lower,
            ["sessionProtocol"] = "v2",
        };
        if (route.FeePayer)
        {
            details["feePayer"] = true;
        }

        if (route.MinVoucherDelta is { } min)
        {
            details["minVoucherDelta"] = TestTempoLedger.Text(min);
        }

        var request = new JsonObject
        {
            ["amount"] = TestTempoLedger.Text(route.Amount),
            ["currency"] = CurrencyOf(route),
            ["methodDetails"] = details,
            ["recipient"] = RecipientOf(route),
        };
        if (route.SuggestedDeposit is { } deposit)
        {
            request["suggestedDeposit"] = TestTempoLedger.Text(deposit);
        }

        if (route.UnitType is not null)
        {
            request["unitType"] = route.UnitType;
        }

        return request;
    }

    private static string? Opaque(string? scope)
    {
        if (scope is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(new JsonObject { ["scope"] = scope }.ToJsonString());
        return CanonicalJson.SerializeToBase64Url(document.RootElement);
    }

    private static ChannelDescriptor ReadDescriptor(JsonElement payload)
    {
        var d = payload.GetProperty("descriptor");
        return new ChannelDescriptor(
            EvmAddress.Parse(Str(d, "payer")!),
            Str(d, "payee") ?? throw new FormatException("descriptor.payee is missing"),
            Str(d, "operator") ?? throw new FormatException("descriptor.operator is missing"),
            Str(d, "token") ?? throw new FormatException("descriptor.token is missing"),
            Bytes32(Str(d, "salt")),
            EvmAddress.Parse(Str(d, "authorizedSigner")!),
            Bytes32(Str(d, "expiringNonceHash")));
    }

    private static byte[] Bytes32(string? hex) => Hex.TryDecode(hex, out var bytes) && bytes.Length == 32 ? bytes : throw new FormatException("a bytes32 value is not 32 bytes of hex");

    private static BigInteger Units(JsonElement payload, string name)
        => AssetAmount.TryParseUnits(Str(payload, name), out var units) ? units : throw new FormatException($"'{name}' is not a decimal string of base units");

    private static string? Str(JsonElement obj, string name) => obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool Matches(JsonElement request, string name, string expected) => Str(request, name) == expected;

    private static bool SameAddress(JsonElement request, string name, string expected)
        => EvmAddress.TryParse(Str(request, name), out var actual) && actual == EvmAddress.Parse(expected);

    private static EvmAddress? Recover(byte[] rsv, byte[] digest)
    {
        try
        {
            return EvmSignature.FromRsv(rsv).RecoverAddress(digest);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private EvmAddress? SourceAddress(PaymentCredential credential)
    {
        if (credential.Source is not { ValueKind: JsonValueKind.String } source)
        {
            return null;
        }

        var prefix = $"did:pkh:eip155:{_ledger.ChainId.ToString(System.Globalization.CultureInfo.InvariantCulture)}:";
        var text = source.GetString()!;
        return text.StartsWith(prefix, StringComparison.Ordinal) && EvmAddress.TryParse(text[prefix.Length..], out var address) ? address : null;
    }

    private TestVerification? SourceMismatch(PaymentCredential credential, EvmAddress payer)
        => credential.Source is null || SourceAddress(credential) == payer
            ? null
            : Fail(PaymentProblemTypes.VerificationFailed, "The credential's source is not the payer on this chain.", credential.Challenge);

    private static TestVerification Settled(PaymentReceipt receipt, bool billed) => new(true, receipt, null) { Billed = billed };

    internal static TestVerification Fail(string type, string detail, PaymentChallenge? challenge, int status = 402)
        => new(false, null, Problem(type, detail, challenge?.Id, status));

    internal static PaymentProblem Problem(string type, string detail, string? challengeId, int status)
    {
        var json = new JsonObject
        {
            ["type"] = type,
            ["title"] = type[(type.LastIndexOf('/') + 1)..].Replace('-', ' '),
            ["status"] = status,
            ["detail"] = detail,
        };
        if (challengeId is not null)
        {
            json["challengeId"] = challengeId;
        }

        using var document = JsonDocument.Parse(json.ToJsonString());
        return PaymentProblem.FromJson(document.RootElement.Clone());
    }
}

using System.Numerics;
using System.Text.Json;
using Mpp.Client.Protocol;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Charge;
using Mpp.Client.Tempo.Evm;
using Mpp.Client.Tempo.Transactions;

namespace Mpp.Client.Testing.Chain;

/// <summary>One transfer a Tempo charge must make: token, recipient, amount, and the memo it must carry (if any).</summary>
/// <param name="Token">The TIP-20 token.</param>
/// <param name="Recipient">Who is paid.</param>
/// <param name="Amount">How much, in base units.</param>
/// <param name="Memo">A memo the request names; null for the challenge-bound attribution memo (or none without a challenge).</param>
/// <param name="PlainTransferAllowed">A split without a memo may be a plain <c>transfer</c>.</param>
internal sealed record ExpectedTransfer(EvmAddress Token, EvmAddress Recipient, BigInteger Amount, byte[]? Memo, bool PlainTransferAllowed);

/// <summary>
/// How a server decides that a Tempo charge paid what was asked, shared by the kit's own server and the conformance
/// adapter's server-role operations: the transfers a request asks for, memo binding (protocol.md §3.2.2), calls in a
/// transaction and <c>TransferWithMemo</c> logs in a receipt.
/// </summary>
internal static class TempoPaymentRules
{
    /// <summary>The transfers a charge request asks for: the primary one, then one per split.</summary>
    public static IReadOnlyList<ExpectedTransfer> Expected(ChargeRequest request)
    {
        var primary = request.Amount - request.Splits.Aggregate(BigInteger.Zero, (sum, s) => sum + s.Amount);
        var expected = new List<ExpectedTransfer> { new(request.Currency, request.Recipient, primary, request.Memo, PlainTransferAllowed: false) };
        expected.AddRange(request.Splits.Select(s => new ExpectedTransfer(request.Currency, s.Recipient, s.Amount, s.Memo, PlainTransferAllowed: s.Memo is null)));
        return expected;
    }

    /// <summary>Reads a charge request's JSON (the challenge's <c>request</c>) with the client's own validation.</summary>
    public static ChargeRequest ReadRequest(JsonElement request, PaymentChallenge? challenge)
        => ChargeRequest.Read(PaymentChallenge.Create(challenge?.Id ?? "unbound", challenge?.Realm ?? "unbound", "tempo", "charge", request, challenge?.ExpiresText));

    /// <summary>
    /// Whether a memo pays for this challenge: the memo the request or route names, exactly; otherwise the attribution
    /// memo's tag, version, server fingerprint and challenge nonce (the client's bytes are free). Without a challenge
    /// (a sponsor checking an envelope on its own) nothing can be bound and any memo is accepted.
    /// </summary>
    public static bool MemoAccepted(PaymentChallenge? challenge, byte[]? named, ReadOnlySpan<byte> memo)
    {
        if (named is not null)
        {
            return memo.SequenceEqual(named);
        }

        if (challenge is null)
        {
            return true;
        }

        var expected = AttributionMemo.Create(challenge.Realm, challenge.Id);
        return memo[..15].SequenceEqual(expected.AsSpan(0, 15)) && memo[25..].SequenceEqual(expected.AsSpan(25));
    }

    /// <summary>Whether one call is exactly one expected transfer: value 0, canonical calldata, the right memo.</summary>
    public static bool CallPays(TempoCall call, ExpectedTransfer transfer, PaymentChallenge? challenge)
    {
        var data = call.Data;
        if (call.To != transfer.Token || !call.Value.IsZero || data.Length < 4)
        {
            return false;
        }

        var args = data.AsSpan(4);
        var withMemo = data.AsSpan(0, 4).SequenceEqual(Abi.TransferWithMemoSelector) && data.Length == 100;
        var plain = data.AsSpan(0, 4).SequenceEqual(Abi.TransferSelector) && data.Length == 68;
        if (!withMemo && !plain)
        {
            return false;
        }

        if (!TryAddress(args, 0, out var to) || to != transfer.Recipient || EvmWords.Uint(args, 1) != transfer.Amount)
        {
            return false;
        }

        return withMemo
            ? MemoAccepted(challenge, transfer.Memo, args.Slice(64, 32))
            : transfer.PlainTransferAllowed || (transfer.Memo is null && challenge is null);
    }

    /// <summary>Why a transaction's calls do not pay exactly the expected transfers, or null when they do.</summary>
    public static string? CallsProblem(IReadOnlyList<TempoCall> calls, IReadOnlyList<ExpectedTransfer> expected, PaymentChallenge? challenge)
    {
        if (calls.Count > expected.Count)
        {
            return "The transaction contains unauthorized extra calls.";
        }

        var unused = calls.ToList();
        foreach (var transfer in expected)
        {
            var match = unused.FindIndex(c => CallPays(c, transfer, challenge));
            if (match < 0)
            {
                return "The transaction pays differently: no matching payment call found (token, recipient, amount and memo).";
            }

            unused.RemoveAt(match);
        }

        return null;
    }

    /// <summary>Whether a receipt's logs hold a <c>TransferWithMemo</c> for the transfer (token, recipient, amount, memo).</summary>
    public static bool LogsPay(IEnumerable<(EvmAddress Address, IReadOnlyList<string> Topics, string Data)> logs, ExpectedTransfer transfer, PaymentChallenge? challenge)
    {
        var topic = Hex.Encode(Abi.TransferWithMemoTopic);
        var recipient = EvmWords.AddressTopic(transfer.Recipient);
        return logs.Any(l => l.Address == transfer.Token && l.Topics.Count == 4
            && string.Equals(l.Topics[0], topic, StringComparison.OrdinalIgnoreCase)
            && string.Equals(l.Topics[2], recipient, StringComparison.OrdinalIgnoreCase)
            && Hex.TryDecode(l.Data, out var amount) && amount.Length == 32 && new BigInteger(amount, isUnsigned: true, isBigEndian: true) == transfer.Amount
            && Hex.TryDecode(l.Topics[3], out var memo) && memo.Length == 32 && MemoAccepted(challenge, transfer.Memo, memo));
    }

    /// <summary>
    /// Verifies a push-mode charge (<c>type:"hash"</c>) against the transaction receipt: the hash is the receipt's, the
    /// transaction succeeded, and every expected transfer shows as a <c>TransferWithMemo</c> log bound to the challenge.
    /// </summary>
    /// <returns>The receipt's transaction hash (the payment receipt's reference).</returns>
    /// <exception cref="FormatException">The receipt does not prove the payment; the message says why.</exception>
    public static string VerifyReceipt(PaymentChallenge challenge, string credentialHash, JsonElement receipt)
    {
        var expected = Expected(ChargeRequest.Read(challenge));
        if (receipt.ValueKind != JsonValueKind.Object || !receipt.TryGetProperty("transactionHash", out var hashJson) || hashJson.GetString() is not { } hash)
        {
            throw new FormatException("The receipt has no transaction hash.");
        }

        if (!string.Equals(hash, credentialHash, StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException("The receipt is for another transaction than the credential's hash.");
        }

        if (!receipt.TryGetProperty("status", out var status) || status.GetString() != "0x1")
        {
            throw new FormatException("The transaction did not succeed.");
        }

        var logs = new List<(EvmAddress, IReadOnlyList<string>, string)>();
        if (receipt.TryGetProperty("logs", out var logsJson) && logsJson.ValueKind == JsonValueKind.Array)
        {
            foreach (var log in logsJson.EnumerateArray())
            {
                if (log.ValueKind == JsonValueKind.Object && log.TryGetProperty("address", out var address) && EvmAddress.TryParse(address.GetString(), out var emitter)
                    && log.TryGetProperty("topics", out var topics) && topics.ValueKind == JsonValueKind.Array && log.TryGetProperty("data", out var data))
                {
                    logs.Add((emitter, [.. topics.EnumerateArray().Select(t => t.GetString() ?? string.Empty)], data.GetString() ?? string.Empty));
                }
            }
        }

        foreach (var transfer in expected)
        {
            if (!LogsPay(logs, transfer, challenge))
            {
                throw new FormatException($"The receipt has no TransferWithMemo of {transfer.Amount} to {transfer.Recipient} with a memo bound to this challenge.");
            }
        }

        return hash;
    }

    private static bool TryAddress(ReadOnlySpan<byte> args, int index, out EvmAddress address)
    {
        try
        {
            address = EvmWords.Address(args, index);
            return true;
        }
        catch (FormatException)
        {
            address = default;
            return false;
        }
    }
}

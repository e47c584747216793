using System.Numerics;
using System.Text.Json.Nodes;
using Mpp.Client.Tempo.Evm;
using Nethereum.ABI;

namespace Mpp.Client.Tempo.Sessions;

/// <summary>
/// A v2 channel descriptor (protocol.md §3.3.2). Payee, token and operator keep the challenge's spelling so credentials
/// echo them unchanged; the payer and signer are written in EIP-55 like the reference client.
/// </summary>
internal sealed record ChannelDescriptor(
    EvmAddress Payer,
    string PayeeText,
    string OperatorText,
    string TokenText,
    byte[] Salt,
    EvmAddress AuthorizedSigner,
    byte[] ExpiringNonceHash)
{
    public EvmAddress Payee => EvmAddress.Parse(PayeeText);

    public EvmAddress Operator => EvmAddress.Parse(OperatorText);

    public EvmAddress Token => EvmAddress.Parse(TokenText);

    /// <summary>The descriptor tuple's fields: a static tuple encodes inline as these seven words (no offset).</summary>
    public ABIValue[] AbiFields()
        => [Abi.Address(Payer), Abi.Address(Payee), Abi.Address(Operator), Abi.Address(Token), Abi.Bytes32(Salt), Abi.Address(AuthorizedSigner), Abi.Bytes32(ExpiringNonceHash)];

    /// <summary><c>keccak256(abi.encode(payer, payee, operator, token, salt, authorizedSigner, expiringNonceHash, escrow, chainId))</c>.</summary>
    public byte[] ChannelId(EvmAddress escrow, long chainId) => Keccak.Hash(Abi.Encode([.. AbiFields(), Abi.Address(escrow), Abi.Uint(chainId)]));

    public JsonObject ToJson() => new()
    {
        ["authorizedSigner"] = AuthorizedSigner.ToString(),
        ["expiringNonceHash"] = Hex.Encode(ExpiringNonceHash),
        ["operator"] = OperatorText,
        ["payee"] = PayeeText,
        ["payer"] = Payer.ToString(),
        ["salt"] = Hex.Encode(Salt),
        ["token"] = TokenText,
    };
}

/// <summary>On-chain state of a channel: <c>deposit = 0</c> means unknown or closed.</summary>
internal sealed record ChannelOnChain(BigInteger Settled, BigInteger Deposit, long CloseRequestedAt);

/// <summary>A <c>ChannelClosed</c> event: what the payee got and what came back.</summary>
internal sealed record ChannelClosedEvent(string TransactionHash, BigInteger SettledToPayee, BigInteger RefundedToPayer);

/// <summary>The client-originated calls of the TIP-1034 escrow (protocol.md §3.3.3), ABI-encoded by Nethereum.ABI, and the reads the client needs.</summary>
internal static class Escrow
{
    public const long CloseGracePeriodSeconds = 900;

    public static readonly byte[] OpenSelector = Abi.Selector("open(address,address,address,uint96,bytes32,address)");
    public static readonly byte[] TopUpSelector = Abi.Selector("topUp((address,address,address,address,bytes32,address,bytes32),uint96)");
    public static readonly byte[] RequestCloseSelector = Abi.Selector("requestClose((address,address,address,address,bytes32,address,bytes32))");
    public static readonly byte[] WithdrawSelector = Abi.Selector("withdraw((address,address,address,address,bytes32,address,bytes32))");
    public static readonly byte[] GetChannelSelector = Abi.Selector("getChannel((address,address,address,address,bytes32,address,bytes32))");
    public static readonly string ChannelClosedTopic = Hex.Encode(Keccak.Hash("ChannelClosed(bytes32,address,address,uint96,uint96)"));

    public static byte[] Open(EvmAddress payee, EvmAddress @operator, EvmAddress token, BigInteger deposit, ReadOnlySpan<byte> salt, EvmAddress authorizedSigner)
        => Abi.Call(OpenSelector, Abi.Address(payee), Abi.Address(@operator), Abi.Address(token), Abi.Uint(deposit, 96), Abi.Bytes32(salt.ToArray()), Abi.Address(authorizedSigner));

    public static byte[] TopUp(ChannelDescriptor descriptor, BigInteger additionalDeposit) => Abi.Call(TopUpSelector, [.. descriptor.AbiFields(), Abi.Uint(additionalDeposit, 96)]);

    public static byte[] RequestClose(ChannelDescriptor descriptor) => Abi.Call(RequestCloseSelector, descriptor.AbiFields());

    public static byte[] Withdraw(ChannelDescriptor descriptor) => Abi.Call(WithdrawSelector, descriptor.AbiFields());

    public static byte[] GetChannel(ChannelDescriptor descriptor) => Abi.Call(GetChannelSelector, descriptor.AbiFields());

    /// <summary>Reads <c>getChannel</c>'s ten static words: the descriptor, then settled, deposit, closeRequestedAt.</summary>
    public static ChannelOnChain DecodeChannel(ReadOnlySpan<byte> returned)
    {
        if (returned.Length < 320)
        {
            throw new TempoRpcException("eth_call", null, $"getChannel returned {returned.Length} bytes; 320 were expected.");
        }

        var closeRequestedAt = Word(returned[288..320]);
        return closeRequestedAt <= long.MaxValue
            ? new ChannelOnChain(Word(returned[224..256]), Word(returned[256..288]), (long)closeRequestedAt)
            : throw new TempoRpcException("eth_call", null, "getChannel returned a close-request time too large for a timestamp.");
    }

    /// <summary>
    /// Finds the <c>ChannelClosed</c> event of <paramref name="channelId"/> in a transaction receipt's logs. Logs of any other
    /// shape are skipped: <see langword="null"/> when none matches.
    /// </summary>
    public static ChannelClosedEvent? FindChannelClosed(System.Text.Json.JsonElement receipt, EvmAddress escrow, string channelId)
    {
        if (receipt.ValueKind != System.Text.Json.JsonValueKind.Object || !receipt.TryGetProperty("logs", out var logs) || logs.ValueKind != System.Text.Json.JsonValueKind.Array)
        {
            return null;
        }

        foreach (var log in logs.EnumerateArray())
        {
            if (log.ValueKind == System.Text.Json.JsonValueKind.Object
                && TextEquals(log, "address", escrow.Lower)
                && log.TryGetProperty("topics", out var topics) && topics.ValueKind == System.Text.Json.JsonValueKind.Array && topics.GetArrayLength() >= 2
                && TextEquals(topics[0], ChannelClosedTopic) && TextEquals(topics[1], channelId)
                && log.TryGetProperty("data", out var dataText) && dataText.ValueKind == System.Text.Json.JsonValueKind.String
                && Hex.TryDecode(RpcAnswer.TryGetString(dataText), out var data) && data.Length >= 64
                && receipt.TryGetProperty("transactionHash", out var hash) && RpcAnswer.TryGetString(hash) is { } transactionHash)
            {
                return new ChannelClosedEvent(transactionHash, Word(data.AsSpan(0, 32)), Word(data.AsSpan(32, 32)));
            }
        }

        return null;
    }

    private static bool TextEquals(System.Text.Json.JsonElement value, string expected)
        => value.ValueKind == System.Text.Json.JsonValueKind.String && string.Equals(RpcAnswer.TryGetString(value), expected, StringComparison.OrdinalIgnoreCase);

    private static bool TextEquals(System.Text.Json.JsonElement obj, string member, string expected)
        => obj.TryGetProperty(member, out var value) && TextEquals(value, expected);

    private static BigInteger Word(ReadOnlySpan<byte> word) => new(word, isUnsigned: true, isBigEndian: true);
}

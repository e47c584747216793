using System.Numerics;

namespace Mpp.Client.Tempo.Evm;

/// <summary>ABI encoding of the few contract calls a Tempo charge makes, and the event topics it checks.</summary>
internal static class Abi
{
    /// <summary><c>transfer(address,uint256)</c>.</summary>
    public static readonly byte[] TransferSelector = Selector("transfer(address,uint256)");

    /// <summary><c>transferWithMemo(address,uint256,bytes32)</c>.</summary>
    public static readonly byte[] TransferWithMemoSelector = Selector("transferWithMemo(address,uint256,bytes32)");

    /// <summary>topic0 of <c>TransferWithMemo(address indexed from,address indexed to,uint256 amount,bytes32 indexed memo)</c>.</summary>
    public static readonly byte[] TransferWithMemoTopic = Keccak.Hash("TransferWithMemo(address,address,uint256,bytes32)");

    /// <summary>topic0 of <c>Transfer(address indexed from,address indexed to,uint256 amount)</c>.</summary>
    public static readonly byte[] TransferTopic = Keccak.Hash("Transfer(address,address,uint256)");

    public static byte[] Selector(string signature) => Keccak.Hash(signature)[..4];

    public static byte[] Transfer(EvmAddress to, BigInteger amount) => [.. TransferSelector, .. AddressWord(to), .. Hex.Word(amount)];

    public static byte[] TransferWithMemo(EvmAddress to, BigInteger amount, ReadOnlySpan<byte> memo)
    {
        if (memo.Length != 32)
        {
            throw new ArgumentException("A memo is 32 bytes.", nameof(memo));
        }

        return [.. TransferWithMemoSelector, .. AddressWord(to), .. Hex.Word(amount), .. memo];
    }

    public static byte[] AddressWord(EvmAddress address)
    {
        var word = new byte[32];
        address.ToBytes().CopyTo(word, 12);
        return word;
    }
}

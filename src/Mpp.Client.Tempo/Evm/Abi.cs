using System.Numerics;
using Nethereum.ABI;

namespace Mpp.Client.Tempo.Evm;

/// <summary>
/// ABI encoding of the few contract calls the client makes, on Nethereum's <see cref="ABIEncode"/>: a selector (the first
/// four bytes of the keccak of the signature) followed by the static head of the arguments. A static tuple (the escrow's
/// channel descriptor) encodes inline, exactly like its fields in a row, so it is passed as its fields.
/// </summary>
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

    private static readonly ABIEncode Encoder = new();

    public static byte[] Selector(string signature) => Keccak.Hash(signature)[..4];

    /// <summary>A call: the selector, then the arguments' ABI words.</summary>
    public static byte[] Call(byte[] selector, params ABIValue[] arguments) => [.. selector, .. Encode(arguments)];

    /// <summary>The ABI words of static arguments (no selector).</summary>
    public static byte[] Encode(params ABIValue[] arguments) => Encoder.GetABIEncoded(arguments);

    public static ABIValue Address(EvmAddress address) => new("address", address.Lower);

    public static ABIValue Uint(BigInteger value, int bits = 256) => new("uint" + bits.ToString(System.Globalization.CultureInfo.InvariantCulture), value);

    public static ABIValue Bytes32(byte[] value) => value.Length == 32 ? new("bytes32", value) : throw new ArgumentException("A bytes32 value is 32 bytes.", nameof(value));

    public static byte[] Transfer(EvmAddress to, BigInteger amount) => Call(TransferSelector, Address(to), Uint(amount));

    public static byte[] TransferWithMemo(EvmAddress to, BigInteger amount, ReadOnlySpan<byte> memo)
    {
        if (memo.Length != 32)
        {
            throw new ArgumentException("A memo is 32 bytes.", nameof(memo));
        }

        return Call(TransferWithMemoSelector, Address(to), Uint(amount), Bytes32(memo.ToArray()));
    }

    /// <summary>An address as one ABI word (event topics, the test kit's calldata checks).</summary>
    public static byte[] AddressWord(EvmAddress address) => Encode(Address(address));

    /// <summary>An unsigned integer as one ABI word.</summary>
    public static byte[] Word(BigInteger value) => Encode(Uint(value));
}

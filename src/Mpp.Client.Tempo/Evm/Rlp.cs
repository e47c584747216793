using System.Numerics;

namespace Mpp.Client.Tempo.Evm;

/// <summary>Recursive Length Prefix encoding (the Ethereum yellow paper, appendix B).</summary>
internal static class Rlp
{
    public static byte[] String(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 1 && bytes[0] < 0x80)
        {
            return [bytes[0]];
        }

        return Concat(Prefix(0x80, bytes.Length), bytes);
    }

    public static byte[] Integer(BigInteger value) => String(Hex.Minimal(value));

    public static byte[] List(params byte[][] encodedItems)
    {
        var length = encodedItems.Sum(i => i.Length);
        var result = new byte[Prefix(0xc0, length).Length + length];
        var prefix = Prefix(0xc0, length);
        prefix.CopyTo(result, 0);
        var offset = prefix.Length;
        foreach (var item in encodedItems)
        {
            item.CopyTo(result, offset);
            offset += item.Length;
        }

        return result;
    }

    private static byte[] Prefix(byte offset, int length)
    {
        if (length < 56)
        {
            return [(byte)(offset + length)];
        }

        var lengthBytes = Hex.Minimal(length);
        return [(byte)(offset + 55 + lengthBytes.Length), .. lengthBytes];
    }

    private static byte[] Concat(byte[] prefix, ReadOnlySpan<byte> body)
    {
        var result = new byte[prefix.Length + body.Length];
        prefix.CopyTo(result, 0);
        body.CopyTo(result.AsSpan(prefix.Length));
        return result;
    }
}

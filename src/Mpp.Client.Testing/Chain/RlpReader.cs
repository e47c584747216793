using System.Numerics;

namespace Mpp.Client.Testing.Chain;

/// <summary>One decoded RLP item: a byte string or a list, with the exact bytes it was read from.</summary>
internal sealed class RlpItem
{
    private RlpItem(bool isList, byte[] payload, IReadOnlyList<RlpItem> items, byte[] encoded)
    {
        IsList = isList;
        Payload = payload;
        Items = items;
        Encoded = encoded;
    }

    /// <summary>Gets whether the item is a list.</summary>
    public bool IsList { get; }

    /// <summary>Gets the bytes of a string item (empty for a list).</summary>
    public byte[] Payload { get; }

    /// <summary>Gets the members of a list item (empty for a string).</summary>
    public IReadOnlyList<RlpItem> Items { get; }

    /// <summary>Gets the item's own encoding, prefix included, exactly as read.</summary>
    public byte[] Encoded { get; }

    /// <summary>Reads a string item as a minimal big-endian unsigned integer.</summary>
    public BigInteger AsInteger()
    {
        if (IsList)
        {
            throw new FormatException("An integer was expected; a list was found.");
        }

        if (Payload.Length > 0 && Payload[0] == 0)
        {
            throw new FormatException("An RLP integer has a leading zero byte.");
        }

        return Payload.Length > 32 ? throw new FormatException("An RLP integer is longer than 32 bytes.") : new BigInteger(Payload, isUnsigned: true, isBigEndian: true);
    }

    public long AsInt64()
    {
        var value = AsInteger();
        return value > long.MaxValue ? throw new FormatException("An RLP integer does not fit 64 bits.") : (long)value;
    }

    public static RlpItem String(byte[] payload, byte[] encoded) => new(false, payload, [], encoded);

    public static RlpItem List(IReadOnlyList<RlpItem> items, byte[] encoded) => new(true, [], items, encoded);
}

/// <summary>
/// Recursive Length Prefix decoding (the Ethereum yellow paper, appendix B), strict: canonical lengths only, no
/// trailing bytes, single bytes below 0x80 never wrapped. Nethereum.RLP's decoder accepts non-canonical forms (a second
/// encoding of the same transaction with another hash), which a verifier must refuse; the encoder is Nethereum.RLP's.
/// </summary>
internal static class RlpReader
{
    /// <summary>Decodes exactly one item spanning all of <paramref name="input"/>.</summary>
    public static RlpItem Decode(ReadOnlySpan<byte> input)
    {
        var offset = 0;
        var item = Read(input, ref offset, depth: 0);
        return offset != input.Length ? throw new FormatException($"{input.Length - offset} bytes follow the RLP item.") : item;
    }

    private static RlpItem Read(ReadOnlySpan<byte> input, ref int offset, int depth)
    {
        if (depth > 16)
        {
            throw new FormatException("RLP nesting is deeper than 16 levels.");
        }

        if (offset >= input.Length)
        {
            throw new FormatException("The RLP input ended early.");
        }

        var start = offset;
        var prefix = input[offset++];
        if (prefix < 0x80)
        {
            return RlpItem.String([prefix], [prefix]);
        }

        if (prefix < 0xc0)
        {
            var length = ReadLength(input, ref offset, prefix, 0x80);
            var payload = Take(input, ref offset, length);
            if (length == 1 && payload[0] < 0x80)
            {
                throw new FormatException("A single byte below 0x80 must not carry a string prefix.");
            }

            return RlpItem.String(payload, input[start..offset].ToArray());
        }

        var listLength = ReadLength(input, ref offset, prefix, 0xc0);
        var end = offset + listLength;
        if (end > input.Length)
        {
            throw new FormatException("An RLP list runs past the end of the input.");
        }

        var items = new List<RlpItem>();
        while (offset < end)
        {
            items.Add(Read(input[..end], ref offset, depth + 1));
        }

        return RlpItem.List(items, input[start..offset].ToArray());
    }

    private static int ReadLength(ReadOnlySpan<byte> input, ref int offset, byte prefix, byte baseOffset)
    {
        var shortForm = prefix - baseOffset;
        if (shortForm <= 55)
        {
            return shortForm;
        }

        var lengthOfLength = shortForm - 55;
        var bytes = Take(input, ref offset, lengthOfLength);
        if (bytes[0] == 0)
        {
            throw new FormatException("An RLP length has a leading zero byte.");
        }

        long length = 0;
        foreach (var b in bytes)
        {
            length = (length << 8) | b;
            if (length > int.MaxValue)
            {
                throw new FormatException("An RLP length is too large.");
            }
        }

        return length < 56 ? throw new FormatException("A long-form RLP length is below 56.") : (int)length;
    }

    private static byte[] Take(ReadOnlySpan<byte> input, ref int offset, int length)
    {
        if (length < 0 || offset + length > input.Length)
        {
            throw new FormatException("The RLP input ended early.");
        }

        var bytes = input.Slice(offset, length).ToArray();
        offset += length;
        return bytes;
    }
}

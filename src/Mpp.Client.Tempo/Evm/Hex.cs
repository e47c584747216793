using System.Numerics;

namespace Mpp.Client.Tempo.Evm;

/// <summary>0x-prefixed hex as Ethereum JSON uses it.</summary>
internal static class Hex
{
    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    public static string Encode(ReadOnlySpan<byte> bytes) => "0x" + Convert.ToHexString(bytes).ToLowerInvariant();

    public static byte[] Decode(string hex)
    {
        if (!TryDecode(hex, out var bytes))
        {
            throw new FormatException($"'{(hex.Length > 80 ? hex[..80] + "…" : hex)}' is not 0x-prefixed hex with an even number of digits.");
        }

        return bytes;
    }

    public static bool TryDecode(string? hex, out byte[] bytes)
    {
        bytes = [];
        if (hex is null || hex.Length < 2 || hex[0] != '0' || (hex[1] != 'x' && hex[1] != 'X') || hex.Length % 2 != 0)
        {
            return false;
        }

        try
        {
            bytes = Convert.FromHexString(hex.AsSpan(2));
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>A JSON-RPC quantity (<c>0x1a</c>, <c>0x</c> or <c>0x0</c> for zero) as an unsigned integer.</summary>
    public static BigInteger DecodeQuantity(string hex)
    {
        if (hex is null || hex.Length < 2 || hex[0] != '0' || hex[1] != 'x')
        {
            throw new FormatException($"'{hex}' is not a 0x quantity.");
        }

        var digits = hex.AsSpan(2);
        if (digits.Length == 0)
        {
            return BigInteger.Zero;
        }

        if (digits.Length > 64 || digits.ContainsAnyExcept(HexDigits))
        {
            throw new FormatException($"'{hex}' is not a 0x quantity.");
        }

        return BigInteger.Parse("0" + digits.ToString(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>An unsigned integer as a JSON-RPC quantity (<c>0x0</c> for zero, no leading zeros).</summary>
    public static string EncodeQuantity(BigInteger value)
    {
        if (value.Sign < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), "Quantities are unsigned.");
        }

        return value.IsZero ? "0x0" : "0x" + Convert.ToHexString(value.ToByteArray(isUnsigned: true, isBigEndian: true)).ToLowerInvariant().TrimStart('0');
    }

    /// <summary>Big-endian, unsigned, minimal (zero is empty), as RLP integers are.</summary>
    public static byte[] Minimal(BigInteger value)
    {
        if (value.Sign < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), "RLP integers are unsigned.");
        }

        return value.IsZero ? [] : value.ToByteArray(isUnsigned: true, isBigEndian: true);
    }

    /// <summary>An unsigned integer as a 32-byte big-endian word.</summary>
    public static byte[] Word(BigInteger value)
    {
        var word = new byte[32];
        var bytes = Minimal(value);
        if (bytes.Length > 32)
        {
            throw new ArgumentOutOfRangeException(nameof(value), "The value does not fit in 256 bits.");
        }

        bytes.CopyTo(word, 32 - bytes.Length);
        return word;
    }
}

using System.Numerics;
using Nethereum.Hex.HexConvertors.Extensions;

namespace Mpp.Client.Tempo.Evm;

/// <summary>
/// 0x-prefixed hex as Ethereum JSON uses it, read strictly: the prefix is required and the digits come in pairs
/// (Nethereum's <c>HexToByteArray</c> accepts text without the prefix and odd lengths, too lenient for what a server sends).
/// </summary>
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

    /// <summary>An unsigned integer as a JSON-RPC quantity (<c>0x0</c> for zero, no leading zeros), by Nethereum.Hex.</summary>
    public static string EncodeQuantity(BigInteger value)
        => value.Sign < 0 ? throw new ArgumentOutOfRangeException(nameof(value), "Quantities are unsigned.") : value.ToHex(littleEndian: false, compact: true);
}

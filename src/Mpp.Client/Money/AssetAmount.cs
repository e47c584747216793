using System.Globalization;
using System.Numerics;

namespace Mpp.Client;

/// <summary>An amount of an asset, in atomic units (cents, token base units). Never a decimal, never a double.</summary>
/// <param name="Asset">The asset.</param>
/// <param name="Units">The amount in atomic units, not negative.</param>
public readonly record struct AssetAmount(AssetId Asset, BigInteger Units)
{
    /// <summary>Formats as <c>10000 eip155:1337/0x20c0…</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => Units.ToString(CultureInfo.InvariantCulture) + " " + Asset;

    /// <summary>Parses a protocol amount: a decimal string of atomic units, digits only (no sign, no exponent, no spaces).</summary>
    /// <param name="text">The text from a challenge.</param>
    /// <param name="units">The amount.</param>
    /// <returns><see langword="true"/> when the text is a valid amount of at most 78 digits (2^256).</returns>
    public static bool TryParseUnits(string? text, out BigInteger units)
    {
        units = default;
        if (text is not { Length: > 0 and <= 78 } || text.AsSpan().IndexOfAnyExceptInRange('0', '9') >= 0)
        {
            return false;
        }

        units = BigInteger.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        return true;
    }
}

using System.Diagnostics.CodeAnalysis;
using Mpp.Client.Tempo.Evm;
using Nethereum.Util;

namespace Mpp.Client.Tempo;

/// <summary>A 20-byte EVM address. Compares by value; prints in EIP-55 mixed case.</summary>
public readonly struct EvmAddress : IEquatable<EvmAddress>
{
    /// <summary>
    /// The checksummed form of an address instance's text, computed once: a payer's or channel's address is printed on
    /// every voucher (the credential's <c>source</c>), and EIP-55 hashes the address each time. Keyed by the string
    /// instance, so entries go when the addresses holding them do.
    /// </summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<string, string> Checksummed = new();

    private readonly string? _lower;

    private EvmAddress(string lower) => _lower = lower;

    /// <summary>Gets the address as lowercase hex (<c>0x…</c>).</summary>
    public string Lower => _lower ?? "0x0000000000000000000000000000000000000000";

    /// <summary>Gets the 20 bytes.</summary>
    /// <returns>A new array.</returns>
    public byte[] ToBytes() => Hex.Decode(Lower);

    /// <summary>Parses <c>0x</c> and 40 hex digits. Mixed case must be a valid EIP-55 checksum.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The address.</returns>
    /// <exception cref="FormatException">The text is not an address or its checksum is wrong.</exception>
    public static EvmAddress Parse(string text)
        => TryParse(text, out var address) ? address : throw new FormatException($"'{text}' is not an EVM address (0x and 40 hex digits, EIP-55 checksum when mixed case).");

    /// <summary>Tries to parse an address.</summary>
    /// <param name="text">The text.</param>
    /// <param name="address">The address.</param>
    /// <returns><see langword="true"/> when valid.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, out EvmAddress address)
    {
        address = default;
        if (!AssetId.IsAddress(text))
        {
            return false;
        }

        var lower = "0x" + text![2..].ToLowerInvariant();
        var upper = "0x" + text[2..].ToUpperInvariant();
        if (text[2..] != lower[2..] && text[2..] != upper[2..] && Checksum(lower) != text)
        {
            return false; // mixed case that is not the EIP-55 form: a typo, not an address to pay
        }

        address = new EvmAddress(lower);
        return true;
    }

    /// <summary>Builds an address from 20 bytes.</summary>
    /// <param name="bytes">The bytes.</param>
    /// <returns>The address.</returns>
    public static EvmAddress FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != 20)
        {
            throw new ArgumentException("An address is 20 bytes.", nameof(bytes));
        }

        return new EvmAddress(Hex.Encode(bytes));
    }

    /// <summary>The EIP-55 mixed-case form.</summary>
    /// <returns>The checksummed address.</returns>
    public override string ToString() => _lower is null ? Checksum(Lower) : CachedChecksum(_lower);

    /// <inheritdoc />
    public bool Equals(EvmAddress other) => Lower == other.Lower;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is EvmAddress other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => Lower.GetHashCode(StringComparison.Ordinal);

    /// <summary>Equality.</summary>
    /// <param name="left">One address.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they are the same address.</returns>
    public static bool operator ==(EvmAddress left, EvmAddress right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    /// <param name="left">One address.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(EvmAddress left, EvmAddress right) => !left.Equals(right);

    /// <summary>EIP-55 mixed case, by Nethereum.Util.</summary>
    private static string Checksum(string lower) => AddressUtil.Current.ConvertToChecksumAddress(lower);

    private static string CachedChecksum(string lower) => Checksummed.GetValue(lower, Checksum);
}

using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Mpp.Client;

/// <summary>
/// The identity of something a payment is made in: a token (EVM chain id + contract address) or a fiat
/// currency (ISO 4217 code). A symbol such as "USDC" is never an identity: two tokens may share it.
/// </summary>
public readonly record struct AssetId
{
    private AssetId(long? chainId, string? address, string? fiatCode)
    {
        ChainId = chainId;
        Address = address;
        FiatCode = fiatCode;
    }

    /// <summary>Gets the EVM chain id of a token, or <see langword="null"/> for fiat.</summary>
    public long? ChainId { get; }

    /// <summary>Gets the token contract address in lowercase hex (<c>0x…</c>), or <see langword="null"/> for fiat.</summary>
    public string? Address { get; }

    /// <summary>Gets the lowercase ISO 4217 code of a fiat currency, or <see langword="null"/> for a token.</summary>
    public string? FiatCode { get; }

    /// <summary>Gets whether this is a fiat currency.</summary>
    public bool IsFiat => FiatCode is not null;

    /// <summary>A token on an EVM chain.</summary>
    /// <param name="chainId">The chain id (positive).</param>
    /// <param name="address">The contract address, <c>0x</c> and 40 hex digits in any case.</param>
    /// <returns>The asset id.</returns>
    /// <exception cref="ArgumentException">The chain id or address is invalid.</exception>
    public static AssetId Token(long chainId, string address)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chainId);
        if (!IsAddress(address))
        {
            throw new ArgumentException($"'{address}' is not a 0x-prefixed 20-byte hex address.", nameof(address));
        }

        return new AssetId(chainId, address.ToLowerInvariant(), null);
    }

    /// <summary>A fiat currency.</summary>
    /// <param name="isoCode">The ISO 4217 code, any case (<c>usd</c>, <c>EUR</c>).</param>
    /// <returns>The asset id.</returns>
    /// <exception cref="ArgumentException">The code is not three ASCII letters.</exception>
    public static AssetId Fiat(string isoCode)
    {
        if (isoCode is not { Length: 3 } || !isoCode.All(char.IsAsciiLetter))
        {
            throw new ArgumentException($"'{isoCode}' is not an ISO 4217 currency code.", nameof(isoCode));
        }

        return new AssetId(null, null, isoCode.ToLowerInvariant());
    }

    /// <summary>Parses the text form written by <see cref="ToString"/>: <c>eip155:&lt;chainId&gt;/&lt;address&gt;</c> or <c>fiat:&lt;code&gt;</c>.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The asset id.</returns>
    /// <exception cref="FormatException">The text is not an asset id.</exception>
    public static AssetId Parse(string text)
        => TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not an asset id (eip155:<chainId>/<address> or fiat:<code>).");

    /// <summary>Tries to parse the text form of an asset id.</summary>
    /// <param name="text">The text.</param>
    /// <param name="id">The asset id.</param>
    /// <returns><see langword="true"/> when the text is an asset id.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, out AssetId id)
    {
        id = default;
        if (text is null)
        {
            return false;
        }

        if (text.StartsWith("fiat:", StringComparison.OrdinalIgnoreCase))
        {
            var code = text[5..];
            if (code.Length != 3 || !code.All(char.IsAsciiLetter))
            {
                return false;
            }

            id = new AssetId(null, null, code.ToLowerInvariant());
            return true;
        }

        if (text.StartsWith("eip155:", StringComparison.OrdinalIgnoreCase))
        {
            var slash = text.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0 || !long.TryParse(text.AsSpan(7, slash - 7), NumberStyles.None, CultureInfo.InvariantCulture, out var chain) || chain <= 0 || !IsAddress(text[(slash + 1)..]))
            {
                return false;
            }

            id = new AssetId(chain, text[(slash + 1)..].ToLowerInvariant(), null);
            return true;
        }

        return false;
    }

    /// <summary>Formats as <c>eip155:1337/0x20c0…</c> or <c>fiat:usd</c>.</summary>
    /// <returns>The text form.</returns>
    public override string ToString()
        => FiatCode is not null ? "fiat:" + FiatCode
            : ChainId is { } chain ? string.Create(CultureInfo.InvariantCulture, $"eip155:{chain}/{Address}")
            : "(none)";

    internal static bool IsAddress(string? text)
        => text is { Length: 42 } && text[0] == '0' && (text[1] is 'x' or 'X') && text.AsSpan(2).IndexOfAnyExcept(HexDigits) < 0;

    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");
}

using System.Buffers;
using System.Text;

namespace Mpp.Client.Protocol;

/// <summary>
/// Base64url (RFC 4648 §5) as MPP uses it: never padded on output; on input padding is optional and
/// the standard alphabet's <c>+</c> and <c>/</c> are accepted (as the reference SDKs do), while any
/// other character is an error rather than silently skipped.
/// </summary>
public static class Base64UrlCodec
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    // Strict UTF-8: invalid bytes throw instead of becoming U+FFFD.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly sbyte[] DecodeMap = BuildDecodeMap();

    /// <summary>Encodes bytes as unpadded base64url.</summary>
    /// <param name="data">The bytes.</param>
    /// <returns>The unpadded base64url text.</returns>
    public static string Encode(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return string.Empty;
        }

        var length = GetEncodedLength(data.Length);
        char[]? rented = null;
        var chars = length <= 512 ? stackalloc char[length] : (rented = ArrayPool<char>.Shared.Rent(length)).AsSpan(0, length);
        EncodeCore(data, chars);
        var result = new string(chars);
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }

        return result;
    }

    /// <summary>Encodes the UTF-8 bytes of a string as unpadded base64url.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The unpadded base64url text.</returns>
    /// <exception cref="MppProtocolException">The text holds a lone surrogate, which has no UTF-8 form.</exception>
    public static string EncodeUtf8(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] bytes;
        try
        {
            bytes = StrictUtf8.GetBytes(text);
        }
        catch (EncoderFallbackException)
        {
            throw MppProtocolException.Encoding("The text holds a lone surrogate, which has no UTF-8 form.");
        }

        return Encode(bytes);
    }

    /// <summary>Decodes base64url text (padding optional).</summary>
    /// <param name="text">The encoded text.</param>
    /// <returns>The decoded bytes.</returns>
    /// <exception cref="MppProtocolException">The text contains a character outside the alphabet or has an impossible length.</exception>
    public static byte[] Decode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var buffer = new byte[GetMaxDecodedLength(text.Length)];
        if (!TryDecode(text, buffer, out var written, out var error))
        {
            throw MppProtocolException.Encoding(error);
        }

        return written == buffer.Length ? buffer : buffer.AsSpan(0, written).ToArray();
    }

    /// <summary>Decodes base64url text (padding optional) and reads the bytes as strict UTF-8.</summary>
    /// <param name="text">The encoded text.</param>
    /// <returns>The decoded text.</returns>
    /// <exception cref="MppProtocolException">The text is not base64url, or the bytes are not valid UTF-8.</exception>
    public static string DecodeUtf8(string text)
    {
        var bytes = Decode(text);
        return GetStrictUtf8String(bytes, null);
    }

    internal static string GetStrictUtf8String(ReadOnlySpan<byte> bytes, string? parameter)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw MppProtocolException.Encoding("The decoded bytes are not valid UTF-8.", parameter);
        }
    }

    internal static int GetEncodedLength(int byteCount) => ((byteCount / 3) * 4) + (byteCount % 3 == 0 ? 0 : (byteCount % 3) + 1);

    /// <summary>The most bytes <paramref name="charCount"/> characters can decode to.</summary>
    internal static int GetMaxDecodedLength(int charCount) => ((charCount / 4) * 3) + 2;

    internal static void EncodeCore(ReadOnlySpan<byte> bytes, Span<char> chars)
    {
        var i = 0;
        var o = 0;
        for (; i + 2 < bytes.Length; i += 3)
        {
            var v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
            chars[o++] = Alphabet[(v >> 18) & 63];
            chars[o++] = Alphabet[(v >> 12) & 63];
            chars[o++] = Alphabet[(v >> 6) & 63];
            chars[o++] = Alphabet[v & 63];
        }

        var rest = bytes.Length - i;
        if (rest == 1)
        {
            var v = bytes[i] << 16;
            chars[o++] = Alphabet[(v >> 18) & 63];
            chars[o] = Alphabet[(v >> 12) & 63];
        }
        else if (rest == 2)
        {
            var v = (bytes[i] << 16) | (bytes[i + 1] << 8);
            chars[o++] = Alphabet[(v >> 18) & 63];
            chars[o++] = Alphabet[(v >> 12) & 63];
            chars[o] = Alphabet[(v >> 6) & 63];
        }
    }

    /// <summary>Decodes into <paramref name="destination"/>, which must hold <see cref="GetMaxDecodedLength"/> bytes.</summary>
    internal static bool TryDecode(ReadOnlySpan<char> text, Span<byte> destination, out int written, out string error)
    {
        written = 0;

        // Padding is optional, but when present it must complete the last quantum exactly.
        var length = text.Length;
        var padding = 0;
        while (length > 0 && text[length - 1] == '=' && padding < 2)
        {
            length--;
            padding++;
        }

        if (padding > 0 && text.Length % 4 != 0)
        {
            error = "Base64url padding does not complete the last 4-character group.";
            return false;
        }

        if (length % 4 == 1)
        {
            error = "Base64url text has an impossible length (a single character in its last group).";
            return false;
        }

        var map = DecodeMap;
        var o = 0;
        var i = 0;

        // Whole 4-character groups first: one table lookup per character, three bytes out.
        var whole = length & ~3;
        for (; i < whole; i += 4)
        {
            int a = Lookup(map, text[i]), b = Lookup(map, text[i + 1]), c = Lookup(map, text[i + 2]), d = Lookup(map, text[i + 3]);
            if ((a | b | c | d) < 0)
            {
                return Fail(text, i, out error);
            }

            var v = (a << 18) | (b << 12) | (c << 6) | d;
            destination[o] = (byte)(v >> 16);
            destination[o + 1] = (byte)(v >> 8);
            destination[o + 2] = (byte)v;
            o += 3;
        }

        var rest = length - whole;
        if (rest > 0)
        {
            int a = Lookup(map, text[i]), b = Lookup(map, text[i + 1]), c = rest == 3 ? Lookup(map, text[i + 2]) : 0;
            if ((a | b | c) < 0)
            {
                return Fail(text, i, out error);
            }

            var v = (a << 18) | (b << 12) | (c << 6);
            destination[o++] = (byte)(v >> 16);
            if (rest == 3)
            {
                destination[o++] = (byte)(v >> 8);
            }
        }

        written = o;
        error = string.Empty;
        return true;
    }

    private static int Lookup(sbyte[] map, char c) => c < 128 ? map[c] : -1;

    private static bool Fail(ReadOnlySpan<char> text, int groupStart, out string error)
    {
        var i = groupStart;
        while (i < text.Length && text[i] < 128 && DecodeMap[text[i]] >= 0)
        {
            i++;
        }

        error = i < text.Length && text[i] == '='
            ? $"Base64url padding at position {i} is not at the end."
            : $"Character at position {i} is not in the base64url alphabet.";
        return false;
    }

    private static sbyte[] BuildDecodeMap()
    {
        var map = new sbyte[128];
        Array.Fill(map, (sbyte)-1);
        for (var i = 0; i < Alphabet.Length; i++)
        {
            map[Alphabet[i]] = (sbyte)i;
        }

        // The standard alphabet is tolerated on input.
        map['+'] = 62;
        map['/'] = 63;
        return map;
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Mpp.Client.Protocol;

/// <summary>
/// The JSON Canonicalization Scheme (RFC 8785), used for every JSON value MPP encodes into a header:
/// object members sorted by their UTF-16 code units, no insignificant whitespace, numbers in the
/// ECMAScript shortest form, strings with only the mandatory escapes (non-ASCII is written as raw UTF-8,
/// <c>&lt;</c>, <c>&gt;</c> and <c>&amp;</c> are not escaped).
/// </summary>
public static class CanonicalJson
{
    /// <summary>Serializes a JSON value canonically.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The canonical UTF-8 bytes.</returns>
    /// <exception cref="MppProtocolException">The value has duplicate member names, a lone surrogate or a non-finite number.</exception>
    public static byte[] SerializeToUtf8Bytes(JsonElement value)
    {
        using var buffer = new PooledBufferWriter();
        Write(buffer, value);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Serializes a JSON value canonically.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The canonical JSON text.</returns>
    /// <exception cref="MppProtocolException">The value has duplicate member names, a lone surrogate or a non-finite number.</exception>
    public static string Serialize(JsonElement value)
    {
        using var buffer = new PooledBufferWriter();
        Write(buffer, value);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Serializes a JSON value canonically and encodes the bytes as unpadded base64url, as MPP's <c>request</c> and <c>opaque</c> parameters require.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The base64url text.</returns>
    /// <exception cref="MppProtocolException">The value cannot be canonicalized.</exception>
    public static string SerializeToBase64Url(JsonElement value)
    {
        using var buffer = new PooledBufferWriter();
        Write(buffer, value);
        return Base64UrlCodec.Encode(buffer.WrittenSpan);
    }

    internal static void Write(PooledBufferWriter output, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                WriteObject(output, value);
                break;
            case JsonValueKind.Array:
                output.Write((byte)'[');
                var first = true;
                foreach (var item in value.EnumerateArray())
                {
                    if (!first)
                    {
                        output.Write((byte)',');
                    }

                    first = false;
                    Write(output, item);
                }

                output.Write((byte)']');
                break;
            case JsonValueKind.String:
                WriteString(output, GetString(value));
                break;
            case JsonValueKind.Number:
                WriteNumber(output, value);
                break;
            case JsonValueKind.True:
                output.Write("true"u8);
                break;
            case JsonValueKind.False:
                output.Write("false"u8);
                break;
            case JsonValueKind.Null:
                output.Write("null"u8);
                break;
            default:
                throw MppProtocolException.Format($"A JSON value of kind {value.ValueKind} cannot be canonicalized.");
        }
    }

    internal static void WriteString(PooledBufferWriter output, string value)
    {
        output.Write((byte)'"');
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            switch (c)
            {
                case '"':
                    output.Write("\\\""u8);
                    continue;
                case '\\':
                    output.Write("\\\\"u8);
                    continue;
                case '\b':
                    output.Write("\\b"u8);
                    continue;
                case '\f':
                    output.Write("\\f"u8);
                    continue;
                case '\n':
                    output.Write("\\n"u8);
                    continue;
                case '\r':
                    output.Write("\\r"u8);
                    continue;
                case '\t':
                    output.Write("\\t"u8);
                    continue;
            }

            if (c < 0x20)
            {
                output.Write("\\u00"u8);
                output.Write((byte)HexDigit(c >> 4));
                output.Write((byte)HexDigit(c & 0xF));
            }
            else if (c < 0x80)
            {
                output.Write((byte)c);
            }
            else
            {
                if (Rune.DecodeFromUtf16(value.AsSpan(i), out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
                {
                    throw MppProtocolException.Format($"The string has a lone surrogate at index {i}; it cannot be written as UTF-8.");
                }

                var n = rune.EncodeToUtf8(utf8);
                output.Write(utf8[..n]);
                i += consumed - 1;
            }
        }

        output.Write((byte)'"');
    }

    internal static string GetString(JsonElement value)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json refuses escaped lone surrogates when unescaping.
            throw MppProtocolException.Format("A JSON string holds an invalid UTF-16 escape sequence.");
        }
    }

    private static void WriteObject(PooledBufferWriter output, JsonElement value)
    {
        var members = new List<KeyValuePair<string, JsonElement>>();
        foreach (var property in value.EnumerateObject())
        {
            members.Add(new(property.Name, property.Value));
        }

        members.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        output.Write((byte)'{');
        for (var i = 0; i < members.Count; i++)
        {
            if (i > 0)
            {
                if (string.Equals(members[i - 1].Key, members[i].Key, StringComparison.Ordinal))
                {
                    throw MppProtocolException.Format($"The JSON object has the member '{members[i].Key}' more than once.", members[i].Key);
                }

                output.Write((byte)',');
            }

            WriteString(output, members[i].Key);
            output.Write((byte)':');
            Write(output, members[i].Value);
        }

        output.Write((byte)'}');
    }

    private static void WriteNumber(PooledBufferWriter output, JsonElement value)
    {
        var raw = value.GetRawText();
        if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
        {
            throw MppProtocolException.Format($"The JSON number {raw} is outside the IEEE 754 double range that JCS requires.");
        }

        var text = FormatNumber(number);
        foreach (var ch in text)
        {
            output.Write((byte)ch);
        }
    }

    /// <summary>Formats a double as ECMAScript's <c>Number.prototype.toString</c> does (RFC 8785 §3.2.2.3).</summary>
    internal static string FormatNumber(double value)
    {
        if (value == 0)
        {
            return "0"; // also -0
        }

        // "R" gives the shortest digits that round-trip, e.g. "-1.2345E-07" or "123.456".
        var r = value.ToString("R", CultureInfo.InvariantCulture);
        var negative = r[0] == '-';
        var body = negative ? r.AsSpan(1) : r.AsSpan();
        var exponent = 0;
        var e = body.IndexOfAny('E', 'e');
        if (e >= 0)
        {
            exponent = int.Parse(body[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            body = body[..e];
        }

        var dot = body.IndexOf('.');
        var intPart = dot >= 0 ? body[..dot] : body;
        var fracPart = dot >= 0 ? body[(dot + 1)..] : [];
        var digits = string.Concat(intPart, fracPart);

        // value = 0.d1d2...dk × 10^n
        var n = intPart.Length + exponent;
        var lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0')
        {
            lead++;
        }

        digits = digits[lead..];
        n -= lead;
        digits = digits.TrimEnd('0');
        var k = digits.Length;

        var sb = new StringBuilder(32);
        if (negative)
        {
            sb.Append('-');
        }

        if (k <= n && n <= 21)
        {
            sb.Append(digits).Append('0', n - k);
        }
        else if (0 < n && n <= 21)
        {
            sb.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        }
        else if (-6 < n && n <= 0)
        {
            sb.Append("0.").Append('0', -n).Append(digits);
        }
        else
        {
            var exp = n - 1;
            sb.Append(digits[0]);
            if (k > 1)
            {
                sb.Append('.').Append(digits, 1, k - 1);
            }

            sb.Append('e').Append(exp >= 0 ? '+' : '-').Append(Math.Abs(exp).ToString(CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    private static char HexDigit(int value) => (char)(value < 10 ? '0' + value : 'a' + value - 10);
}

using System.Buffers;

namespace Mpp.Client.Protocol;

/// <summary>
/// Walks one <c>WWW-Authenticate</c> field value (RFC 9110 §11.6.1) challenge by challenge, in one
/// linear pass with no backtracking. Payment challenges are read and validated; other schemes
/// (Bearer, Basic, …, with token68 or auth-params) are stepped over.
/// </summary>
/// <remarks>
/// One tolerance, required by the cross-SDK vectors and matching mppx: after a quoted value, text
/// that is not a <c>name=</c> parameter ends the challenge and is skipped up to the next comma
/// outside quotes (so a stray unescaped quote truncates a description instead of failing).
/// Everything else is strict.
/// </remarks>
internal ref struct ChallengeScanner
{
    private const string PaymentScheme = "Payment";

    private readonly string _s;
    private int _pos;

    public ChallengeScanner(string value)
    {
        _s = value;
        _pos = 0;
    }

    /// <summary>
    /// Advances to the next Payment challenge. Returns <see langword="false"/> at the end of the value;
    /// otherwise exactly one of <paramref name="challenge"/> and <paramref name="error"/> is set.
    /// </summary>
    public bool MoveNext(out PaymentChallenge? challenge, out MppProtocolException? error)
    {
        challenge = null;
        error = null;
        while (true)
        {
            SkipWhitespaceAndCommas();
            if (_pos >= _s.Length)
            {
                return false;
            }

            var schemeStart = _pos;
            var schemeLength = ReadToken();
            if (schemeLength == 0)
            {
                SkipToNextComma();
                continue;
            }

            var isPayment = _s.AsSpan(schemeStart, schemeLength).Equals(PaymentScheme, StringComparison.OrdinalIgnoreCase);
            if (_pos < _s.Length && !IsWhitespace(_s[_pos]) && _s[_pos] != ',')
            {
                // Not a scheme (for example a stray "name=value" element); step over it.
                if (isPayment)
                {
                    error = MppProtocolException.Parse($"Expected whitespace after the Payment scheme at position {_pos}.", null, _pos);
                    SkipToNextComma();
                    return true;
                }

                SkipToNextComma();
                continue;
            }

            if (!isPayment)
            {
                SkipOtherChallenge();
                continue;
            }

            challenge = ReadPaymentChallenge(schemeStart, out error);
            return true;
        }
    }

    private PaymentChallenge? ReadPaymentChallenge(int schemeStart, out MppProtocolException? error)
    {
        SkipWhitespace();
        if (_pos >= _s.Length || _s[_pos] == ',')
        {
            error = MppProtocolException.Parse($"The Payment challenge at position {schemeStart} has no parameters.", null, schemeStart);
            return null;
        }

        string? id = null, realm = null, method = null, intent = null, request = null;
        string? expires = null, description = null, digest = null, opaque = null, header = null;
        var seen = 0;
        Span<int> unknown = stackalloc int[ChallengeLimits.MaxParameters * 2];
        var unknownCount = 0;
        var parameterCount = 0;

        while (true)
        {
            var nameStart = _pos;
            var nameLength = ReadToken();
            if (nameLength == 0)
            {
                error = MppProtocolException.Parse($"Expected a parameter name at position {_pos} of the Payment challenge.", null, _pos);
                SkipToNextComma();
                return null;
            }

            SkipWhitespace();
            if (_pos >= _s.Length || _s[_pos] != '=')
            {
                // Reached only after a value followed by whitespace: the rest up to the next comma is not a parameter.
                _pos = nameStart;
                SkipToNextComma();
                break;
            }

            _pos++;
            SkipWhitespace();
            var name = _s.AsSpan(nameStart, nameLength);
            if (++parameterCount > ChallengeLimits.MaxParameters)
            {
                error = MppProtocolException.Parse($"The Payment challenge has more than {ChallengeLimits.MaxParameters} parameters.", null, nameStart);
                SkipToNextComma();
                return null;
            }

            int valueStart, valueEnd;
            bool quoted, escaped = false;
            if (_pos < _s.Length && _s[_pos] == '"')
            {
                quoted = true;
                if (!ReadQuoted(out valueStart, out valueEnd, out escaped, out var badPosition))
                {
                    error = badPosition >= 0
                        ? MppProtocolException.Parse($"Control character at position {badPosition} inside the quoted value of '{name}'.", name.ToString(), badPosition)
                        : MppProtocolException.Parse($"The quoted value of '{name}' starting at position {valueStart - 1} is never closed.", name.ToString(), valueStart - 1);
                    _pos = _s.Length;
                    return null;
                }
            }
            else
            {
                quoted = false;
                valueStart = _pos;
                valueEnd = _pos + ReadToken();
                if (valueEnd == valueStart)
                {
                    error = MppProtocolException.Parse($"Expected a token or quoted-string value for '{name}' at position {_pos}.", name.ToString(), _pos);
                    SkipToNextComma();
                    return null;
                }
            }

            if (valueEnd - valueStart > ChallengeLimits.MaxParameterLength)
            {
                error = MppProtocolException.Parse(
                    $"The value of '{name}' at position {valueStart} is longer than {ChallengeLimits.MaxParameterLength} characters.", name.ToString(), valueStart);
                SkipToNextComma();
                return null;
            }

            var bit = KnownParameterBit(name);
            if (bit != 0)
            {
                if ((seen & bit) != 0)
                {
                    error = MppProtocolException.Parse($"The parameter '{name}' appears twice (position {nameStart}).", name.ToString(), nameStart);
                    SkipToNextComma();
                    return null;
                }

                seen |= bit;
                var value = GetValue(valueStart, valueEnd, escaped);
                if (value is null)
                {
                    // The value is echoed in the credential's JSON, which cannot hold half a UTF-16 character.
                    error = MppProtocolException.Parse($"The value of '{name}' at position {valueStart} holds a \\u escape that is not a whole UTF-16 character.", name.ToString(), valueStart);
                    SkipToNextComma();
                    return null;
                }

                switch (bit)
                {
                    case ParamId: id = value; break;
                    case ParamRealm: realm = value; break;
                    case ParamMethod: method = value; break;
                    case ParamIntent: intent = value; break;
                    case ParamRequest: request = value; break;
                    case ParamExpires: expires = value; break;
                    case ParamDescription: description = value; break;
                    case ParamDigest: digest = value; break;
                    case ParamOpaque: opaque = value; break;
                    default: header = value; break;
                }
            }
            else
            {
                for (var u = 0; u < unknownCount; u++)
                {
                    if (name.Equals(_s.AsSpan(unknown[u * 2], unknown[(u * 2) + 1]), StringComparison.OrdinalIgnoreCase))
                    {
                        error = MppProtocolException.Parse($"The parameter '{name}' appears twice (position {nameStart}).", name.ToString(), nameStart);
                        SkipToNextComma();
                        return null;
                    }
                }

                unknown[unknownCount * 2] = nameStart;
                unknown[(unknownCount * 2) + 1] = nameLength;
                unknownCount++;
            }

            // What follows a value: the end, a comma, or (tolerated) whitespace and the next name=value.
            var afterValue = _pos;
            SkipWhitespace();
            if (_pos >= _s.Length)
            {
                break;
            }

            if (_s[_pos] == ',')
            {
                SkipWhitespaceAndCommas();
                if (_pos >= _s.Length)
                {
                    break;
                }

                if (IsParameterStart())
                {
                    continue;
                }

                // A new challenge begins here; leave the position at its scheme.
                break;
            }

            if (_pos > afterValue && IsParameterStart())
            {
                continue;
            }

            if (quoted)
            {
                // The tolerance described on the type: drop the rest of this element.
                SkipToNextComma();
                break;
            }

            error = MppProtocolException.Parse($"Unexpected character at position {_pos} after the value of '{name}'.", name.ToString(), _pos);
            SkipToNextComma();
            return null;
        }

        return PaymentChallenge.CreateValidated(id, realm, method, intent, request, expires, description, digest, opaque, header, schemeStart, out error);
    }

    private const int ParamId = 1;
    private const int ParamRealm = 2;
    private const int ParamMethod = 4;
    private const int ParamIntent = 8;
    private const int ParamRequest = 16;
    private const int ParamExpires = 32;
    private const int ParamDescription = 64;
    private const int ParamDigest = 128;
    private const int ParamOpaque = 256;
    private const int ParamHeader = 512;

    private static int KnownParameterBit(ReadOnlySpan<char> name)
    {
        return name.Length switch
        {
            2 when name.Equals("id", StringComparison.OrdinalIgnoreCase) => ParamId,
            5 when name.Equals("realm", StringComparison.OrdinalIgnoreCase) => ParamRealm,
            6 when name.Equals("method", StringComparison.OrdinalIgnoreCase) => ParamMethod,
            6 when name.Equals("intent", StringComparison.OrdinalIgnoreCase) => ParamIntent,
            6 when name.Equals("digest", StringComparison.OrdinalIgnoreCase) => ParamDigest,
            6 when name.Equals("opaque", StringComparison.OrdinalIgnoreCase) => ParamOpaque,
            6 when name.Equals("header", StringComparison.OrdinalIgnoreCase) => ParamHeader,
            7 when name.Equals("request", StringComparison.OrdinalIgnoreCase) => ParamRequest,
            7 when name.Equals("expires", StringComparison.OrdinalIgnoreCase) => ParamExpires,
            11 when name.Equals("description", StringComparison.OrdinalIgnoreCase) => ParamDescription,
            _ => 0,
        };
    }

    /// <summary>The value, unescaped; <see langword="null"/> when a <c>\uXXXX</c> escape leaves a lone surrogate.</summary>
    private string? GetValue(int start, int end, bool escaped)
    {
        var raw = _s.AsSpan(start, end - start);
        if (!escaped)
        {
            return WellKnownValues.Intern(raw) ?? raw.ToString();
        }

        // Unescape: "\x" -> "x", and mppx's "\uXXXX" -> the UTF-16 unit.
        var builder = raw.Length <= 256 ? new ValueStringBuilder(stackalloc char[256]) : new ValueStringBuilder(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c != '\\')
            {
                builder.Append(c);
                continue;
            }

            i++;
            if (raw[i] == 'u' && TryHex4(raw, i + 1, out var unit))
            {
                builder.Append(unit);
                i += 4;
            }
            else
            {
                builder.Append(raw[i]);
            }
        }

        var value = builder.ToStringAndDispose();
        return HasLoneSurrogate(value) ? null : value;
    }

    private static bool HasLoneSurrogate(ReadOnlySpan<char> value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryHex4(ReadOnlySpan<char> s, int start, out char value)
    {
        value = '\0';
        if (start + 4 > s.Length)
        {
            return false;
        }

        var v = 0;
        for (var i = start; i < start + 4; i++)
        {
            var d = HexValue(s[i]);
            if (d < 0)
            {
                return false;
            }

            v = (v << 4) | d;
        }

        value = (char)v;
        return true;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>At a quote: reads to the closing quote. Fails when the value never closes or holds a control character.</summary>
    private bool ReadQuoted(out int start, out int end, out bool escaped, out int badPosition)
    {
        escaped = false;
        badPosition = -1;
        start = ++_pos;
        while (_pos < _s.Length)
        {
            // Jump (vectorized) to the next character that needs a decision.
            var next = _s.AsSpan(_pos).IndexOfAny(QuotedStops);
            if (next < 0)
            {
                break;
            }

            _pos += next;
            var c = _s[_pos];
            if (c == '"')
            {
                end = _pos;
                _pos++;
                return true;
            }

            if (c == '\\')
            {
                escaped = true;
                _pos++;
                if (_pos >= _s.Length)
                {
                    break;
                }

                c = _s[_pos];
                if (c is '"' or '\\' or '\t' || (c >= 0x20 && c != 0x7F))
                {
                    _pos++;
                    continue;
                }
            }
            else if (c == '\t')
            {
                _pos++;
                continue;
            }

            badPosition = _pos;
            end = _pos;
            return false;
        }

        end = _s.Length;
        _pos = _s.Length;
        return false;
    }

    /// <summary>Characters that end a run of plain quoted-string text: the quote, the backslash and the controls.</summary>
    private static readonly SearchValues<char> QuotedStops = SearchValues.Create(
        "\"\\\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b\u000c\u000d\u000e\u000f" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f");

    /// <summary>Is the text at the position <c>token BWS "="</c>? Does not move.</summary>
    private readonly bool IsParameterStart()
    {
        var p = _pos;
        var tokenStart = p;
        while (p < _s.Length && IsTokenChar(_s[p]))
        {
            p++;
        }

        if (p == tokenStart)
        {
            return false;
        }

        while (p < _s.Length && IsWhitespace(_s[p]))
        {
            p++;
        }

        return p < _s.Length && _s[p] == '=';
    }

    /// <summary>Steps over a non-Payment challenge's token68 or auth-params, stopping at the next challenge.</summary>
    private void SkipOtherChallenge()
    {
        while (true)
        {
            SkipWhitespace();
            if (_pos >= _s.Length)
            {
                return;
            }

            if (_s[_pos] != ',')
            {
                // One element: a token68 (with '=' padding) or name=value.
                var elementStart = _pos;
                while (_pos < _s.Length && (IsTokenChar(_s[_pos]) || _s[_pos] == '/'))
                {
                    _pos++;
                }

                SkipWhitespace();
                if (_pos < _s.Length && _s[_pos] == '=')
                {
                    while (_pos < _s.Length && _s[_pos] == '=')
                    {
                        _pos++;
                    }

                    SkipWhitespace();
                    if (_pos < _s.Length && _s[_pos] == '"')
                    {
                        ReadQuoted(out _, out _, out _, out var bad);
                        if (bad >= 0)
                        {
                            SkipToNextComma();
                        }
                    }
                    else
                    {
                        ReadToken();
                    }
                }

                SkipWhitespace();
                if (_pos == elementStart || (_pos < _s.Length && _s[_pos] != ','))
                {
                    SkipToNextComma();
                }

                if (_pos >= _s.Length)
                {
                    return;
                }
            }

            // At a comma: the next element is either a parameter of this challenge or a new challenge.
            SkipWhitespaceAndCommas();
            if (_pos >= _s.Length || !IsParameterStart())
            {
                return;
            }
        }
    }

    /// <summary>Moves to the next comma outside a quoted-string (or the end), honouring backslash escapes.</summary>
    private void SkipToNextComma()
    {
        var inQuotes = false;
        while (_pos < _s.Length)
        {
            var c = _s[_pos];
            if (inQuotes)
            {
                if (c == '\\')
                {
                    _pos++;
                }
                else if (c == '"')
                {
                    inQuotes = false;
                }
            }
            else if (c == '"')
            {
                inQuotes = true;
            }
            else if (c == ',')
            {
                return;
            }

            _pos++;
        }
    }

    private int ReadToken()
    {
        var start = _pos;
        while (_pos < _s.Length && IsTokenChar(_s[_pos]))
        {
            _pos++;
        }

        return _pos - start;
    }

    private void SkipWhitespace()
    {
        while (_pos < _s.Length && IsWhitespace(_s[_pos]))
        {
            _pos++;
        }
    }

    private void SkipWhitespaceAndCommas()
    {
        while (_pos < _s.Length && (IsWhitespace(_s[_pos]) || _s[_pos] == ','))
        {
            _pos++;
        }
    }

    private static bool IsWhitespace(char c) => c is ' ' or '\t';

    /// <summary>RFC 9110 <c>tchar</c>.</summary>
    internal static bool IsTokenChar(char c)
        => c < 128 && TokenChars[c];

    private static readonly bool[] TokenChars = BuildTokenChars();

    private static bool[] BuildTokenChars()
    {
        var table = new bool[128];
        for (var c = '0'; c <= '9'; c++)
        {
            table[c] = true;
        }

        for (var c = 'a'; c <= 'z'; c++)
        {
            table[c] = true;
            table[char.ToUpperInvariant(c)] = true;
        }

        foreach (var c in "!#$%&'*+-.^_`|~")
        {
            table[c] = true;
        }

        return table;
    }
}

/// <summary>A small stack-first string builder, so unescaping a short value allocates only the result.</summary>
internal ref struct ValueStringBuilder
{
    private char[]? _rented;
    private Span<char> _chars;
    private int _length;

    public ValueStringBuilder(Span<char> initial)
    {
        _rented = null;
        _chars = initial;
        _length = 0;
    }

    public ValueStringBuilder(int capacity)
    {
        _rented = ArrayPool<char>.Shared.Rent(capacity);
        _chars = _rented;
        _length = 0;
    }

    public void Append(char c)
    {
        if (_length == _chars.Length)
        {
            var grown = ArrayPool<char>.Shared.Rent(Math.Max(16, _chars.Length * 2));
            _chars[.._length].CopyTo(grown);
            if (_rented is not null)
            {
                ArrayPool<char>.Shared.Return(_rented);
            }

            _rented = grown;
            _chars = grown;
        }

        _chars[_length++] = c;
    }

    public string ToStringAndDispose()
    {
        var result = new string(_chars[.._length]);
        if (_rented is not null)
        {
            ArrayPool<char>.Shared.Return(_rented);
        }

        this = default;
        return result;
    }
}

/// <summary>Common parameter values, returned without allocating a new string.</summary>
internal static class WellKnownValues
{
    public static string? Intern(ReadOnlySpan<char> value) => value switch
    {
        "tempo" => "tempo",
        "stripe" => "stripe",
        "card" => "card",
        "lightning" => "lightning",
        "solana" => "solana",
        "evm" => "evm",
        "charge" => "charge",
        "session" => "session",
        "Payment-Authorization" => "Payment-Authorization",
        "Authorization" => "Authorization",
        _ => null,
    };
}

using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Mpp.Client.Protocol;

/// <summary>
/// A payment credential: the echoed challenge, the method-specific proof and optionally the payer.
/// On the wire it is <c>Payment &lt;base64url(JSON)&gt;</c> in <c>Authorization</c> or, when the challenge asks,
/// <c>Payment-Authorization</c>. The JSON is written canonically (JCS), byte-identical to the reference SDK.
/// </summary>
/// <remarks>A credential is a bearer token: <see cref="ToString"/> never shows it, and it must not be logged.</remarks>
public sealed class PaymentCredential
{
    private readonly byte[]? _canonicalPayload; // the payload's JCS bytes when the method wrote them itself: not canonicalized again

    /// <summary>Initializes a credential.</summary>
    /// <param name="challenge">The challenge being answered; echoed exactly.</param>
    /// <param name="payload">The method-specific proof: a JSON object.</param>
    /// <param name="source">The payer identity (a DID string, or an object), or <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The payload is not an object, or the source is neither a string nor an object.</exception>
    public PaymentCredential(PaymentChallenge challenge, JsonElement payload, JsonElement? source = null)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        if (payload.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException("The credential payload must be a JSON object.", nameof(payload));
        }

        if (source is { } s && s.ValueKind is not (JsonValueKind.String or JsonValueKind.Object))
        {
            throw new ArgumentException("The credential source must be a string or a JSON object.", nameof(source));
        }

        Challenge = challenge;
        Payload = payload;
        Source = source;
    }

    /// <summary>Initializes a credential whose source is a DID string.</summary>
    /// <param name="challenge">The challenge being answered.</param>
    /// <param name="payload">The method-specific proof: a JSON object.</param>
    /// <param name="source">The payer DID, for example <c>did:pkh:eip155:1337:0x…</c>.</param>
    public PaymentCredential(PaymentChallenge challenge, JsonElement payload, string source)
        : this(challenge, payload, StringElement(source))
    {
    }

    private PaymentCredential(PaymentChallenge challenge, JsonElement payload, JsonElement source, byte[] canonicalPayload)
        : this(challenge, payload, source)
    {
        _canonicalPayload = canonicalPayload;
    }

    /// <summary>Gets the challenge this credential answers.</summary>
    public PaymentChallenge Challenge { get; }

    /// <summary>Gets the method-specific proof (a JSON object).</summary>
    public JsonElement Payload { get; }

    /// <summary>Gets the payer identity, or <see langword="null"/>.</summary>
    public JsonElement? Source { get; }

    /// <summary>Gets the request header field this credential belongs in.</summary>
    public string HeaderName => Challenge.CredentialHeaderName;

    /// <summary>Formats the field value, <c>Payment &lt;base64url&gt;</c>.</summary>
    /// <returns>The field value.</returns>
    /// <exception cref="MppProtocolException">The payload or source cannot be canonicalized.</exception>
    public string ToHeaderValue()
    {
        using var buffer = new PooledBufferWriter(4096);
        WriteJson(buffer);
        var json = buffer.WrittenSpan;
        var encodedLength = Base64UrlCodec.GetEncodedLength(json.Length);
        var rented = ArrayPool<char>.Shared.Rent(PaymentChallenge.Scheme.Length + 1 + encodedLength);
        try
        {
            var chars = rented.AsSpan(0, PaymentChallenge.Scheme.Length + 1 + encodedLength);
            PaymentChallenge.Scheme.AsSpan().CopyTo(chars);
            chars[PaymentChallenge.Scheme.Length] = ' ';
            Base64UrlCodec.EncodeCore(json, chars[(PaymentChallenge.Scheme.Length + 1)..]);
            return new string(chars);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>Gets the credential JSON (canonical), as it is encoded on the wire.</summary>
    /// <returns>The JSON text. It is a bearer token: do not log it.</returns>
    public string ToJson()
    {
        using var buffer = new PooledBufferWriter(4096);
        WriteJson(buffer);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Parses an <c>Authorization</c> or <c>Payment-Authorization</c> field value. When the value lists several
    /// schemes (<c>Bearer x, Payment eyJ…</c>) the Payment one is read.
    /// </summary>
    /// <param name="headerValue">The field value.</param>
    /// <returns>The credential.</returns>
    /// <exception cref="MppProtocolException">There is no Payment credential, or it is malformed.</exception>
    public static PaymentCredential Parse(string headerValue)
    {
        ArgumentNullException.ThrowIfNull(headerValue);
        if (headerValue.Length > ChallengeLimits.MaxEncodedValueLength)
        {
            throw MppProtocolException.Parse($"The credential is longer than {ChallengeLimits.MaxEncodedValueLength} characters.");
        }

        var token = FindPaymentToken(headerValue);
        var bytes = DecodeToken(token);
        JsonObjectValidator.ValidateObject(bytes, "credential");
        using var document = JsonDocument.Parse(bytes);
        return FromJson(document.RootElement);
    }

    /// <summary>Tries to parse a credential field value.</summary>
    /// <param name="headerValue">The field value.</param>
    /// <param name="credential">The credential, when valid.</param>
    /// <returns><see langword="true"/> when a valid Payment credential was read.</returns>
    public static bool TryParse([NotNullWhen(true)] string? headerValue, [NotNullWhen(true)] out PaymentCredential? credential)
    {
        credential = null;
        if (headerValue is null)
        {
            return false;
        }

        try
        {
            credential = Parse(headerValue);
            return true;
        }
        catch (MppProtocolException)
        {
            return false;
        }
    }

    /// <summary>Reads a credential from its JSON object (the MCP <c>_meta</c> form and the decoded header form).</summary>
    /// <param name="json">The credential object.</param>
    /// <returns>The credential; its elements are copies independent of <paramref name="json"/>'s document.</returns>
    /// <exception cref="MppProtocolException">A required member is missing or invalid.</exception>
    public static PaymentCredential FromJson(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw MppProtocolException.Parse("The credential must be a JSON object.", "credential");
        }

        if (!json.TryGetProperty("challenge", out var challengeJson))
        {
            throw MppProtocolException.Parse("The credential has no 'challenge'.", "challenge");
        }

        if (challengeJson.ValueKind != JsonValueKind.Object)
        {
            throw MppProtocolException.Parse("The credential 'challenge' must be an object echoing the challenge.", "challenge");
        }

        if (!json.TryGetProperty("payload", out var payload))
        {
            throw MppProtocolException.Parse("The credential has no 'payload'.", "payload");
        }

        if (payload.ValueKind != JsonValueKind.Object)
        {
            throw MppProtocolException.Parse("The credential 'payload' must be a JSON object.", "payload");
        }

        JsonElement? source = null;
        if (json.TryGetProperty("source", out var sourceJson) && sourceJson.ValueKind != JsonValueKind.Null)
        {
            if (sourceJson.ValueKind is not (JsonValueKind.String or JsonValueKind.Object))
            {
                throw MppProtocolException.Parse("The credential 'source' must be a string or an object.", "source");
            }

            source = sourceJson.Clone();
        }

        var challenge = PaymentChallenge.FromJson(challengeJson);
        return new PaymentCredential(challenge, payload.Clone(), source);
    }

    /// <summary>Names the challenge answered; never shows the token.</summary>
    /// <returns>A redacted description.</returns>
    public override string ToString() => $"Payment credential for challenge {Challenge.Id} ({Challenge.Method}/{Challenge.Intent})";

    /// <summary>
    /// A credential whose payload a method wrote in canonical form itself (members in JCS order, strings JCS-escaped), so
    /// encoding it copies those bytes instead of canonicalizing the payload again: a session voucher's hot path.
    /// </summary>
    /// <param name="challenge">The challenge answered.</param>
    /// <param name="canonicalPayload">The payload's canonical JSON (an object); kept, not copied.</param>
    /// <param name="source">The payer DID.</param>
    /// <returns>The credential.</returns>
    internal static PaymentCredential FromCanonicalPayload(PaymentChallenge challenge, byte[] canonicalPayload, string source)
    {
        var reader = new Utf8JsonReader(canonicalPayload);
        var payload = JsonElement.ParseValue(ref reader);
        return new PaymentCredential(challenge, payload, StringElement(source), canonicalPayload);
    }

    internal void WriteJson(PooledBufferWriter output)
    {
        output.Write("{\"challenge\":"u8);
        Challenge.WriteJson(output, decodeRequest: false);
        output.Write(",\"payload\":"u8);
        if (_canonicalPayload is not null)
        {
            output.Write(_canonicalPayload);
        }
        else
        {
            CanonicalJson.Write(output, Payload);
        }

        if (Source is { } source)
        {
            output.Write(",\"source\":"u8);
            CanonicalJson.Write(output, source);
        }

        output.Write((byte)'}');
    }

    private static ReadOnlySpan<char> FindPaymentToken(string value)
    {
        // A field value may list several credentials; base64url and token68 hold no commas.
        var rest = value.AsSpan();
        while (true)
        {
            var comma = rest.IndexOf(',');
            var element = (comma < 0 ? rest : rest[..comma]).Trim(" \t");
            if (element.Length > PaymentChallenge.Scheme.Length &&
                element.StartsWith(PaymentChallenge.Scheme, StringComparison.OrdinalIgnoreCase) &&
                element[PaymentChallenge.Scheme.Length] is ' ' or '\t')
            {
                var token = element[PaymentChallenge.Scheme.Length..].TrimStart(" \t");
                if (!token.IsEmpty)
                {
                    return token;
                }
            }

            if (comma < 0)
            {
                break;
            }

            rest = rest[(comma + 1)..];
        }

        throw MppProtocolException.Parse("The value holds no 'Payment <base64url>' credential.");
    }

    private static byte[] DecodeToken(ReadOnlySpan<char> token)
    {
        var buffer = new byte[Base64UrlCodec.GetMaxDecodedLength(token.Length)];
        if (!Base64UrlCodec.TryDecode(token, buffer, out var written, out var reason))
        {
            throw MppProtocolException.Parse($"The credential is not base64url: {reason}", "credential");
        }

        return buffer.AsSpan(0, written).ToArray();
    }

    private static JsonElement StringElement(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        using var buffer = new PooledBufferWriter(value.Length + 8);
        CanonicalJson.WriteString(buffer, value);
        using var document = JsonDocument.Parse(buffer.WrittenSpan.ToArray());
        return document.RootElement.Clone();
    }
}

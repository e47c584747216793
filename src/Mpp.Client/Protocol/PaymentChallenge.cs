using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Mpp.Client.Protocol;

/// <summary>
/// One <c>WWW-Authenticate: Payment …</c> challenge. Every value is kept exactly as received, so that the
/// credential echoes it byte for byte (the server binds <c>id</c> to them with an HMAC).
/// </summary>
public sealed class PaymentChallenge
{
    /// <summary>The authentication scheme name, <c>Payment</c>.</summary>
    public const string Scheme = "Payment";

    private JsonElementBox? _request;
    private byte[]? _echo; // the canonical echo a credential carries, written once: a session answers one challenge with every voucher

    private PaymentChallenge(
        string id,
        string realm,
        string method,
        string intent,
        string requestEncoded,
        string? expiresText,
        DateTimeOffset? expires,
        string? description,
        string? digest,
        string? opaque,
        string? header)
    {
        Id = id;
        Realm = realm;
        Method = method;
        Intent = intent;
        RequestEncoded = requestEncoded;
        ExpiresText = expiresText;
        Expires = expires;
        Description = description;
        Digest = digest;
        Opaque = opaque;
        Header = header;
    }

    /// <summary>Gets the challenge id (non-empty), echoed unchanged in the credential.</summary>
    public string Id { get; }

    /// <summary>Gets the protection space, usually the API host.</summary>
    public string Realm { get; }

    /// <summary>Gets the payment method id: lowercase ASCII letters, for example <c>tempo</c> or <c>stripe</c>.</summary>
    public string Method { get; }

    /// <summary>Gets the intent, for example <c>charge</c> or <c>session</c>. Unknown intents parse; selection filters them.</summary>
    public string Intent { get; }

    /// <summary>Gets the <c>request</c> parameter exactly as received: base64url of a JSON object.</summary>
    public string RequestEncoded { get; }

    /// <summary>Gets the decoded <c>request</c> object (decoded on first use).</summary>
    public JsonElement Request => (_request ??= new JsonElementBox(DecodeJsonObject(RequestEncoded, "request"))).Value;

    /// <summary>Gets the <c>expires</c> parameter exactly as received, or <see langword="null"/>.</summary>
    public string? ExpiresText { get; }

    /// <summary>Gets the parsed <c>expires</c> instant, or <see langword="null"/> when the challenge has none.</summary>
    public DateTimeOffset? Expires { get; }

    /// <summary>Gets the human-readable description. Display only: it is not bound to the id.</summary>
    public string? Description { get; }

    /// <summary>Gets the body digest (for example <c>sha-256=:…:</c>) exactly as received, or <see langword="null"/>.</summary>
    public string? Digest { get; }

    /// <summary>Gets the <c>opaque</c> parameter exactly as received (base64url of server data), or <see langword="null"/>.</summary>
    public string? Opaque { get; }

    /// <summary>
    /// Gets the <c>header</c> parameter with the spelling received when it selects <c>Payment-Authorization</c>;
    /// <see langword="null"/> when absent or <c>Authorization</c> (the implicit default).
    /// </summary>
    public string? Header { get; }

    /// <summary>Gets the request header field the credential for this challenge goes in: <c>Authorization</c> or <c>Payment-Authorization</c>.</summary>
    public string CredentialHeaderName => Header is null ? MppHeaderNames.Authorization : MppHeaderNames.PaymentAuthorization;

    /// <summary>Is the challenge expired at <paramref name="now"/>, or will it be within <paramref name="margin"/>?</summary>
    /// <param name="now">The current time, from a <see cref="TimeProvider"/>.</param>
    /// <param name="margin">How long before <see cref="Expires"/> a challenge already counts as expired.</param>
    /// <returns><see langword="true"/> when the challenge must not be paid; a challenge without <c>expires</c> never expires.</returns>
    public bool IsExpired(DateTimeOffset now, TimeSpan margin = default) => Expires is { } expires && expires - margin <= now;

    /// <summary>Decodes the <c>opaque</c> parameter as a JSON object, when it is one.</summary>
    /// <param name="value">The decoded object.</param>
    /// <returns><see langword="true"/> when <see cref="Opaque"/> is base64url of a JSON object.</returns>
    public bool TryGetOpaqueJson(out JsonElement value)
    {
        value = default;
        if (Opaque is null)
        {
            return false;
        }

        try
        {
            value = DecodeJsonObject(Opaque, "opaque");
            return true;
        }
        catch (MppProtocolException)
        {
            return false;
        }
    }

    /// <summary>Parses the first Payment challenge in one <c>WWW-Authenticate</c> field value.</summary>
    /// <param name="headerValue">The field value; other schemes in it are skipped.</param>
    /// <returns>The challenge.</returns>
    /// <exception cref="MppProtocolException">The value holds no Payment challenge, or the first one is malformed.</exception>
    public static PaymentChallenge Parse(string headerValue)
    {
        ArgumentNullException.ThrowIfNull(headerValue);
        if (headerValue.Length > ChallengeLimits.MaxChallengeHeaderLength)
        {
            throw MppProtocolException.Parse($"The WWW-Authenticate value is longer than {ChallengeLimits.MaxChallengeHeaderLength} characters.");
        }

        var scanner = new ChallengeScanner(headerValue);
        if (!scanner.MoveNext(out var challenge, out var error))
        {
            throw MppProtocolException.Parse("The WWW-Authenticate value holds no Payment challenge.");
        }

        return challenge ?? throw error!;
    }

    /// <summary>Tries to parse the first Payment challenge in one <c>WWW-Authenticate</c> field value.</summary>
    /// <param name="headerValue">The field value.</param>
    /// <param name="challenge">The challenge, when one was read.</param>
    /// <returns><see langword="true"/> when a valid Payment challenge was read.</returns>
    public static bool TryParse([NotNullWhen(true)] string? headerValue, [NotNullWhen(true)] out PaymentChallenge? challenge)
    {
        challenge = null;
        if (headerValue is null || headerValue.Length > ChallengeLimits.MaxChallengeHeaderLength)
        {
            return false;
        }

        var scanner = new ChallengeScanner(headerValue);
        return scanner.MoveNext(out challenge, out _) && challenge is not null;
    }

    /// <summary>
    /// Reads every Payment challenge from every <c>WWW-Authenticate</c> field value: several challenges may
    /// share one comma-joined value, and other schemes are skipped. Malformed Payment challenges do not
    /// stop the others; they are reported in <see cref="PaymentChallengeParseResult.Errors"/>. The work is
    /// bounded by size, not count: values longer than <see cref="ChallengeLimits.MaxChallengeHeaderLength"/>
    /// together are not read at all (<see cref="PaymentChallengeParseResult.ExceedsSizeLimit"/>); within it,
    /// every challenge is read in one linear pass.
    /// </summary>
    /// <param name="headerValues">The raw field values, in the order received.</param>
    /// <returns>The valid challenges and the errors, each in order.</returns>
    public static PaymentChallengeParseResult ParseAll(IEnumerable<string> headerValues)
    {
        ArgumentNullException.ThrowIfNull(headerValues);

        // The values are measured before any is read, so a lazy sequence is read once into a list.
        return headerValues is IReadOnlyCollection<string> collection ? ParseAllCore(collection) : ParseAllCore(headerValues.ToList());
    }

    /// <summary>Reads every Payment challenge from a response's raw <c>WWW-Authenticate</c> values (no re-formatting by <see cref="HttpClient"/>).</summary>
    /// <param name="headers">The response headers.</param>
    /// <returns>The valid challenges and the errors.</returns>
    public static PaymentChallengeParseResult ParseAll(HttpResponseHeaders headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return headers.NonValidated.TryGetValues(MppHeaderNames.WwwAuthenticate, out var values)
            ? ParseAllCore(values)
            : new PaymentChallengeParseResult([], []);
    }

    private static PaymentChallengeParseResult ParseAllCore<TValues>(TValues values)
        where TValues : IEnumerable<string>
    {
        long total = 0;
        foreach (var value in values)
        {
            total += value?.Length ?? 0;
        }

        if (total > ChallengeLimits.MaxChallengeHeaderLength)
        {
            var tooLarge = MppProtocolException.Parse(
                $"The WWW-Authenticate values hold {total} characters together, more than the {ChallengeLimits.MaxChallengeHeaderLength} read for one response; none was read.");
            return new PaymentChallengeParseResult([], [tooLarge], exceedsSizeLimit: true);
        }

        var challenges = new List<PaymentChallenge>();
        List<MppProtocolException>? errors = null;
        foreach (var value in values)
        {
            if (value is null)
            {
                continue;
            }

            var scanner = new ChallengeScanner(value);
            while (scanner.MoveNext(out var challenge, out var error))
            {
                if (challenge is not null)
                {
                    challenges.Add(challenge);
                }
                else
                {
                    (errors ??= []).Add(error!);
                }
            }
        }

        return new PaymentChallengeParseResult(challenges, errors ?? (IReadOnlyList<MppProtocolException>)[]);
    }

    /// <summary>
    /// Builds a challenge from values a server chose (the test kit and servers use this); the request object
    /// is encoded with JCS. Every value is validated as the parser would.
    /// </summary>
    /// <param name="id">The challenge id; see <see cref="PaymentChallengeId"/> for the HMAC-bound form.</param>
    /// <param name="realm">The protection space.</param>
    /// <param name="method">The payment method id.</param>
    /// <param name="intent">The intent.</param>
    /// <param name="request">The request object.</param>
    /// <param name="expires">RFC 3339 expiry text (see <see cref="FormatTimestamp"/>), or <see langword="null"/>.</param>
    /// <param name="description">A display description, or <see langword="null"/>.</param>
    /// <param name="digest">A body digest, or <see langword="null"/>.</param>
    /// <param name="opaque">Base64url opaque server data, or <see langword="null"/>.</param>
    /// <param name="header"><c>Payment-Authorization</c> to ask for the credential in that field, or <see langword="null"/>.</param>
    /// <returns>The challenge.</returns>
    /// <exception cref="MppProtocolException">A value is invalid.</exception>
    public static PaymentChallenge Create(
        string id,
        string realm,
        string method,
        string intent,
        JsonElement request,
        string? expires = null,
        string? description = null,
        string? digest = null,
        string? opaque = null,
        string? header = null)
    {
        var encoded = EncodeRequest(request);
        return CreateValidated(id, realm, method, intent, encoded, expires, description, digest, opaque, header, null, out var error)
            ?? throw error!;
    }

    /// <summary>Builds a challenge whose id is the HMAC binding of its values (<see cref="PaymentChallengeId"/>).</summary>
    /// <param name="secret">The server secret, at least <see cref="PaymentChallengeId.MinimumSecretLength"/> bytes.</param>
    /// <param name="realm">The protection space.</param>
    /// <param name="method">The payment method id.</param>
    /// <param name="intent">The intent.</param>
    /// <param name="request">The request object.</param>
    /// <param name="expires">RFC 3339 expiry text, or <see langword="null"/>.</param>
    /// <param name="description">A display description (not bound), or <see langword="null"/>.</param>
    /// <param name="digest">A body digest, or <see langword="null"/>.</param>
    /// <param name="opaque">Base64url opaque server data, or <see langword="null"/>.</param>
    /// <param name="header"><c>Payment-Authorization</c>, or <see langword="null"/>.</param>
    /// <returns>The challenge.</returns>
    /// <exception cref="ArgumentException">The secret is shorter than 32 bytes.</exception>
    /// <exception cref="MppProtocolException">A value is invalid.</exception>
    public static PaymentChallenge CreateBound(
        ReadOnlySpan<byte> secret,
        string realm,
        string method,
        string intent,
        JsonElement request,
        string? expires = null,
        string? description = null,
        string? digest = null,
        string? opaque = null,
        string? header = null)
    {
        var encoded = EncodeRequest(request);
        var id = PaymentChallengeId.Compute(secret, realm, method, intent, encoded, expires, digest, opaque, header);
        return CreateValidated(id, realm, method, intent, encoded, expires, description, digest, opaque, header, null, out var error)
            ?? throw error!;
    }

    /// <summary>
    /// Reads a challenge from its JSON form: the credential's echo (<c>request</c> as base64url text) or the
    /// JSON-RPC/MCP form (<c>request</c> as an object). Unknown members are ignored.
    /// </summary>
    /// <param name="json">The JSON object.</param>
    /// <returns>The challenge.</returns>
    /// <exception cref="MppProtocolException">A required member is missing or a value is invalid.</exception>
    public static PaymentChallenge FromJson(JsonElement json)
    {
        try
        {
            return FromJsonCore(json);
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json refuses to read names or strings holding invalid UTF-8 or an escaped lone surrogate.
            throw MppProtocolException.Parse("The challenge holds a name or string that is not valid UTF-8 or UTF-16.", "challenge");
        }
    }

    private static PaymentChallenge FromJsonCore(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw MppProtocolException.Parse("The challenge must be a JSON object.", "challenge");
        }

        string? id = null, realm = null, method = null, intent = null, request = null;
        string? expires = null, description = null, digest = null, opaque = null, header = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var member in json.EnumerateObject())
        {
            if (!seen.Add(member.Name))
            {
                throw MppProtocolException.Parse($"The challenge repeats the member '{member.Name}'.", member.Name);
            }

            switch (member.Name)
            {
                case "id": id = RequireString(member); break;
                case "realm": realm = RequireString(member); break;
                case "method": method = RequireString(member); break;
                case "intent": intent = RequireString(member); break;
                case "expires": expires = RequireString(member); break;
                case "description": description = RequireString(member); break;
                case "digest": digest = RequireString(member); break;
                case "opaque": opaque = RequireString(member); break;
                case "header": header = RequireString(member); break;
                case "request":
                    request = member.Value.ValueKind switch
                    {
                        JsonValueKind.String => member.Value.GetString(),
                        JsonValueKind.Object => EncodeRequest(member.Value),
                        _ => throw MppProtocolException.Parse("The challenge member 'request' must be base64url text or a JSON object.", "request"),
                    };
                    break;
            }
        }

        return CreateValidated(id, realm, method, intent, request, expires, description, digest, opaque, header, null, out var error)
            ?? throw error!;
    }

    /// <summary>Formats the challenge as a <c>WWW-Authenticate</c> field value.</summary>
    /// <returns>The field value, <c>Payment id="…", realm="…", …</c>.</returns>
    /// <exception cref="MppProtocolException">A value contains CR, LF or another control character.</exception>
    public string ToHeaderValue()
    {
        var sb = new StringBuilder(128 + RequestEncoded.Length);
        sb.Append(Scheme).Append(' ');
        AppendParameter(sb, "id", Id, first: true);
        AppendParameter(sb, "realm", Realm);
        AppendParameter(sb, "method", Method);
        AppendParameter(sb, "intent", Intent);
        AppendParameter(sb, "request", RequestEncoded);
        AppendParameter(sb, "description", Description);
        AppendParameter(sb, "digest", Digest);
        AppendParameter(sb, "expires", ExpiresText);
        AppendParameter(sb, "header", Header);
        AppendParameter(sb, "opaque", Opaque);
        return sb.ToString();
    }

    /// <summary>
    /// Writes the challenge as canonical (JCS) JSON: with <paramref name="decodeRequest"/> the <c>request</c>
    /// member is the decoded object (the MCP and conformance form), otherwise the base64url text exactly as
    /// received (the credential echo).
    /// </summary>
    /// <param name="decodeRequest">Whether <c>request</c> is written as an object.</param>
    /// <returns>The JSON text.</returns>
    public string ToJson(bool decodeRequest = true)
    {
        using var buffer = new PooledBufferWriter();
        WriteJson(buffer, decodeRequest);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>A short description for logs: id, method, intent and realm. Challenges carry no secrets.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => $"Payment challenge {Id} ({Method}/{Intent}, realm \"{Realm}\")";

    /// <summary>Formats an instant as RFC 3339 UTC with milliseconds (<c>2026-01-01T00:05:00.000Z</c>), the form mppx servers emit.</summary>
    /// <param name="value">The instant.</param>
    /// <returns>The text.</returns>
    public static string FormatTimestamp(DateTimeOffset value) => Rfc3339.Format(value);

    /// <summary>Writes the canonical JSON form; keys in JCS order (all challenge members are strings).</summary>
    internal void WriteJson(PooledBufferWriter output, bool decodeRequest)
    {
        if (decodeRequest)
        {
            WriteJsonCore(output, decodeRequest: true);
            return;
        }

        // Immutable, so the echo is the same bytes every time (a benign race may build it twice).
        if (_echo is null)
        {
            using var echo = new PooledBufferWriter(512);
            WriteJsonCore(echo, decodeRequest: false);
            _echo = echo.WrittenSpan.ToArray();
        }

        output.Write(_echo);
    }

    private void WriteJsonCore(PooledBufferWriter output, bool decodeRequest)
    {
        output.Write((byte)'{');
        var first = true;
        WriteMember(output, "description", Description, ref first);
        WriteMember(output, "digest", Digest, ref first);
        WriteMember(output, "expires", ExpiresText, ref first);
        WriteMember(output, "header", Header, ref first);
        WriteMember(output, "id", Id, ref first);
        WriteMember(output, "intent", Intent, ref first);
        WriteMember(output, "method", Method, ref first);
        WriteMember(output, "opaque", Opaque, ref first);
        WriteMember(output, "realm", Realm, ref first);
        output.Write(",\"request\":"u8);
        if (decodeRequest)
        {
            CanonicalJson.Write(output, Request);
        }
        else
        {
            CanonicalJson.WriteString(output, RequestEncoded);
        }

        output.Write((byte)'}');
    }

    private static void WriteMember(PooledBufferWriter output, string name, string? value, ref bool first)
    {
        if (value is null)
        {
            return;
        }

        if (!first)
        {
            output.Write((byte)',');
        }

        first = false;
        CanonicalJson.WriteString(output, name);
        output.Write((byte)':');
        CanonicalJson.WriteString(output, value);
    }

    /// <summary>Validates parsed or supplied values and builds the challenge; on failure returns null and the error.</summary>
    internal static PaymentChallenge? CreateValidated(
        string? id,
        string? realm,
        string? method,
        string? intent,
        string? request,
        string? expires,
        string? description,
        string? digest,
        string? opaque,
        string? header,
        int? position,
        out MppProtocolException? error)
    {
        error = null;

        // Built only on the error path, so a valid challenge costs no extra allocation.
        string Where() => position is { } p ? $" (challenge at position {p})" : string.Empty;
        if (string.IsNullOrEmpty(id))
        {
            error = MppProtocolException.Parse(id is null ? $"The challenge has no 'id'{Where()}." : $"The challenge 'id' is empty{Where()}.", "id", position);
            return null;
        }

        if (realm is null)
        {
            error = MppProtocolException.Parse($"The challenge has no 'realm'{Where()}.", "realm", position);
            return null;
        }

        if (method is null)
        {
            error = MppProtocolException.Parse($"The challenge has no 'method'{Where()}.", "method", position);
            return null;
        }

        if (method.Length == 0 || !IsAll(method, static c => c is >= 'a' and <= 'z'))
        {
            error = MppProtocolException.Parse($"The challenge 'method' must be lowercase ASCII letters{Where()}.", "method", position);
            return null;
        }

        if (intent is null)
        {
            error = MppProtocolException.Parse($"The challenge has no 'intent'{Where()}.", "intent", position);
            return null;
        }

        if (intent.Length == 0 || !IsAll(intent, static c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            error = MppProtocolException.Parse($"The challenge 'intent' must be ASCII letters, digits or '-'{Where()}.", "intent", position);
            return null;
        }

        if (request is null)
        {
            error = MppProtocolException.Parse($"The challenge has no 'request'{Where()}.", "request", position);
            return null;
        }

        if (!TryValidateJsonObject(request, "request", out error))
        {
            return null;
        }

        DateTimeOffset? expiresAt = null;
        if (expires is not null)
        {
            if (!Rfc3339.TryParse(expires, out var parsed))
            {
                error = MppProtocolException.Parse($"The challenge 'expires' is not an RFC 3339 date-time{Where()}.", "expires", position);
                return null;
            }

            expiresAt = parsed;
        }

        if (digest is not null && !digest.StartsWith("sha-256=", StringComparison.OrdinalIgnoreCase))
        {
            error = MppProtocolException.Parse($"The challenge 'digest' must be a sha-256 digest (sha-256=…){Where()}.", "digest", position);
            return null;
        }

        if (header is not null)
        {
            if (header.Equals(MppHeaderNames.Authorization, StringComparison.OrdinalIgnoreCase))
            {
                header = null; // the implicit default: not bound, not echoed
            }
            else if (!header.Equals(MppHeaderNames.PaymentAuthorization, StringComparison.OrdinalIgnoreCase))
            {
                error = MppProtocolException.Parse(
                    $"The challenge asks for the credential in the '{header}' field; only Authorization and Payment-Authorization are allowed{Where()}.", "header", position);
                return null;
            }
        }

        return new PaymentChallenge(id, realm, method, intent, request, expires, expiresAt, description, digest, opaque, header);
    }

    private static bool TryValidateJsonObject(string encoded, string parameter, out MppProtocolException? error)
    {
        error = null;
        if (encoded.Length > ChallengeLimits.MaxParameterLength)
        {
            error = MppProtocolException.Parse($"The '{parameter}' value is longer than {ChallengeLimits.MaxParameterLength} characters.", parameter);
            return false;
        }

        var maxLength = Base64UrlCodec.GetMaxDecodedLength(encoded.Length);
        byte[]? rented = null;
        var decoded = maxLength <= 1024 ? stackalloc byte[1024] : (rented = ArrayPool<byte>.Shared.Rent(maxLength));
        try
        {
            if (!Base64UrlCodec.TryDecode(encoded, decoded, out var written, out var reason))
            {
                error = MppProtocolException.Parse($"The '{parameter}' value is not base64url: {reason}", parameter);
                return false;
            }

            JsonObjectValidator.ValidateObject(decoded[..written], parameter);
            return true;
        }
        catch (MppProtocolException ex)
        {
            error = ex;
            return false;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    internal static JsonElement DecodeJsonObject(string encoded, string parameter)
    {
        var bytes = Base64UrlCodec.Decode(encoded);
        JsonObjectValidator.ValidateObject(bytes, parameter);
        using var document = JsonDocument.Parse(bytes);
        return document.RootElement.Clone();
    }

    private static string EncodeRequest(JsonElement request)
    {
        if (request.ValueKind != JsonValueKind.Object)
        {
            throw MppProtocolException.Format("The challenge request must be a JSON object.", "request");
        }

        return CanonicalJson.SerializeToBase64Url(request);
    }

    private static string RequireString(JsonProperty member)
        => member.Value.ValueKind == JsonValueKind.String
            ? CanonicalJson.GetString(member.Value)
            : throw MppProtocolException.Parse($"The challenge member '{member.Name}' must be a string.", member.Name);

    private static bool IsAll(string value, Func<char, bool> predicate)
    {
        foreach (var c in value)
        {
            if (!predicate(c))
            {
                return false;
            }
        }

        return true;
    }

    private static void AppendParameter(StringBuilder sb, string name, string? value, bool first = false)
    {
        if (value is null)
        {
            return;
        }

        if (!first)
        {
            sb.Append(", ");
        }

        sb.Append(name).Append("=\"");
        foreach (var c in value)
        {
            switch (c)
            {
                case '"' or '\\':
                    sb.Append('\\').Append(c);
                    break;
                case '\r' or '\n':
                    throw MppProtocolException.Format($"The challenge '{name}' contains a CR or LF, which would split the header.", name);
                case < ' ' and not '\t':
                case '\u007f':
                    throw MppProtocolException.Format($"The challenge '{name}' contains a control character.", name);
                case > '\u00ff':
                    // mppx's convention, so the field value stays Latin-1; its parser (and ours) decodes it.
                    sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }

        sb.Append('"');
    }

    /// <summary>Holds a lazily decoded element; a class so publication is a single reference write.</summary>
    private sealed class JsonElementBox(JsonElement value)
    {
        public JsonElement Value { get; } = value;
    }
}

using System.Security.Cryptography;
using System.Text;

namespace Mpp.Client.Protocol;

/// <summary>
/// The stateless challenge binding servers use: <c>id = base64url(HMAC-SHA256(secret, input))</c> with
/// <c>input = realm|method|intent|request|expires|digest|[header|]opaque</c> (absent values are empty; the
/// header slot appears only for a non-default header, before <c>opaque</c>, as mppx and the cross-SDK
/// vectors compute it; <c>description</c> is never bound).
/// </summary>
/// <remarks>Clients never need this; servers and the test kit do.</remarks>
public static class PaymentChallengeId
{
    /// <summary>The shortest secret accepted, in bytes.</summary>
    public const int MinimumSecretLength = 32;

    /// <summary>Computes the id of the given challenge values.</summary>
    /// <param name="secret">The server secret, at least <see cref="MinimumSecretLength"/> bytes.</param>
    /// <param name="realm">The realm.</param>
    /// <param name="method">The method id.</param>
    /// <param name="intent">The intent.</param>
    /// <param name="requestEncoded">The <c>request</c> parameter as on the wire (base64url).</param>
    /// <param name="expires">The <c>expires</c> text, or <see langword="null"/>.</param>
    /// <param name="digest">The digest, or <see langword="null"/>.</param>
    /// <param name="opaque">The <c>opaque</c> parameter as on the wire, or <see langword="null"/>.</param>
    /// <param name="header">The <c>header</c> parameter, or <see langword="null"/>; <c>Authorization</c> binds like absent.</param>
    /// <returns>The unpadded base64url id.</returns>
    /// <exception cref="ArgumentException">The secret is shorter than <see cref="MinimumSecretLength"/> bytes.</exception>
    public static string Compute(
        ReadOnlySpan<byte> secret,
        string realm,
        string method,
        string intent,
        string requestEncoded,
        string? expires = null,
        string? digest = null,
        string? opaque = null,
        string? header = null)
    {
        if (secret.Length < MinimumSecretLength)
        {
            throw new ArgumentException($"The challenge-binding secret must be at least {MinimumSecretLength} bytes; a shorter one can be guessed.", nameof(secret));
        }

        ArgumentNullException.ThrowIfNull(realm);
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(intent);
        ArgumentNullException.ThrowIfNull(requestEncoded);

        var input = new StringBuilder(realm.Length + requestEncoded.Length + 96)
            .Append(realm).Append('|')
            .Append(method).Append('|')
            .Append(intent).Append('|')
            .Append(requestEncoded).Append('|')
            .Append(expires).Append('|')
            .Append(digest).Append('|');
        if (header is not null && !header.Equals(MppHeaderNames.Authorization, StringComparison.OrdinalIgnoreCase))
        {
            input.Append(header).Append('|');
        }

        input.Append(opaque);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(input.ToString()), mac);
        return Base64UrlCodec.Encode(mac);
    }

    /// <summary>Computes the id of the given challenge values with a UTF-8 secret.</summary>
    /// <param name="secret">The server secret; its UTF-8 form must be at least <see cref="MinimumSecretLength"/> bytes.</param>
    /// <param name="realm">The realm.</param>
    /// <param name="method">The method id.</param>
    /// <param name="intent">The intent.</param>
    /// <param name="requestEncoded">The <c>request</c> parameter as on the wire.</param>
    /// <param name="expires">The <c>expires</c> text, or <see langword="null"/>.</param>
    /// <param name="digest">The digest, or <see langword="null"/>.</param>
    /// <param name="opaque">The <c>opaque</c> parameter, or <see langword="null"/>.</param>
    /// <param name="header">The <c>header</c> parameter, or <see langword="null"/>.</param>
    /// <returns>The unpadded base64url id.</returns>
    /// <exception cref="ArgumentException">The secret is too short.</exception>
    public static string Compute(
        string secret,
        string realm,
        string method,
        string intent,
        string requestEncoded,
        string? expires = null,
        string? digest = null,
        string? opaque = null,
        string? header = null)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return Compute(Encoding.UTF8.GetBytes(secret), realm, method, intent, requestEncoded, expires, digest, opaque, header);
    }

    /// <summary>Checks, in constant time, that a challenge's id is the binding of its values under <paramref name="secret"/>.</summary>
    /// <param name="secret">The server secret.</param>
    /// <param name="challenge">The challenge, as echoed in a credential.</param>
    /// <returns><see langword="true"/> when the id matches.</returns>
    /// <exception cref="ArgumentException">The secret is too short.</exception>
    public static bool Verify(ReadOnlySpan<byte> secret, PaymentChallenge challenge)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        var expected = Compute(secret, challenge.Realm, challenge.Method, challenge.Intent, challenge.RequestEncoded, challenge.ExpiresText, challenge.Digest, challenge.Opaque, challenge.Header);
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.UTF8.GetBytes(challenge.Id));
    }
}

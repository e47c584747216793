namespace Mpp.Client.Tempo;

/// <summary>
/// Custody of one secp256k1 key: signs 32-byte hashes and says its address. Implement it over a KMS or an
/// HSM to keep the key out of the process; <see cref="PrivateKeySigner"/> holds it in memory.
/// </summary>
public interface IEvmSigner
{
    /// <summary>Gets the signer's address.</summary>
    EvmAddress Address { get; }

    /// <summary>Signs a 32-byte hash (RFC 6979, low-s).</summary>
    /// <param name="hash">The hash.</param>
    /// <param name="cancellationToken">Cancels the signature (a remote signer may take time).</param>
    /// <returns>The signature.</returns>
    ValueTask<EvmSignature> SignHashAsync(ReadOnlyMemory<byte> hash, CancellationToken cancellationToken);
}

/// <summary>A recoverable secp256k1 signature.</summary>
public sealed class EvmSignature
{
    /// <summary>Initializes a signature.</summary>
    /// <param name="r">r, 32 bytes.</param>
    /// <param name="s">s, 32 bytes (low-s).</param>
    /// <param name="yParity">The y parity of R, 0 or 1.</param>
    public EvmSignature(ReadOnlySpan<byte> r, ReadOnlySpan<byte> s, int yParity)
    {
        if (r.Length != 32 || s.Length != 32 || yParity is not (0 or 1))
        {
            throw new ArgumentException("A signature is a 32-byte r, a 32-byte s and a y parity of 0 or 1.");
        }

        R = r.ToArray();
        S = s.ToArray();
        YParity = yParity;
    }

    /// <summary>Gets r.</summary>
    public ReadOnlyMemory<byte> R { get; }

    /// <summary>Gets s.</summary>
    public ReadOnlyMemory<byte> S { get; }

    /// <summary>Gets the y parity (0 or 1).</summary>
    public int YParity { get; }

    /// <summary>The 65-byte form <c>r ‖ s ‖ v</c> with v = 27 + y parity.</summary>
    /// <returns>The bytes.</returns>
    public byte[] ToRsv() => [.. R.Span, .. S.Span, (byte)(27 + YParity)];

    /// <summary>Recovers the address that made this signature over <paramref name="hash"/>.</summary>
    /// <param name="hash">The 32-byte hash.</param>
    /// <returns>The signer's address.</returns>
    /// <exception cref="ArgumentException">The hash is not 32 bytes, or r or s is not in [1, n), or no public key recovers.</exception>
    public EvmAddress RecoverAddress(ReadOnlySpan<byte> hash)
    {
        if (hash.Length != 32)
        {
            throw new ArgumentException("The hash must be 32 bytes.", nameof(hash));
        }

        Span<byte> compact = stackalloc byte[64];
        R.Span.CopyTo(compact);
        S.Span.CopyTo(compact[32..]);
        Span<byte> publicKey = stackalloc byte[64];
        if (!Secp256k1Engine.Default.TryRecover(hash, compact, YParity, publicKey))
        {
            throw new ArgumentException("The signature recovers to no public key (r or s out of range, or r not on the curve).");
        }

        return Secp256k1Engine.AddressOf(publicKey);
    }

    /// <summary>Reads a 65-byte <c>r ‖ s ‖ v</c> signature (v = 0, 1, 27 or 28).</summary>
    /// <param name="rsv">The bytes.</param>
    /// <returns>The signature.</returns>
    public static EvmSignature FromRsv(ReadOnlySpan<byte> rsv)
    {
        if (rsv.Length != 65 || rsv[64] is not (0 or 1 or 27 or 28))
        {
            throw new ArgumentException("A signature is 65 bytes r ‖ s ‖ v with v in {0, 1, 27, 28}.", nameof(rsv));
        }

        return new EvmSignature(rsv[..32], rsv[32..64], rsv[64] % 27);
    }
}


using System.Security.Cryptography;
using Mpp.Client.Tempo.Evm;

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
    public EvmAddress RecoverAddress(ReadOnlySpan<byte> hash) => EvmAddress.FromBytes(Secp256k1.Address(Secp256k1.Recover(hash, R.Span, S.Span, YParity)));

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

/// <summary>
/// A signer holding a raw private key in memory: the bytes are kept in one pinned array, never logged or
/// shown by <see cref="ToString"/>, and zeroed on <see cref="Dispose"/>.
/// </summary>
public sealed class PrivateKeySigner : IEvmSigner, IDisposable
{
    private readonly byte[] _key;
    private bool _disposed;

    private PrivateKeySigner(ReadOnlySpan<byte> key)
    {
        if (key.Length != 32)
        {
            throw new ArgumentException("A secp256k1 private key is 32 bytes.", nameof(key));
        }

        _key = GC.AllocateUninitializedArray<byte>(32, pinned: true);
        key.CopyTo(_key);
        Address = EvmAddress.FromBytes(Secp256k1.Address(Secp256k1.PublicKey(_key)));
    }

    /// <inheritdoc />
    public EvmAddress Address { get; }

    /// <summary>A signer for a key given as 64 hex digits (with or without <c>0x</c>).</summary>
    /// <param name="hex">The key.</param>
    /// <returns>The signer.</returns>
    /// <exception cref="ArgumentException">The text is not a valid key (the message never repeats it).</exception>
    public static PrivateKeySigner FromHex(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        var digits = hex.AsSpan().Trim();
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            digits = digits[2..];
        }

        if (digits.Length != 64)
        {
            throw new ArgumentException("A private key is 64 hex digits (32 bytes).", nameof(hex));
        }

        byte[] bytes;
        try
        {
            bytes = Convert.FromHexString(digits);
        }
        catch (FormatException)
        {
            throw new ArgumentException("A private key is 64 hex digits (32 bytes).", nameof(hex));
        }

        try
        {
            return new PrivateKeySigner(bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>A signer for a key in an environment variable (hex).</summary>
    /// <param name="variable">The variable name, e.g. <c>MPP_PRIVATE_KEY</c>.</param>
    /// <returns>The signer.</returns>
    /// <exception cref="PaymentConfigurationException">The variable is not set or not a key.</exception>
    public static PrivateKeySigner FromEnvironment(string variable)
    {
        ArgumentException.ThrowIfNullOrEmpty(variable);
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new PaymentConfigurationException($"The environment variable {variable} holds no private key.");
        }

        try
        {
            return FromHex(value);
        }
        catch (ArgumentException)
        {
            throw new PaymentConfigurationException($"The environment variable {variable} does not hold a 32-byte hex private key.");
        }
    }

    /// <inheritdoc />
    public ValueTask<EvmSignature> SignHashAsync(ReadOnlyMemory<byte> hash, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var (r, s, y) = Secp256k1.Sign(hash.Span, _key);
        return ValueTask.FromResult(new EvmSignature(r, s, y));
    }

    /// <summary>Zeroes the key.</summary>
    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_key);
    }

    /// <summary>Shows the address only.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => $"PrivateKeySigner({Address})";
}

using System.Security.Cryptography;

namespace Mpp.Client.Tempo;

/// <summary>
/// A signer holding a private key in memory, signing with bitcoin-core's libsecp256k1 (native, through Secp256k1.Net),
/// or with NBitcoin.Secp256k1, its managed port, where the native library cannot load or <c>MPP_SECP256K1=managed</c>
/// asks for it: RFC 6979 nonces (HMAC-SHA256), low-s (EIP-2) and the recovery id from the signing itself; both give the
/// same bytes. The key lives in one pinned array, never logged or shown by <see cref="ToString"/>, and zeroed on
/// <see cref="Dispose"/>; the byte arrays it is read from are zeroed as soon as it is copied.
/// </summary>
public sealed class PrivateKeySigner : IEvmSigner, IDisposable
{
    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");
    private readonly byte[] _key;
    private readonly Secp256k1Engine _engine;
    private bool _disposed;

    private PrivateKeySigner(ReadOnlySpan<byte> key, Secp256k1Engine engine)
    {
        _engine = engine;
        Span<byte> publicKey = stackalloc byte[64];
        if (key.Length != 32 || !engine.TryPublicKey(key, publicKey))
        {
            throw new ArgumentException("The private key is not a valid secp256k1 key (it must be 32 bytes in [1, n)).", nameof(key));
        }

        // Pinned so the GC never leaves a copy behind when it compacts; zeroed on Dispose.
        _key = GC.AllocateUninitializedArray<byte>(32, pinned: true);
        key.CopyTo(_key);
        Address = Secp256k1Engine.AddressOf(publicKey);
    }

    /// <inheritdoc />
    public EvmAddress Address { get; }

    /// <summary>A signer for a new random key (from the operating system's CSPRNG).</summary>
    /// <returns>The signer.</returns>
    public static PrivateKeySigner Generate()
    {
        Span<byte> bytes = stackalloc byte[32];
        try
        {
            while (true)
            {
                RandomNumberGenerator.Fill(bytes);
                if (Secp256k1Engine.Default.IsValidKey(bytes))
                {
                    return new PrivateKeySigner(bytes, Secp256k1Engine.Default); // 0 or ≥ n (chance about 2^-128) draws again
                }
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>A signer for a 32-byte key.</summary>
    /// <param name="key">The key, big-endian; copied, so the caller may zero its own copy at once.</param>
    /// <returns>The signer.</returns>
    /// <exception cref="ArgumentException">The key is not 32 bytes or not in [1, n).</exception>
    public static PrivateKeySigner FromBytes(ReadOnlySpan<byte> key)
    {
        if (key.Length != 32)
        {
            throw new ArgumentException("A secp256k1 private key is 32 bytes.", nameof(key));
        }

        return FromBytes(key, Secp256k1Engine.Default);
    }

    /// <summary>A signer on a chosen back end (the differential tests use both).</summary>
    internal static PrivateKeySigner FromBytes(ReadOnlySpan<byte> key, Secp256k1Engine engine)
        => engine.IsValidKey(key)
            ? new PrivateKeySigner(key, engine)
            : throw new ArgumentException("The private key is not a valid secp256k1 key (it must be in [1, n)).", nameof(key));

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

        if (digits.Length != 64 || digits.ContainsAnyExcept(HexDigits))
        {
            throw new ArgumentException("A private key is 64 hex digits (32 bytes).", nameof(hex));
        }

        var bytes = Convert.FromHexString(digits);
        try
        {
            return FromBytes(bytes);
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

    /// <summary>
    /// A signer for the key in an encrypted Web3 Secret Storage (version 3) keystore file, as geth, Foundry's
    /// <c>cast wallet</c>, MetaMask exports, Nethereum and <c>mpp keys new</c> write (scrypt or PBKDF2-SHA256, AES-128-CTR).
    /// </summary>
    /// <param name="path">The keystore file.</param>
    /// <param name="password">The passphrase.</param>
    /// <returns>The signer.</returns>
    /// <exception cref="KeystoreException">The file is missing or unreadable, is not a keystore, the passphrase is wrong, or the key inside is not a secp256k1 key.</exception>
    public static PrivateKeySigner FromKeystore(string path, string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KeystoreException(KeystoreError.Unreadable, $"The keystore {path} cannot be read: {ex.Message}", ex);
        }

        return FromKeystoreJson(json, password);
    }

    /// <summary>A signer for the key in a Web3 Secret Storage keystore given as JSON text.</summary>
    /// <param name="json">The keystore.</param>
    /// <param name="password">The passphrase.</param>
    /// <returns>The signer.</returns>
    /// <exception cref="KeystoreException">Not a keystore, a wrong passphrase, or not a secp256k1 key inside.</exception>
    public static PrivateKeySigner FromKeystoreJson(string json, string password)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(password);
        var declared = Web3SecretStorage.Check(json);
        var key = Web3SecretStorage.Decrypt(json, password);
        try
        {
            if (key.Length != 32)
            {
                throw new KeystoreException(KeystoreError.InvalidKey, $"The keystore holds a {key.Length}-byte secret; a secp256k1 private key is 32 bytes.");
            }

            if (!Secp256k1Engine.Default.IsValidKey(key))
            {
                throw new KeystoreException(KeystoreError.InvalidKey, "The keystore's secret is not a valid secp256k1 key (it must be in [1, n)).");
            }

            var signer = new PrivateKeySigner(key, Secp256k1Engine.Default);
            if (declared is { } address && address != signer.Address)
            {
                signer.Dispose();
                throw new KeystoreException(KeystoreError.Corrupt, $"The keystore says its address is {address}, but its key belongs to {signer.Address}.");
            }

            return signer;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>
    /// The key encrypted as a Web3 Secret Storage (version 3) keystore: scrypt (N = 2^18, r = 1, p = 8, Nethereum's
    /// default), AES-128-CTR, a keccak MAC. Any wallet that reads keystores can open it with the passphrase.
    /// </summary>
    /// <param name="password">The passphrase (not empty).</param>
    /// <returns>The keystore JSON.</returns>
    public string ToKeystoreJson(string password) => ToKeystoreJson(password, null);

    /// <inheritdoc />
    public ValueTask<EvmSignature> SignHashAsync(ReadOnlyMemory<byte> hash, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (hash.Length != 32)
        {
            throw new ArgumentException("The hash must be 32 bytes.", nameof(hash));
        }

        Span<byte> rs = stackalloc byte[64];
        if (!_engine.TrySign(hash.Span, _key, rs, out var recoveryId) || recoveryId is not (0 or 1))
        {
            // Recovery ids 2 and 3 (R.x ≥ n, about 2^-128) cannot be expressed on Ethereum; RFC 6979 never fails otherwise.
            throw new CryptographicException("secp256k1 signing failed.");
        }

        return ValueTask.FromResult(new EvmSignature(rs[..32], rs[32..], recoveryId));
    }

    /// <summary>Clears the key.</summary>
    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_key);
    }

    /// <summary>Shows the address only.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => $"PrivateKeySigner({Address})";

    /// <summary>The keystore with explicit scrypt costs (tests use cheap ones); null for the default.</summary>
    internal string ToKeystoreJson(string password, Nethereum.KeyStore.Model.ScryptParams? costs)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Web3SecretStorage.Encrypt(_key, password, Address, costs);
    }
}

/// <summary>What was wrong with a keystore.</summary>
public enum KeystoreError
{
    /// <summary>The file cannot be read (missing, no permission).</summary>
    Unreadable,

    /// <summary>The text is not a Web3 Secret Storage keystore, or an unsupported or unsafe variant of one.</summary>
    Corrupt,

    /// <summary>The passphrase does not open the keystore (its MAC does not match).</summary>
    WrongPassword,

    /// <summary>The keystore opens, but what it holds is not a 32-byte secp256k1 private key.</summary>
    InvalidKey,
}

/// <summary>A keystore could not give a key. The message says why and never contains the passphrase or the key.</summary>
public sealed class KeystoreException : MppException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="error">What was wrong.</param>
    /// <param name="message">The explanation.</param>
    /// <param name="innerException">The cause, if any.</param>
    public KeystoreException(KeystoreError error, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Error = error;
    }

    /// <summary>Gets what was wrong.</summary>
    public KeystoreError Error { get; }
}

/// <summary>
/// Web3 Secret Storage v3 through Nethereum.KeyStore, behind a structural check of our own: Nethereum's reader reports a
/// malformed file with a bare <see cref="Exception"/>, and would run whatever scrypt cost a file names (a memory and CPU
/// bomb), so the shape and the costs are checked first and every failure becomes a <see cref="KeystoreException"/>.
/// </summary>
internal static class Web3SecretStorage
{
    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    /// <summary>The most memory one scrypt derivation may take: 128·N·r bytes (geth's standard is 256 MiB).</summary>
    private const long MaxScryptMemory = 256L << 20;

    private const long MaxPbkdf2Iterations = 10_000_000;

    private static readonly Nethereum.KeyStore.KeyStoreService Service = new();

    /// <summary>Checks the shape and the costs; returns the declared address, if any.</summary>
    public static EvmAddress? Check(string json)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                throw Corrupt("it is not a JSON object");
            }

            if (!root.TryGetProperty("version", out var version) || version.ValueKind != System.Text.Json.JsonValueKind.Number || version.GetInt32() != 3)
            {
                throw Corrupt("only version 3 keystores are read");
            }

            if (!TryGetIgnoringCase(root, "crypto", out var crypto) || crypto.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                throw Corrupt("it has no \"crypto\" object");
            }

            if (Text(crypto, "cipher") != "aes-128-ctr")
            {
                throw Corrupt("the cipher must be aes-128-ctr");
            }

            foreach (var member in new[] { "ciphertext", "mac" })
            {
                if (!IsHex(Text(crypto, member)))
                {
                    throw Corrupt($"crypto.{member} is not hex");
                }
            }

            if (!crypto.TryGetProperty("cipherparams", out var cipherParams) || !IsHex(Text(cipherParams, "iv")) || Text(cipherParams, "iv").Length != 32)
            {
                throw Corrupt("crypto.cipherparams.iv is not 16 bytes of hex");
            }

            if (!crypto.TryGetProperty("kdfparams", out var kdf) || kdf.ValueKind != System.Text.Json.JsonValueKind.Object || !IsHex(Text(kdf, "salt")) || Long(kdf, "dklen") != 32)
            {
                throw Corrupt("crypto.kdfparams must have a hex salt and dklen 32");
            }

            switch (Text(crypto, "kdf"))
            {
                case "scrypt":
                    long n = Long(kdf, "n"), r = Long(kdf, "r"), p = Long(kdf, "p");
                    if (n < 2 || (n & (n - 1)) != 0 || r < 1 || p < 1 || p > 16 || 128 * n * r > MaxScryptMemory)
                    {
                        throw Corrupt($"its scrypt costs (n={n}, r={r}, p={p}) are invalid or above the limit of {MaxScryptMemory >> 20} MiB");
                    }

                    break;
                case "pbkdf2":
                    if (Text(kdf, "prf") != "hmac-sha256" || Long(kdf, "c") is < 1 or > MaxPbkdf2Iterations)
                    {
                        throw Corrupt($"PBKDF2 must be hmac-sha256 with 1 to {MaxPbkdf2Iterations} iterations");
                    }

                    break;
                default:
                    throw Corrupt("the kdf must be scrypt or pbkdf2");
            }

            if (root.TryGetProperty("address", out var addressJson) && addressJson.ValueKind == System.Text.Json.JsonValueKind.String)
            {
                var text = addressJson.GetString()!;
                return EvmAddress.TryParse(text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text : "0x" + text, out var address)
                    ? address
                    : throw Corrupt("its address is not an address");
            }

            return null;
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new KeystoreException(KeystoreError.Corrupt, "This is not a keystore: it is not JSON (" + ex.Message + ").", ex);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            throw new KeystoreException(KeystoreError.Corrupt, "This is not a keystore: a member has the wrong type.", ex);
        }
    }

    public static byte[] Decrypt(string json, string password)
    {
        try
        {
            return Service.DecryptKeyStoreFromJson(password, json);
        }
        catch (Nethereum.KeyStore.Crypto.DecryptionException ex)
        {
            throw new KeystoreException(KeystoreError.WrongPassword, "The passphrase does not open this keystore (its MAC does not match).", ex);
        }
        catch (Exception ex) when (ex is not KeystoreException and not OutOfMemoryException)
        {
            // Nethereum reports a malformed member with Exception, FormatException, ArgumentException or a JSON error.
            throw new KeystoreException(KeystoreError.Corrupt, "This is not a readable keystore: " + ex.Message, ex);
        }
    }

    public static string Encrypt(byte[] key, string password, EvmAddress address, Nethereum.KeyStore.Model.ScryptParams? costs)
    {
        var scrypt = new Nethereum.KeyStore.KeyStoreScryptService();
        var keystore = costs is null
            ? scrypt.EncryptAndGenerateKeyStore(password, key, address.Lower[2..])
            : scrypt.EncryptAndGenerateKeyStore(password, key, address.Lower[2..], costs);
        return scrypt.SerializeKeyStoreToJson(keystore);
    }

    private static KeystoreException Corrupt(string why) => new(KeystoreError.Corrupt, $"This is not a usable keystore: {why}.");

    private static bool TryGetIgnoringCase(System.Text.Json.JsonElement obj, string name, out System.Text.Json.JsonElement value)
    {
        foreach (var property in obj.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                value = property.Value;
                return true;
            }
        }

        value = default;
        return false;
    }

    private static string Text(System.Text.Json.JsonElement obj, string name)
        => obj.ValueKind == System.Text.Json.JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == System.Text.Json.JsonValueKind.String ? v.GetString()! : string.Empty;

    private static long Long(System.Text.Json.JsonElement obj, string name)
        => obj.TryGetProperty(name, out var v) && v.ValueKind == System.Text.Json.JsonValueKind.Number && v.TryGetInt64(out var n) ? n : -1;

    private static bool IsHex(string text)
    {
        var digits = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text.AsSpan(2) : text.AsSpan();
        return digits.Length > 0 && digits.Length % 2 == 0 && !digits.ContainsAnyExcept(HexDigits);
    }
}

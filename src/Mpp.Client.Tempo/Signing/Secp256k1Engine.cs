using System.Security.Cryptography;
using Mpp.Client.Tempo.Evm;
using NBitcoin.Secp256k1;

namespace Mpp.Client.Tempo;

/// <summary>
/// The secp256k1 operations the SDK needs (recoverable RFC 6979 signatures with low-s, public keys, recovery), on a
/// reviewed library and never on arithmetic of our own. Two back ends give the same bytes (a differential test pins it):
/// bitcoin-core's libsecp256k1 itself, through the Secp256k1.Net wrapper that ships it for Windows, Linux (glibc and
/// musl) and macOS; and NBitcoin.Secp256k1, its managed C# port, where the native library cannot load or when
/// <c>MPP_SECP256K1=managed</c> asks for it. The native library is about ten times faster, which is what keeps a voucher
/// signature inside the client's CPU budget.
/// </summary>
internal abstract class Secp256k1Engine
{
    /// <summary>The environment variable that chooses the back end: <c>managed</c> never loads native code.</summary>
    public const string EngineVariable = "MPP_SECP256K1";

    private static readonly Lazy<Secp256k1Engine> Chosen = new(() => Choose(Environment.GetEnvironmentVariable(EngineVariable)), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Gets the back end the process uses.</summary>
    public static Secp256k1Engine Default => Chosen.Value;

    /// <summary>Gets the managed back end (always available).</summary>
    public static Secp256k1Engine Managed { get; } = new ManagedSecp256k1();

    /// <summary>Gets a short description, for diagnostics.</summary>
    public abstract string Name { get; }

    /// <summary>Whether a 32-byte key is in [1, n).</summary>
    public abstract bool IsValidKey(ReadOnlySpan<byte> key);

    /// <summary>Signs a 32-byte hash: r ‖ s (64 bytes, low-s) into <paramref name="rs"/>; false when the key is invalid.</summary>
    public abstract bool TrySign(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> key, Span<byte> rs, out int recoveryId);

    /// <summary>The 64-byte uncompressed public key (X ‖ Y) of a valid key.</summary>
    public abstract bool TryPublicKey(ReadOnlySpan<byte> key, Span<byte> xy);

    /// <summary>Recovers the 64-byte public key (X ‖ Y); false when r or s is out of range or r is not on the curve.</summary>
    public abstract bool TryRecover(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> rs, int recoveryId, Span<byte> xy);

    /// <summary>The address of a 64-byte public key: the last 20 bytes of its keccak.</summary>
    public static EvmAddress AddressOf(ReadOnlySpan<byte> xy) => EvmAddress.FromBytes(Keccak.Hash(xy).AsSpan(12));

    /// <summary>Loads the native back end and checks it against a known answer.</summary>
    internal static Secp256k1Engine? TryLoadNative()
    {
        try
        {
            var native = new NativeSecp256k1();
            return native.PassesKnownAnswer() ? native : null;
        }
        catch (Exception ex) when (ex is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException or PlatformNotSupportedException or InvalidOperationException or TypeInitializationException)
        {
            return null;
        }
    }

    /// <summary>The back end for a setting of <see cref="EngineVariable"/>: <c>managed</c>, else native when it loads.</summary>
    internal static Secp256k1Engine Choose(string? setting)
        => string.Equals(setting, "managed", StringComparison.OrdinalIgnoreCase)
            ? Managed
            : TryLoadNative() ?? Managed;

    /// <summary>bitcoin-core's libsecp256k1, through Secp256k1.Net; one context, read-only after creation (thread-safe).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001:Types that own disposable fields should be disposable", Justification = "One context for the life of the process (the engine is a process-wide singleton).")]
    private sealed class NativeSecp256k1 : Secp256k1Engine
    {
        private readonly Secp256k1Net.Secp256k1 _library = new();

        public override string Name => "libsecp256k1 (native, Secp256k1.Net)";

        public override bool IsValidKey(ReadOnlySpan<byte> key) => key.Length == 32 && _library.EcSeckeyVerify(key);

        public override bool TrySign(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> key, Span<byte> rs, out int recoveryId)
        {
            recoveryId = -1;
            Span<byte> signature = stackalloc byte[65];
            try
            {
                return IsValidKey(key)
                    && _library.EcdsaSignRecoverable(signature, hash, key)
                    && _library.EcdsaRecoverableSignatureSerializeCompact(rs, out recoveryId, signature);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(signature);
            }
        }

        public override bool TryPublicKey(ReadOnlySpan<byte> key, Span<byte> xy)
        {
            Span<byte> internalForm = stackalloc byte[64];
            return IsValidKey(key) && _library.EcPubkeyCreate(internalForm, key) && Serialize(internalForm, xy);
        }

        public override bool TryRecover(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> rs, int recoveryId, Span<byte> xy)
        {
            Span<byte> signature = stackalloc byte[65];
            Span<byte> internalForm = stackalloc byte[64];
            return recoveryId is (0 or 1)
                && _library.EcdsaRecoverableSignatureParseCompact(signature, rs, recoveryId)
                && _library.EcdsaRecover(internalForm, signature, hash)
                && Serialize(internalForm, xy);
        }

        /// <summary>
        /// A known answer: a wrong or mis-built native library is never used. The expected signature is NBitcoin.Secp256k1's
        /// (RFC 6979, low s) for anvil's dev key #0 and keccak("MppClient secp256k1 self-check"), kept as constants so that the
        /// check does not build the managed port's tables at start-up (about 40 ms of a command-line call); the differential
        /// test compares the two back ends on 10,000 random keys and hashes.
        /// </summary>
        public bool PassesKnownAnswer()
        {
            ReadOnlySpan<byte> key = [0xac, 0x09, 0x74, 0xbe, 0xc3, 0x9a, 0x17, 0xe3, 0x6b, 0xa4, 0xa6, 0xb4, 0xd2, 0x38, 0xff, 0x94, 0x4b, 0xac, 0xb4, 0x78, 0xcb, 0xed, 0x5e, 0xfc, 0xae, 0x78, 0x4d, 0x7b, 0xf4, 0xf2, 0xff, 0x80];
            var hash = Keccak.Hash("MppClient secp256k1 self-check");
            var expected = Convert.FromHexString("c69b45edc371e893a1854405f01b40869a4673c61cb6147dd90e30c75802bf9d1a4c7982c6308cad1bc92853daf96e133c2bc8d6a27cc23aaea4e1945726b0f1");
            Span<byte> mine = stackalloc byte[64];
            Span<byte> recovered = stackalloc byte[64];
            Span<byte> derived = stackalloc byte[64];
            return TrySign(hash, key, mine, out var myId)
                && myId == 0 && mine.SequenceEqual(expected)
                && TryRecover(hash, mine, myId, recovered)
                && TryPublicKey(key, derived) && recovered.SequenceEqual(derived)
                && AddressOf(recovered).Lower == "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
        }

        private bool Serialize(ReadOnlySpan<byte> internalForm, Span<byte> xy)
        {
            Span<byte> uncompressed = stackalloc byte[65];
            nuint length = 65;
            if (!_library.EcPubkeySerialize(uncompressed, ref length, internalForm, Secp256k1Net.Secp256k1EcFlags.Uncompressed) || length != 65)
            {
                return false;
            }

            uncompressed[1..].CopyTo(xy);
            return true;
        }
    }

    /// <summary>NBitcoin.Secp256k1, the managed port of libsecp256k1 (the one Nethereum.Signer uses on .NET 5 and later).</summary>
    private sealed class ManagedSecp256k1 : Secp256k1Engine
    {
        public override string Name => "NBitcoin.Secp256k1 (managed)";

        public override bool IsValidKey(ReadOnlySpan<byte> key)
        {
            if (key.Length != 32 || !ECPrivKey.TryCreate(key, Context.Instance, out var privateKey))
            {
                return false;
            }

            privateKey.Dispose();
            return true;
        }

        public override bool TrySign(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> key, Span<byte> rs, out int recoveryId)
        {
            recoveryId = -1;
            if (key.Length != 32 || !ECPrivKey.TryCreate(key, Context.Instance, out var privateKey))
            {
                return false;
            }

            using (privateKey)
            {
                if (!privateKey.TrySignRecoverable(hash, out var signature) || signature is null)
                {
                    return false;
                }

                signature.WriteToSpanCompact(rs, out recoveryId);
                return true;
            }
        }

        public override bool TryPublicKey(ReadOnlySpan<byte> key, Span<byte> xy)
        {
            if (key.Length != 32 || !ECPrivKey.TryCreate(key, Context.Instance, out var privateKey))
            {
                return false;
            }

            using (privateKey)
            {
                return Write(privateKey.CreatePubKey(), xy);
            }
        }

        public override bool TryRecover(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> rs, int recoveryId, Span<byte> xy)
            => recoveryId is (0 or 1)
                && SecpRecoverableECDSASignature.TryCreateFromCompact(rs, recoveryId, out var signature)
                && ECPubKey.TryRecover(Context.Instance, signature, hash, out var publicKey)
                && Write(publicKey, xy);

        private static bool Write(ECPubKey publicKey, Span<byte> xy)
        {
            Span<byte> uncompressed = stackalloc byte[65];
            publicKey.WriteToSpan(compressed: false, uncompressed, out _);
            uncompressed[1..].CopyTo(xy);
            return true;
        }
    }
}

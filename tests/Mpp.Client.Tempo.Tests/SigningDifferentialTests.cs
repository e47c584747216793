using System.Globalization;
using System.Numerics;
using Mpp.Client.Tempo.Evm;
using NBitcoin.Secp256k1;
using Nethereum.Signer;

namespace Mpp.Client.Tempo.Tests;

/// <summary>
/// Four secp256k1 signers against each other: our <see cref="PrivateKeySigner"/> on its default back end (bitcoin-core's
/// libsecp256k1, native) and on its managed fallback (NBitcoin.Secp256k1 through our code), NBitcoin.Secp256k1 called
/// directly, and Nethereum's <see cref="EthECKey"/> on its default path (BouncyCastle's deterministic ECDSA with RFC 6979,
/// low-s normalisation and a recovery id found by trial recovery: an independent implementation). Every signature is also
/// recovered, by both back ends and by Nethereum, back to the signing key's address.
/// </summary>
public sealed class SigningDifferentialTests
{
    private const string NHex = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141";
    private static readonly BigInteger N = BigInteger.Parse("0" + NHex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    private static readonly BigInteger HalfN = N >> 1;

    private static readonly string[] EdgeKeys = ["01", "02", Hex32(N - 1)];

    private static readonly string[] EdgeHashes =
    [
        new string('0', 64),
        new string('F', 64),
        NHex,
        Hex32(N + 1),
        Hex32(N - 1),
        "01",
    ];

    [Test]
    public void The_default_back_end_on_this_platform_is_the_native_libsecp256k1()
    {
        // Secp256k1.Net ships libsecp256k1 for linux-x64 (CI's platform): falling back here would silently cost ~10x per signature.
        Assert.That(Secp256k1Engine.Default.Name, Does.StartWith("libsecp256k1"), "the native libsecp256k1 did not load; the signer fell back to the managed port");
        Assert.That(Secp256k1Engine.Choose("managed"), Is.SameAs(Secp256k1Engine.Managed), "MPP_SECP256K1=managed must never load native code");
    }

    [Test]
    public void Ten_thousand_random_keys_and_hashes_sign_identically_in_all_four_and_recover_to_the_key()
    {
        var random = new Random(20261122);
        var key = new byte[32];
        var hash = new byte[32];
        for (var i = 0; i < 10_000; i++)
        {
            do
            {
                random.NextBytes(key);
            }
            while (!IsValidKey(key));

            random.NextBytes(hash);
            var context = $"pair {i}: key {Convert.ToHexString(key)}, hash {Convert.ToHexString(hash)}";
            var ours = SignOurs(key, hash, out var address);
            var managed = SignOurs(key, hash, out _, Secp256k1Engine.Managed);
            var direct = SignNBitcoin(key, hash);
            var nethereum = SignNethereum(key, hash);

            Assert.That(ours.ToRsv(), Is.EqualTo(managed.ToRsv()), context);
            Assert.That(ours.ToRsv(), Is.EqualTo(direct), context);
            Assert.That(ours.ToRsv(), Is.EqualTo(nethereum), context);
            Assert.That(new BigInteger(ours.S.Span, isUnsigned: true, isBigEndian: true), Is.LessThanOrEqualTo(HalfN), context);
            Assert.That(ours.RecoverAddress(hash), Is.EqualTo(address), context);
            Assert.That(RecoverManaged(ours, hash), Is.EqualTo(address), context);
            if (i % 10 == 0)
            {
                // Nethereum's (BouncyCastle) recovery is slow; one pair in ten is plenty on top of NBitcoin's recovery above.
                Assert.That(RecoverNethereum(ours, hash), Is.EqualTo(address.ToString()), context);
            }
        }
    }

    [Test]
    public void Edge_keys_and_hashes_sign_like_nethereum_and_recover_to_the_key(
        [ValueSource(nameof(EdgeKeys))] string keyHex,
        [ValueSource(nameof(EdgeHashes))] string hashHex)
    {
        var key = Bytes32(keyHex);
        var hash = Bytes32(hashHex);

        var ours = SignOurs(key, hash, out var address);
        var managed = SignOurs(key, hash, out _, Secp256k1Engine.Managed);
        var nethereum = SignNethereum(key, hash);

        // libsecp256k1 reduces the hash mod n before RFC 6979 (bits2octets, §2.3.4), as BouncyCastle and viem do.
        Assert.That(ours.ToRsv(), Is.EqualTo(nethereum));
        Assert.That(new BigInteger(ours.S.Span, isUnsigned: true, isBigEndian: true), Is.LessThanOrEqualTo(HalfN));
        Assert.That(ours.RecoverAddress(hash), Is.EqualTo(address));
        Assert.That(RecoverManaged(ours, hash), Is.EqualTo(address));
        Assert.That(RecoverNethereum(ours, hash), Is.EqualTo(address.ToString()));
        Assert.That(managed.ToRsv(), Is.EqualTo(SignNBitcoin(key, hash)));
        Assert.That(managed.RecoverAddress(hash), Is.EqualTo(address));
        if (new BigInteger(hash, isUnsigned: true, isBigEndian: true) < N)
        {
            Assert.That(managed.ToRsv(), Is.EqualTo(ours.ToRsv()));
        }
        else
        {
            // A hash ≥ n: the managed fallback (NBitcoin.Secp256k1 3.1.1) feeds the unreduced hash to RFC 6979, so its
            // nonce differs; both signatures are valid for the same key. A keccak output is ≥ n with probability ~2^-128.
            Assert.That(managed.ToRsv(), Is.Not.EqualTo(ours.ToRsv()));
        }
    }

    [TestCase("00")]
    [TestCase(NHex)]
    [TestCase("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364142")]
    [TestCase("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF")]
    public void Keys_outside_1_to_n_minus_1_are_refused(string keyHex)
    {
        Assert.Throws<ArgumentException>(() => PrivateKeySigner.FromBytes(Bytes32(keyHex)));
        Assert.Throws<ArgumentException>(() => PrivateKeySigner.FromBytes(Bytes32(keyHex), Secp256k1Engine.Managed));
        Assert.Throws<ArgumentException>(() => PrivateKeySigner.FromHex(Hex32(BigInteger.Parse("0" + keyHex, NumberStyles.HexNumber, CultureInfo.InvariantCulture))));
    }

    [TestCase(31)]
    [TestCase(33)]
    [TestCase(0)]
    public void Keys_and_hashes_of_the_wrong_length_are_refused(int length)
    {
        Assert.Throws<ArgumentException>(() => PrivateKeySigner.FromBytes(new byte[length]));
        using var signer = PrivateKeySigner.FromBytes(Bytes32("01"));
        Assert.Throws<ArgumentException>(() => signer.SignHashAsync(new byte[length], default).AsTask().GetAwaiter().GetResult());
    }

    [TestCase("00", "01")]
    [TestCase(NHex, "01")]
    [TestCase("01", "00")]
    [TestCase("01", NHex)]
    [TestCase("05", "01", Description = "5³ + 7 is not a square mod p")]
    public void Recovery_refuses_r_and_s_outside_1_to_n_minus_1_and_r_off_the_curve(string rHex, string sHex)
    {
        var signature = new EvmSignature(Bytes32(rHex), Bytes32(sHex), 0);

        Assert.Throws<ArgumentException>(() => signature.RecoverAddress(new byte[32]));
        Assert.That(Secp256k1Engine.Managed.TryRecover(new byte[32], Bytes32(rHex).Concat(Bytes32(sHex)).ToArray(), 0, new byte[64]), Is.False);
    }

    [Test]
    public async Task One_signer_shared_by_concurrent_callers_gives_each_the_same_signature_as_alone()
    {
        using var signer = PrivateKeySigner.FromBytes(Bytes32("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"));
        var hashes = Enumerable.Range(0, 400).Select(i => Keccak.Hash("concurrent " + i)).ToArray();
        var alone = hashes.Select(h => signer.SignHashAsync(h, default).AsTask().Result.ToRsv()).ToArray();

        var together = await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(() =>
            hashes.Select((h, i) => (i, Rsv: signer.SignHashAsync(h, default).AsTask().Result.ToRsv())).Where(x => x.i % 8 == worker).ToArray())));

        foreach (var (i, rsv) in together.SelectMany(t => t))
        {
            Assert.That(rsv, Is.EqualTo(alone[i]), $"hash {i}");
        }
    }

    [Test]
    public void A_generated_key_signs_and_recovers_and_differs_each_time()
    {
        using var one = PrivateKeySigner.Generate();
        using var two = PrivateKeySigner.Generate();
        var hash = Keccak.Hash("generated");

        Assert.That(one.Address, Is.Not.EqualTo(two.Address));
        Assert.That(one.SignHashAsync(hash, default).AsTask().Result.RecoverAddress(hash), Is.EqualTo(one.Address));
    }

    private static EvmSignature SignOurs(byte[] key, byte[] hash, out EvmAddress address, Secp256k1Engine? engine = null)
    {
        using var signer = PrivateKeySigner.FromBytes(key, engine ?? Secp256k1Engine.Default);
        address = signer.Address;
        return signer.SignHashAsync(hash, default).AsTask().GetAwaiter().GetResult();
    }

    private static EvmAddress RecoverManaged(EvmSignature signature, byte[] hash)
    {
        Span<byte> publicKey = stackalloc byte[64];
        Assert.That(Secp256k1Engine.Managed.TryRecover(hash, [.. signature.R.Span, .. signature.S.Span], signature.YParity, publicKey), Is.True);
        return Secp256k1Engine.AddressOf(publicKey);
    }

    private static byte[] SignNBitcoin(byte[] key, byte[] hash)
    {
        Assert.That(ECPrivKey.TryCreate(key, Context.Instance, out var privateKey), Is.True);
        using (privateKey)
        {
            Assert.That(privateKey!.TrySignRecoverable(hash, out var signature), Is.True);
            var rsv = new byte[65];
            signature!.WriteToSpanCompact(rsv.AsSpan(0, 64), out var recoveryId);
            rsv[64] = (byte)(27 + recoveryId);
            return rsv;
        }
    }

    private static byte[] SignNethereum(byte[] key, byte[] hash)
    {
        var signature = new EthECKey(key, isPrivate: true).SignAndCalculateV(hash);
        return [.. Pad32(signature.R), .. Pad32(signature.S), .. signature.V];
    }

    private static string RecoverNethereum(EvmSignature signature, byte[] hash)
        => EthECKey.RecoverFromSignature(EthECDSASignatureFactory.FromComponents(signature.R.ToArray(), signature.S.ToArray(), (byte)(27 + signature.YParity)), hash).GetPublicAddress();

    private static byte[] Pad32(byte[] value) => value.Length >= 32 ? value[^32..] : [.. new byte[32 - value.Length], .. value];

    private static bool IsValidKey(byte[] key)
    {
        var d = new BigInteger(key, isUnsigned: true, isBigEndian: true);
        return d > 0 && d < N;
    }

    private static string Hex32(BigInteger value) => value.ToString("X64", CultureInfo.InvariantCulture)[^64..];

    private static byte[] Bytes32(string hex) => Convert.FromHexString(hex.PadLeft(64, '0'));
}

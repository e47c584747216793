using Mpp.Client.Tempo.Evm;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math;

namespace Mpp.Client.Tempo.Tests;

/// <summary>The secp256k1 signer against BouncyCastle: the previous implementation, BouncyCastle's own RFC 6979, and edge cases.</summary>
public sealed class Secp256k1SigningTests
{
    private const string NHex = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141";
    private const string GxHex = "79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798";
    private const string GyHex = "483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8";
    private static readonly BigInteger N = new(NHex, 16);
    private static readonly BigInteger P = new("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F", 16);

    private static readonly string[] EdgeKeys =
    [
        "01",
        "02",
        Hex32(N.Subtract(BigInteger.One)),
        Hex32(N.Subtract(BigInteger.Two)),
        Hex32(N.ShiftRight(1)),
        "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
        "8000000000000000000000000000000000000000000000000000000000000000",
    ];

    private static readonly string[] EdgeHashes =
    [
        new string('0', 64),
        new string('F', 64),
        NHex,
        Hex32(N.Subtract(BigInteger.One)),
        Hex32(N.Add(BigInteger.One)),
        "01",
    ];

    [Test]
    public void Signatures_equal_the_bouncycastle_reference_for_2000_random_keys_and_hashes()
    {
        var random = new Random(20261121);
        var key = new byte[32];
        var hash = new byte[32];
        for (var i = 0; i < 2000; i++)
        {
            do
            {
                random.NextBytes(key);
            }
            while (!IsValidKey(key));

            random.NextBytes(hash);
            var expected = Secp256k1Reference.Sign(hash, key);

            var actual = Secp256k1.Sign(hash, key);

            var context = $"pair {i}: key {Convert.ToHexString(key)}, hash {Convert.ToHexString(hash)}";
            Assert.That(actual.R, Is.EqualTo(expected.R), context);
            Assert.That(actual.S, Is.EqualTo(expected.S), context);
            Assert.That(actual.YParity, Is.EqualTo(expected.YParity), context);
        }
    }

    [Test]
    public void Signatures_equal_bouncycastle_ecdsa_with_its_own_rfc6979_nonces_after_low_s_normalisation()
    {
        var random = new Random(6979);
        var domain = new ECDomainParameters(Secp256k1Reference.Curve);
        var key = new byte[32];
        var hash = new byte[32];
        for (var i = 0; i < 200; i++)
        {
            do
            {
                random.NextBytes(key);
            }
            while (!IsValidKey(key));

            random.NextBytes(hash);
            var signer = new ECDsaSigner(new HMacDsaKCalculator(new Sha256Digest()));
            signer.Init(true, new ECPrivateKeyParameters(new BigInteger(1, key), domain));
            var rs = signer.GenerateSignature(hash);
            var s = rs[1].CompareTo(N.ShiftRight(1)) > 0 ? N.Subtract(rs[1]) : rs[1];

            var actual = Secp256k1.Sign(hash, key);

            var context = $"pair {i}: key {Convert.ToHexString(key)}, hash {Convert.ToHexString(hash)}";
            Assert.That(actual.R, Is.EqualTo(Secp256k1Reference.Pad32(rs[0])), context);
            Assert.That(actual.S, Is.EqualTo(Secp256k1Reference.Pad32(s)), context);
            Assert.That(Secp256k1Reference.Recover(hash, actual.R, actual.S, actual.YParity), Is.EqualTo(Secp256k1Reference.PublicKey(key)), context);
        }
    }

    [Test]
    public void Edge_keys_and_hashes_sign_like_the_reference_and_recover_to_the_key(
        [ValueSource(nameof(EdgeKeys))] string keyHex, [ValueSource(nameof(EdgeHashes))] string hashHex)
    {
        var key = Word(keyHex);
        var hash = Word(hashHex);
        var expected = Secp256k1Reference.Sign(hash, key);

        var actual = Secp256k1.Sign(hash, key);

        Assert.That(actual.R, Is.EqualTo(expected.R));
        Assert.That(actual.S, Is.EqualTo(expected.S));
        Assert.That(actual.YParity, Is.EqualTo(expected.YParity));
        Assert.That(Secp256k1.Recover(hash, actual.R, actual.S, actual.YParity), Is.EqualTo(Secp256k1.PublicKey(key)));
    }

    [Test]
    public void The_public_key_of_1_is_G_and_of_n_minus_1_is_minus_G()
    {
        var minusGy = Hex32(P.Subtract(new BigInteger(GyHex, 16)));

        Assert.That(Convert.ToHexString(Secp256k1.PublicKey(Word("01"))), Is.EqualTo(GxHex + GyHex));
        Assert.That(Convert.ToHexString(Secp256k1.PublicKey(Word(Hex32(N.Subtract(BigInteger.One))))), Is.EqualTo(GxHex + minusGy));
    }

    [Test]
    public void Public_keys_equal_the_reference_for_edge_and_random_keys()
    {
        var random = new Random(256);
        var keys = EdgeKeys.Select(Word).ToList();
        for (var i = 0; i < 100; i++)
        {
            var key = new byte[32];
            random.NextBytes(key);
            if (IsValidKey(key))
            {
                keys.Add(key);
            }
        }

        foreach (var key in keys)
        {
            Assert.That(Secp256k1.PublicKey(key), Is.EqualTo(Secp256k1Reference.PublicKey(key)), Convert.ToHexString(key));
        }
    }

    [Test]
    public void Recovery_equals_the_reference_and_the_signing_key_for_300_random_signatures()
    {
        var random = new Random(65);
        var key = new byte[32];
        var hash = new byte[32];
        for (var i = 0; i < 300; i++)
        {
            do
            {
                random.NextBytes(key);
            }
            while (!IsValidKey(key));

            random.NextBytes(hash);
            var (r, s, y) = Secp256k1.Sign(hash, key);

            var recovered = Secp256k1.Recover(hash, r, s, y);

            Assert.That(recovered, Is.EqualTo(Secp256k1Reference.Recover(hash, r, s, y)));
            Assert.That(recovered, Is.EqualTo(Secp256k1Reference.PublicKey(key)));
            Assert.That(Secp256k1.Recover(hash, r, s, 1 - y), Is.Not.EqualTo(recovered));
        }
    }

    [TestCase("00", "01")]
    [TestCase(NHex, "01")]
    [TestCase("01", "00")]
    [TestCase("01", NHex)]
    [TestCase("05", "01", Description = "5³ + 7 is not a square mod p")]
    public void Recovery_refuses_r_and_s_outside_1_to_n_minus_1_and_r_off_the_curve(string rHex, string sHex)
    {
        Assert.Throws<ArgumentException>(() => Secp256k1.Recover(new byte[32], Word(rHex), Word(sHex), 0));
    }

    [TestCase("00")]
    [TestCase(NHex)]
    [TestCase("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364142")]
    [TestCase("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF")]
    public void Keys_outside_1_to_n_minus_1_are_refused(string keyHex)
    {
        var key = Word(keyHex);

        Assert.Throws<ArgumentException>(() => Secp256k1.Sign(new byte[32], key));
        Assert.Throws<ArgumentException>(() => Secp256k1.PublicKey(key));
    }

    [Test]
    public void Short_keys_are_left_padded_and_long_keys_may_only_carry_leading_zeros()
    {
        var hash = Keccak.Hash("padding");
        var key = Word("00" + new string('7', 62));
        var expected = Secp256k1.Sign(hash, key);

        Assert.That(Secp256k1.Sign(hash, key.AsSpan(1)).S, Is.EqualTo(expected.S));
        Assert.That(Secp256k1.Sign(hash, [0, 0, .. key]).S, Is.EqualTo(expected.S));
        Assert.Throws<ArgumentException>(() => Secp256k1.Sign(hash, [1, .. key]));
        Assert.Throws<ArgumentException>(() => Secp256k1.Sign(new byte[31], key));
    }

    private static bool IsValidKey(byte[] key)
    {
        var d = new BigInteger(1, key);
        return d.SignValue > 0 && d.CompareTo(N) < 0;
    }

    private static byte[] Word(string hex) => Convert.FromHexString(hex.PadLeft(64, '0'));

    private static string Hex32(BigInteger value) => Convert.ToHexString(Secp256k1Reference.Pad32(value));
}

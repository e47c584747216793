using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Math.EC;
using Org.BouncyCastle.Math.EC.Multiplier;
using Org.BouncyCastle.Utilities;

namespace Mpp.Client.Tempo.Evm;

/// <summary>
/// secp256k1 as Ethereum uses it: RFC 6979 deterministic signatures, low-s (EIP-2), a recovery id, and
/// public-key recovery. The one place BouncyCastle types are used (crypto.md §2, §7).
/// </summary>
internal static class Secp256k1
{
    private static readonly X9ECParameters Curve = CustomNamedCurves.GetByName("secp256k1");
    private static readonly BigInteger N = Curve.N;
    private static readonly BigInteger HalfN = N.ShiftRight(1);
    private static readonly ECPoint G = Curve.G;
    private static readonly FixedPointCombMultiplier Multiplier = new();

    /// <summary>Signs a 32-byte hash: r, s (32 bytes each, low-s) and the y parity of R (0 or 1).</summary>
    public static (byte[] R, byte[] S, int YParity) Sign(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> privateKey)
    {
        if (hash.Length != 32)
        {
            throw new ArgumentException("The hash must be 32 bytes.", nameof(hash));
        }

        var d = new BigInteger(1, privateKey.ToArray());
        if (d.SignValue <= 0 || d.CompareTo(N) >= 0)
        {
            throw new ArgumentException("The private key is not a valid secp256k1 scalar.", nameof(privateKey));
        }

        var hashBytes = hash.ToArray();
        var e = new BigInteger(1, hashBytes);
        var k = new HMacDsaKCalculator(new Sha256Digest());
        k.Init(N, d, hashBytes);
        while (true)
        {
            var kValue = k.NextK();
            var point = Multiplier.Multiply(G, kValue).Normalize();
            var r = point.AffineXCoord.ToBigInteger().Mod(N);
            if (r.SignValue == 0)
            {
                continue;
            }

            var s = BigIntegers.ModOddInverse(N, kValue).Multiply(e.Add(d.Multiply(r))).Mod(N);
            if (s.SignValue == 0)
            {
                continue;
            }

            var recId = point.AffineYCoord.TestBitZero() ? 1 : 0;
            if (point.AffineXCoord.ToBigInteger().CompareTo(N) >= 0)
            {
                continue; // recovery ids 2 and 3 (probability about 2^-128) are not representable on Ethereum
            }

            if (s.CompareTo(HalfN) > 0)
            {
                s = N.Subtract(s);
                recId ^= 1;
            }

            return (Pad32(r), Pad32(s), recId);
        }
    }

    /// <summary>Recovers the 64-byte uncompressed public key (X ‖ Y) that signed <paramref name="hash"/>.</summary>
    public static byte[] Recover(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> r, ReadOnlySpan<byte> s, int yParity)
    {
        if (hash.Length != 32 || r.Length != 32 || s.Length != 32 || yParity is not (0 or 1))
        {
            throw new ArgumentException("A recoverable signature is a 32-byte hash, 32-byte r and s, and a y parity of 0 or 1.");
        }

        var rValue = new BigInteger(1, r.ToArray());
        var sValue = new BigInteger(1, s.ToArray());
        if (rValue.SignValue <= 0 || rValue.CompareTo(N) >= 0 || sValue.SignValue <= 0 || sValue.CompareTo(N) >= 0)
        {
            throw new ArgumentException("r and s must lie in [1, n).");
        }

        var compressed = new byte[33];
        compressed[0] = (byte)(yParity == 1 ? 0x03 : 0x02);
        r.CopyTo(compressed.AsSpan(1));
        ECPoint rPoint;
        try
        {
            rPoint = Curve.Curve.DecodePoint(compressed);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException("r is not the x coordinate of a curve point.", ex);
        }

        var e = new BigInteger(1, hash.ToArray());
        var rInverse = rValue.ModInverse(N);
        var u1 = N.Subtract(e).Multiply(rInverse).Mod(N);
        var u2 = sValue.Multiply(rInverse).Mod(N);
        var q = ECAlgorithms.SumOfTwoMultiplies(G, u1, rPoint, u2).Normalize();
        if (q.IsInfinity)
        {
            throw new ArgumentException("The signature recovers to the point at infinity.");
        }

        return q.GetEncoded(false).AsSpan(1).ToArray();
    }

    /// <summary>The 64-byte uncompressed public key (X ‖ Y) of a private key.</summary>
    public static byte[] PublicKey(ReadOnlySpan<byte> privateKey)
    {
        var d = new BigInteger(1, privateKey.ToArray());
        if (d.SignValue <= 0 || d.CompareTo(N) >= 0)
        {
            throw new ArgumentException("The private key is not a valid secp256k1 scalar.", nameof(privateKey));
        }

        return Multiplier.Multiply(G, d).Normalize().GetEncoded(false).AsSpan(1).ToArray();
    }

    /// <summary>The Ethereum address (last 20 bytes of keccak of X ‖ Y) of a 64-byte public key.</summary>
    public static byte[] Address(ReadOnlySpan<byte> publicKey) => Keccak.Hash(publicKey).AsSpan(12).ToArray();

    private static byte[] Pad32(BigInteger value)
    {
        var bytes = value.ToByteArrayUnsigned();
        if (bytes.Length == 32)
        {
            return bytes;
        }

        var padded = new byte[32];
        bytes.CopyTo(padded, 32 - bytes.Length);
        return padded;
    }
}

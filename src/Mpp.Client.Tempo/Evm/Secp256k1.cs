using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto.EC;
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
        var k = new Rfc6979(privateKey, e.Mod(N));
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

    /// <summary>
    /// RFC 6979 §3.2 nonces for secp256k1 with HMAC-SHA256, on the platform's HMAC (several times faster than
    /// BouncyCastle's managed one). The same k as any RFC 6979 signer, so signatures stay byte-identical.
    /// </summary>
    private sealed class Rfc6979
    {
        private readonly byte[] _v = new byte[32];
        private byte[] _k = new byte[32];
        private bool _first = true;

        public Rfc6979(ReadOnlySpan<byte> privateKey, BigInteger hashModN)
        {
            var x = Pad32(new BigInteger(1, privateKey.ToArray()));
            var h1 = Pad32(hashModN);
            Array.Fill(_v, (byte)0x01);
            _k = Hmac(_k, [.. _v, 0x00, .. x, .. h1]);
            Next();
            _k = Hmac(_k, [.. _v, 0x01, .. x, .. h1]);
            Next();
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(x);
        }

        public BigInteger NextK()
        {
            while (true)
            {
                if (!_first)
                {
                    _k = Hmac(_k, [.. _v, 0x00]);
                    Next();
                }

                _first = false;
                Next();
                var k = new BigInteger(1, _v);
                if (k.SignValue > 0 && k.CompareTo(N) < 0)
                {
                    return k;
                }
            }
        }

        private void Next() => Hmac(_k, _v).CopyTo(_v, 0);

        private static byte[] Hmac(byte[] key, byte[] data) => System.Security.Cryptography.HMACSHA256.HashData(key, data);
    }

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

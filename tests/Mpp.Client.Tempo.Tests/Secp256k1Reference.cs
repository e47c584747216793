using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Math.EC;
using Org.BouncyCastle.Math.EC.Multiplier;
using Org.BouncyCastle.Utilities;

namespace Mpp.Client.Tempo.Tests;

/// <summary>
/// The BouncyCastle secp256k1 signer that Mpp.Client.Tempo used before its own implementation (RFC 6979 on the
/// platform HMAC, low-s, recovery id), kept as the reference for the differential tests.
/// </summary>
internal static class Secp256k1Reference
{
    public static readonly X9ECParameters Curve = CustomNamedCurves.GetByName("secp256k1");
    public static readonly BigInteger N = Curve.N;
    private static readonly BigInteger HalfN = N.ShiftRight(1);
    private static readonly ECPoint G = Curve.G;
    private static readonly FixedPointCombMultiplier Multiplier = new();

    public static (byte[] R, byte[] S, int YParity) Sign(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> privateKey)
    {
        var d = new BigInteger(1, privateKey.ToArray());
        if (d.SignValue <= 0 || d.CompareTo(N) >= 0)
        {
            throw new ArgumentException("The private key is not a valid secp256k1 scalar.", nameof(privateKey));
        }

        var e = new BigInteger(1, hash.ToArray());
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
                continue;
            }

            if (s.CompareTo(HalfN) > 0)
            {
                s = N.Subtract(s);
                recId ^= 1;
            }

            return (Pad32(r), Pad32(s), recId);
        }
    }

    public static byte[] PublicKey(ReadOnlySpan<byte> privateKey) => Multiply(new BigInteger(1, privateKey.ToArray()));

    /// <summary>k·G as X ‖ Y (64 bytes), or an empty array for infinity.</summary>
    public static byte[] Multiply(BigInteger k)
    {
        var point = G.Multiply(k).Normalize();
        return point.IsInfinity ? [] : point.GetEncoded(false).AsSpan(1).ToArray();
    }

    public static byte[] Recover(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> r, ReadOnlySpan<byte> s, int yParity)
    {
        var rValue = new BigInteger(1, r.ToArray());
        var sValue = new BigInteger(1, s.ToArray());
        var compressed = new byte[33];
        compressed[0] = (byte)(yParity == 1 ? 0x03 : 0x02);
        r.CopyTo(compressed.AsSpan(1));
        var rPoint = Curve.Curve.DecodePoint(compressed);
        var e = new BigInteger(1, hash.ToArray());
        var rInverse = rValue.ModInverse(N);
        var u1 = N.Subtract(e).Multiply(rInverse).Mod(N);
        var u2 = sValue.Multiply(rInverse).Mod(N);
        var q = ECAlgorithms.SumOfTwoMultiplies(G, u1, rPoint, u2).Normalize();
        return q.GetEncoded(false).AsSpan(1).ToArray();
    }

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

    public static byte[] Pad32(BigInteger value)
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

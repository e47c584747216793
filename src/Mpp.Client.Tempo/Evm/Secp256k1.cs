using System.Security.Cryptography;

namespace Mpp.Client.Tempo.Evm;

/// <summary>
/// secp256k1 as Ethereum uses it: RFC 6979 deterministic signatures, low-s (EIP-2), a recovery id, and
/// public-key recovery, on our own constant-time arithmetic (<see cref="FieldElement"/>, <see cref="Scalar"/>,
/// <see cref="ModInverse"/>, <see cref="GeneratorTable"/>) instead of BouncyCastle's, for speed and to
/// allocate only the results (docs/benchmarks.md has the figures).
/// </summary>
internal static class Secp256k1
{
    /// <summary>Signs a 32-byte hash: r, s (32 bytes each, low-s) and the y parity of R (0 or 1).</summary>
    /// <remarks>
    /// R = k·G comes from <see cref="GeneratorTable"/> and s = k⁻¹(e + r·d) from <see cref="Scalar"/>: both
    /// constant time in k and d, with no allocation besides the two results.
    /// </remarks>
    public static (byte[] R, byte[] S, int YParity) Sign(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> privateKey)
    {
        if (hash.Length != 32)
        {
            throw new ArgumentException("The hash must be 32 bytes.", nameof(hash));
        }

        Span<byte> key = stackalloc byte[32];
        Span<byte> h1 = stackalloc byte[32];
        Span<byte> nonceState = stackalloc byte[Rfc6979.StateSize];
        Scalar d = default, k = default, kInverse = default;
        try
        {
            if (!TryReadPrivateKey(privateKey, key, out d))
            {
                throw new ArgumentException("The private key is not a valid secp256k1 scalar.", nameof(privateKey));
            }

            var e = Scalar.FromBytes(hash, out _);
            e.WriteBytes(h1);
            var nonces = new Rfc6979(nonceState, key, h1);
            while (true)
            {
                k = nonces.Next();
                if (!GeneratorTable.Multiply(k).TryToAffine(out var point))
                {
                    continue; // not reached: k·G is never infinity for 0 < k < n
                }

                point.X.ToUInt64(out var x0, out var x1, out var x2, out var x3);
                if (!Scalar.TryFromLimbs(x0, x1, x2, x3, out var r) || r.IsZero)
                {
                    continue; // R.x ≥ n (recovery ids 2 and 3, about 2^-128) is not representable on Ethereum
                }

                kInverse = Scalar.Invert(k);
                var s = Scalar.Mul(kInverse, Scalar.Add(e, Scalar.Mul(r, d)));
                if (s.IsZero)
                {
                    continue;
                }

                var recId = point.Y.IsOdd ? 1 : 0;
                if (s.IsHigh)
                {
                    s = Scalar.Negate(s);
                    recId ^= 1;
                }

                return (r.ToBytes(), s.ToBytes(), recId);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(nonceState);
            Scalar.Clear(ref d);
            Scalar.Clear(ref k);
            Scalar.Clear(ref kInverse);
        }
    }

    /// <summary>Recovers the 64-byte uncompressed public key (X ‖ Y) that signed <paramref name="hash"/>.</summary>
    /// <remarks>
    /// Q = r⁻¹(s·R − e·G), with R the point whose x is r and whose y has the given parity. Everything here is
    /// public, so s·r⁻¹·R may take variable time.
    /// </remarks>
    public static byte[] Recover(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> r, ReadOnlySpan<byte> s, int yParity)
    {
        if (hash.Length != 32 || r.Length != 32 || s.Length != 32 || yParity is not (0 or 1))
        {
            throw new ArgumentException("A recoverable signature is a 32-byte hash, 32-byte r and s, and a y parity of 0 or 1.");
        }

        var rValue = Scalar.FromBytes(r, out var rOverflow);
        var sValue = Scalar.FromBytes(s, out var sOverflow);
        if (rOverflow || sOverflow || rValue.IsZero || sValue.IsZero)
        {
            throw new ArgumentException("r and s must lie in [1, n).");
        }

        if (!AffinePoint.TryDecompress(FieldElement.FromBytes(r), yParity == 1, out var rPoint))
        {
            throw new ArgumentException("r is not the x coordinate of a curve point.");
        }

        var rInverse = Scalar.Invert(rValue);
        var u1 = Scalar.Mul(Scalar.Negate(Scalar.FromBytes(hash, out _)), rInverse);
        var u2 = Scalar.Mul(sValue, rInverse);
        var q = JacobianPoint.Add(GeneratorTable.Multiply(u1), MultiplyPublic(rPoint, u2));
        if (!q.TryToAffine(out var publicKey))
        {
            throw new ArgumentException("The signature recovers to the point at infinity.");
        }

        return publicKey.ToBytes();
    }

    /// <summary>The 64-byte uncompressed public key (X ‖ Y) of a private key.</summary>
    public static byte[] PublicKey(ReadOnlySpan<byte> privateKey)
    {
        Span<byte> key = stackalloc byte[32];
        Scalar d = default;
        try
        {
            if (!TryReadPrivateKey(privateKey, key, out d) || !GeneratorTable.Multiply(d).TryToAffine(out var point))
            {
                throw new ArgumentException("The private key is not a valid secp256k1 scalar.", nameof(privateKey));
            }

            return point.ToBytes();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            Scalar.Clear(ref d);
        }
    }

    /// <summary>The Ethereum address (last 20 bytes of keccak of X ‖ Y) of a 64-byte public key.</summary>
    public static byte[] Address(ReadOnlySpan<byte> publicKey) => Keccak.Hash(publicKey).AsSpan(12).ToArray();

    /// <summary>k·P for a public point and scalar: 4-bit windows over 1·P … 15·P, most significant first (variable time).</summary>
    private static JacobianPoint MultiplyPublic(in AffinePoint p, in Scalar k)
    {
        Span<JacobianPoint> multiples = stackalloc JacobianPoint[16];
        multiples[1] = new JacobianPoint(p);
        for (var i = 2; i < 16; i++)
        {
            multiples[i] = JacobianPoint.Add(multiples[i - 1], multiples[1]);
        }

        var acc = JacobianPoint.Infinity;
        for (var i = 63; i >= 0; i--)
        {
            acc = JacobianPoint.Double(JacobianPoint.Double(JacobianPoint.Double(JacobianPoint.Double(acc))));
            var digit = k.Bits(4 * i, 4);
            if (digit != 0)
            {
                acc = JacobianPoint.Add(acc, multiples[digit]);
            }
        }

        return acc;
    }

    /// <summary>
    /// Reads a big-endian private key into 32 bytes (shorter keys are left-padded, longer ones may only carry
    /// leading zeros) and checks 0 &lt; d &lt; n.
    /// </summary>
    private static bool TryReadPrivateKey(ReadOnlySpan<byte> privateKey, Span<byte> key, out Scalar d)
    {
        d = default;
        if (privateKey.Length > 32)
        {
            if (privateKey[..^32].ContainsAnyExcept((byte)0))
            {
                return false;
            }

            privateKey = privateKey[^32..];
        }

        key.Clear();
        privateKey.CopyTo(key[(32 - privateKey.Length)..]);
        d = Scalar.FromBytes(key, out var overflow);
        return !overflow && !d.IsZero;
    }

    /// <summary>
    /// RFC 6979 §3.2 nonces for secp256k1 with HMAC-SHA256, on the platform's HMAC (several times faster than
    /// BouncyCastle's managed one). The same k as any RFC 6979 signer, so signatures stay byte-identical.
    /// K and V live in caller-provided (stack) memory, which the caller zeroes.
    /// </summary>
    private ref struct Rfc6979
    {
        /// <summary>K (32), V (32), a message buffer (V ‖ 0x00/0x01 ‖ x ‖ h1: 97) and an HMAC output (32).</summary>
        public const int StateSize = 32 + 32 + 97 + 32;

        private readonly Span<byte> _k;
        private readonly Span<byte> _v;
        private readonly Span<byte> _message;
        private readonly Span<byte> _mac;
        private bool _first;

        public Rfc6979(Span<byte> state, ReadOnlySpan<byte> x, ReadOnlySpan<byte> h1)
        {
            _k = state[..32];
            _v = state[32..64];
            _message = state[64..161];
            _mac = state[161..StateSize];
            _first = true;

            _k.Clear();
            _v.Fill(0x01);
            x.CopyTo(_message[33..]);
            h1.CopyTo(_message[65..]);
            for (byte separator = 0; separator <= 1; separator++)
            {
                _v.CopyTo(_message);
                _message[32] = separator;
                Hmac(_k, _message, _k); // K = HMAC_K(V ‖ separator ‖ x ‖ h1)
                Hmac(_k, _v, _v);       // V = HMAC_K(V)
            }
        }

        /// <summary>The next candidate k in [1, n); out-of-range values are skipped as §3.2 step h.3 says.</summary>
        public Scalar Next()
        {
            while (true)
            {
                if (!_first)
                {
                    _v.CopyTo(_message);
                    _message[32] = 0x00;
                    Hmac(_k, _message[..33], _k);
                    Hmac(_k, _v, _v);
                }

                _first = false;
                Hmac(_k, _v, _v);
                var k = Scalar.FromBytes(_v, out var overflow);
                if (!overflow && !k.IsZero)
                {
                    return k;
                }
            }
        }

        private readonly void Hmac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> destination)
        {
            // Through a separate buffer: the destination is also the key or the data.
            HMACSHA256.HashData(key, data, _mac);
            _mac.CopyTo(destination);
        }
    }
}

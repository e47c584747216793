using System.Runtime.CompilerServices;

namespace Mpp.Client.Tempo.Evm;

/// <summary>
/// Constant-time modular inversion for 256-bit odd moduli (secp256k1's p and n) by Bernstein and Yang's
/// divsteps ("Fast constant-time gcd computation and modular inversion", 2019, §11). About four times faster
/// than Fermat's a^(m−2) here, and the same sequence of instructions for every input.
/// </summary>
/// <remarks>
/// <para>
/// State: f (starts at m), g (starts at x), δ = 1, and d, e with f ≡ d·x and g ≡ e·x (mod m). Each divstep
/// (δ, f, g) → (1 − δ, g, (g − f)/2) when δ &gt; 0 and g is odd, (1 + δ, f, (g + f)/2) when g is odd,
/// (1 + δ, f, g/2) otherwise. For 256-bit inputs g reaches 0 within 741 steps (the paper's bound), and
/// then f = ±1 = ±d·x, so x⁻¹ = ±d.
/// </para>
/// <para>
/// Steps run in batches of 62 on the low 64 bits of f and g only, collecting a 2×2 matrix T with
/// 2^62·(f', g') = T·(f, g); T is then applied to the full f, g (exact division by 2^62) and to d, e
/// (mod m: a multiple of m is added first to make the division exact). Numbers are five signed 62-bit
/// limbs (limbs 0–3 in [0, 2^62), the top one signed), so partial sums fit a 128-bit accumulator.
/// </para>
/// </remarks>
internal static class ModInverse
{
    private const long M62 = (1L << 62) - 1;

    /// <summary>12 × 62 = 744 ≥ 741 divsteps.</summary>
    private const int Batches = 12;

    /// <summary>The field prime p.</summary>
    public static Modulus P { get; } = new(0x3FFFFFFEFFFFFC2F, M62, M62, M62, 0xFF, 0x27C7F6E22DDACACF);

    /// <summary>The group order n.</summary>
    public static Modulus N { get; } = new(0x3FD25E8CD0364141, 0x2ABB739ABD2280EE, 0x3FFFFFFFFFFFFFEB, M62, 0xFF, 0x34F20099AA774EC1);

    /// <summary>x⁻¹ mod m for 0 ≤ x &lt; m, as four little-endian 64-bit words (0 maps to 0).</summary>
    public static void Invert(in Modulus m, ulong x0, ulong x1, ulong x2, ulong x3, out ulong r0, out ulong r1, out ulong r2, out ulong r3)
    {
        var f = m.Value;
        var g = Signed62.FromUInt64(x0, x1, x2, x3);
        var d = default(Signed62);
        var e = new Signed62(1, 0, 0, 0, 0);
        long delta = 1;
        for (var batch = 0; batch < Batches; batch++)
        {
            Divsteps(ref delta, f.Low64, g.Low64, out var u, out var v, out var q, out var r);
            var fNew = Combine(u, f, v, g);
            g = Combine(q, f, r, g);
            f = fNew;
            var dNew = CombineModular(u, d, v, e, m);
            e = CombineModular(q, d, r, e, m);
            d = dNew;
        }

        // f = ±1 now (or m itself when x = 0, with d = 0). Negate d mod m when f is negative.
        var negative = f.L4 >> 63;
        d = Signed62.Select(negative, Signed62.Sub(m.Value, d), d);
        d.ToUInt64(out r0, out r1, out r2, out r3);
    }

    /// <summary>
    /// 62 divsteps on the low words of f and g, branch-free. Returns the transition matrix (u v; q r), whose
    /// entries are at most 2^62 in absolute value (each row's |a| + |b| at most doubles per step).
    /// </summary>
    private static void Divsteps(ref long delta, ulong f0, ulong g0, out long u, out long v, out long q, out long r)
    {
        long f = (long)f0, g = (long)g0, d = delta;
        long mu = 1, mv = 0, mq = 0, mr = 1;
        for (var i = 0; i < 62; i++)
        {
            var gOdd = -(g & 1);
            var swap = (-d >> 63) & gOdd; // δ > 0 and g odd

            // Swap: f takes g, and the g row becomes g − f; otherwise an odd g becomes g + f.
            long fOld = f, uOld = mu, vOld = mv;
            f ^= (f ^ g) & swap;
            mu ^= (mu ^ mq) & swap;
            mv ^= (mv ^ mr) & swap;
            g += ((fOld ^ swap) - swap) & gOdd;
            mq += ((uOld ^ swap) - swap) & gOdd;
            mr += ((vOld ^ swap) - swap) & gOdd;
            d = ((d ^ swap) - swap) + 1;

            // Halve g; doubling the f row keeps both rows scaled by the same 2^i.
            g >>= 1;
            mu <<= 1;
            mv <<= 1;
        }

        delta = d;
        u = mu;
        v = mv;
        q = mq;
        r = mr;
    }

    /// <summary>(a·x + b·y) / 2^62, exact (the low 62 bits of the sum are zero by construction).</summary>
    private static Signed62 Combine(long a, in Signed62 x, long b, in Signed62 y)
    {
        var acc = default(Accumulator);
        acc.Add(a, x.L0);
        acc.Add(b, y.L0);
        acc.Shift62();
        acc.Add(a, x.L1);
        acc.Add(b, y.L1);
        var l0 = acc.TakeLimb();
        acc.Add(a, x.L2);
        acc.Add(b, y.L2);
        var l1 = acc.TakeLimb();
        acc.Add(a, x.L3);
        acc.Add(b, y.L3);
        var l2 = acc.TakeLimb();
        acc.Add(a, x.L4);
        acc.Add(b, y.L4);
        var l3 = acc.TakeLimb();
        return new Signed62(l0, l1, l2, l3, acc.Low);
    }

    /// <summary>
    /// (a·x + b·y)/2^62 mod m, for x, y in [0, m): adding k·m with k = −(a·x + b·y)·m⁻¹ mod 2^62 makes the
    /// division exact. Since |a| + |b| ≤ 2^62 and 0 ≤ k &lt; 2^62 the quotient lies in (−m, 2m), and one
    /// conditional addition and one conditional subtraction bring it back to [0, m).
    /// </summary>
    private static Signed62 CombineModular(long a, in Signed62 x, long b, in Signed62 y, in Modulus m)
    {
        var low = (ulong)(a * x.L0) + (ulong)(b * y.L0);
        var k = (long)((0 - (low * m.Inverse62)) & M62);
        var acc = default(Accumulator);
        acc.Add(a, x.L0);
        acc.Add(b, y.L0);
        acc.Add(k, m.Value.L0);
        acc.Shift62();
        acc.Add(a, x.L1);
        acc.Add(b, y.L1);
        acc.Add(k, m.Value.L1);
        var l0 = acc.TakeLimb();
        acc.Add(a, x.L2);
        acc.Add(b, y.L2);
        acc.Add(k, m.Value.L2);
        var l1 = acc.TakeLimb();
        acc.Add(a, x.L3);
        acc.Add(b, y.L3);
        acc.Add(k, m.Value.L3);
        var l2 = acc.TakeLimb();
        acc.Add(a, x.L4);
        acc.Add(b, y.L4);
        acc.Add(k, m.Value.L4);
        var l3 = acc.TakeLimb();
        var result = new Signed62(l0, l1, l2, l3, acc.Low);

        result = Signed62.Select(result.L4 >> 63, Signed62.Add(result, m.Value), result);
        var reduced = Signed62.Sub(result, m.Value);
        return Signed62.Select(reduced.L4 >> 63, result, reduced);
    }

    /// <summary>A modulus in signed-62 form with its inverse mod 2^62.</summary>
    internal readonly struct Modulus
    {
        public readonly Signed62 Value;
        public readonly ulong Inverse62;

        public Modulus(long l0, long l1, long l2, long l3, long l4, ulong inverse62)
        {
            Value = new Signed62(l0, l1, l2, l3, l4);
            Inverse62 = inverse62;
        }
    }

    /// <summary>L0 + L1·2^62 + L2·2^124 + L3·2^186 + L4·2^248 with L0…L3 in [0, 2^62) and L4 signed.</summary>
    internal readonly struct Signed62
    {
        public readonly long L0;
        public readonly long L1;
        public readonly long L2;
        public readonly long L3;
        public readonly long L4;

        public Signed62(long l0, long l1, long l2, long l3, long l4)
        {
            L0 = l0;
            L1 = l1;
            L2 = l2;
            L3 = l3;
            L4 = l4;
        }

        /// <summary>The low 64 bits (two's complement).</summary>
        public ulong Low64 => (ulong)L0 | ((ulong)L1 << 62);

        public static Signed62 FromUInt64(ulong x0, ulong x1, ulong x2, ulong x3) => new(
            (long)(x0 & M62),
            (long)(((x0 >> 62) | (x1 << 2)) & M62),
            (long)(((x1 >> 60) | (x2 << 4)) & M62),
            (long)(((x2 >> 58) | (x3 << 6)) & M62),
            (long)(x3 >> 56));

        /// <summary>The value as four 64-bit words; it must lie in [0, 2^256).</summary>
        public void ToUInt64(out ulong x0, out ulong x1, out ulong x2, out ulong x3)
        {
            x0 = (ulong)L0 | ((ulong)L1 << 62);
            x1 = ((ulong)L1 >> 2) | ((ulong)L2 << 60);
            x2 = ((ulong)L2 >> 4) | ((ulong)L3 << 58);
            x3 = ((ulong)L3 >> 6) | ((ulong)L4 << 56);
        }

        public static Signed62 Add(in Signed62 a, in Signed62 b) =>
            Carry(a.L0 + b.L0, a.L1 + b.L1, a.L2 + b.L2, a.L3 + b.L3, a.L4 + b.L4);

        public static Signed62 Sub(in Signed62 a, in Signed62 b) =>
            Carry(a.L0 - b.L0, a.L1 - b.L1, a.L2 - b.L2, a.L3 - b.L3, a.L4 - b.L4);

        /// <summary><paramref name="ifOnes"/> where <paramref name="mask"/> is −1, <paramref name="ifZero"/> where it is 0.</summary>
        public static Signed62 Select(long mask, in Signed62 ifOnes, in Signed62 ifZero) => new(
            (ifOnes.L0 & mask) | (ifZero.L0 & ~mask),
            (ifOnes.L1 & mask) | (ifZero.L1 & ~mask),
            (ifOnes.L2 & mask) | (ifZero.L2 & ~mask),
            (ifOnes.L3 & mask) | (ifZero.L3 & ~mask),
            (ifOnes.L4 & mask) | (ifZero.L4 & ~mask));

        /// <summary>Brings limbs 0–3 back into [0, 2^62), moving the (signed) excess up.</summary>
        private static Signed62 Carry(long l0, long l1, long l2, long l3, long l4)
        {
            l1 += l0 >> 62;
            l2 += l1 >> 62;
            l3 += l2 >> 62;
            l4 += l3 >> 62;
            return new Signed62(l0 & M62, l1 & M62, l2 & M62, l3 & M62, l4);
        }
    }

    /// <summary>A signed 128-bit accumulator (high word signed, low word unsigned).</summary>
    private struct Accumulator
    {
        private ulong _low;
        private long _high;

        public readonly long Low => (long)_low;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(long a, long b)
        {
            var high = Math.BigMul(a, b, out var low);
            var sum = _low + (ulong)low;
            _high += high + (sum < _low ? 1L : 0L);
            _low = sum;
        }

        /// <summary>Arithmetic shift right by 62.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Shift62()
        {
            _low = (_low >> 62) | ((ulong)_high << 2);
            _high >>= 62;
        }

        /// <summary>The low 62 bits as a limb, then shift right by 62.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public long TakeLimb()
        {
            var limb = (long)(_low & M62);
            Shift62();
            return limb;
        }
    }
}

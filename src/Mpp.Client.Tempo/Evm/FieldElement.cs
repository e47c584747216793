using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Mpp.Client.Tempo.Evm;

/// <summary>
/// An element of secp256k1's base field, integers mod p = 2^256 − 2^32 − 977, as five 52-bit limbs
/// (N0 + N1·2^52 + … + N4·2^208) in 64-bit words. Constant time: no branch or memory index depends on values.
/// </summary>
/// <remarks>
/// <para>
/// Why 52-bit limbs: .NET has no add-with-carry, and detecting each carry of a 4×64 representation costs
/// about four instructions on the critical path. With 12 spare bits per word, additions are plain limb
/// additions and a product's partial sums never overflow, so carries are resolved once per multiplication.
/// </para>
/// <para>
/// Values are not kept reduced. The contract, in terms of limb sizes:
/// <list type="bullet">
/// <item><b>loose</b>: N0…N3 &lt; 2^53 and N4 &lt; 2^49. Every <see cref="Mul"/>, <see cref="Square"/> and
/// <see cref="NormalizeWeak"/> result is loose.</item>
/// <item><see cref="Mul"/> and <see cref="Square"/> accept limbs below 2^55: a loose value, a sum of up to
/// four loose values, or a <see cref="Sub"/> result.</item>
/// <item><see cref="Sub"/> (a + 4p − b) needs a loose <c>b</c>; <see cref="Add"/> just adds limbs.</item>
/// <item><see cref="Normalize"/> gives the unique representative below p (for encoding, parity and
/// comparison).</item>
/// </list>
/// Debug builds assert these bounds.
/// </para>
/// </remarks>
internal readonly struct FieldElement
{
    private const ulong M52 = (1UL << 52) - 1;
    private const ulong M48 = (1UL << 48) - 1;

    /// <summary>2^256 mod p = 2^32 + 977.</summary>
    private const ulong C = 0x1000003D1;

    /// <summary>2^260 mod p = 16·C: limbs 5 and up fold onto limbs 0 and up with this factor.</summary>
    private const ulong R = 0x1000003D10;

    /// <summary>p's lowest 52-bit limb (the others are all ones: 52 bits, and 48 for the top one).</summary>
    private const ulong P0 = 0xFFFFEFFFFFC2F;

    public readonly ulong N0;
    public readonly ulong N1;
    public readonly ulong N2;
    public readonly ulong N3;
    public readonly ulong N4;

    private FieldElement(ulong n0, ulong n1, ulong n2, ulong n3, ulong n4)
    {
        N0 = n0;
        N1 = n1;
        N2 = n2;
        N3 = n3;
        N4 = n4;
    }

    public static FieldElement Zero => default;

    public static FieldElement One => new(1, 0, 0, 0, 0);

    /// <summary>An element from four little-endian 64-bit words (any value below 2^256; the result is loose).</summary>
    public static FieldElement FromUInt64(ulong l0, ulong l1, ulong l2, ulong l3) => new(
        l0 & M52,
        ((l0 >> 52) | (l1 << 12)) & M52,
        ((l1 >> 40) | (l2 << 24)) & M52,
        ((l2 >> 28) | (l3 << 36)) & M52,
        l3 >> 16);

    /// <summary>A 32-byte big-endian number mod p.</summary>
    public static FieldElement FromBytes(ReadOnlySpan<byte> bytes) => FromBytes(bytes, out _);

    /// <summary>A 32-byte big-endian number mod p; <paramref name="overflow"/> says whether it was ≥ p.</summary>
    public static FieldElement FromBytes(ReadOnlySpan<byte> bytes, out bool overflow)
    {
        if (bytes.Length != 32)
        {
            throw new ArgumentException("A field element is 32 bytes.", nameof(bytes));
        }

        var l3 = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        var l2 = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        var l1 = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        var l0 = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
        overflow = (l3 & l2 & l1) == ulong.MaxValue && l0 >= 0xFFFFFFFEFFFFFC2F;
        return FromUInt64(l0, l1, l2, l3);
    }

    /// <summary>The canonical value as four little-endian 64-bit words.</summary>
    public void ToUInt64(out ulong l0, out ulong l1, out ulong l2, out ulong l3)
    {
        var n = Normalize(this);
        l0 = n.N0 | (n.N1 << 52);
        l1 = (n.N1 >> 12) | (n.N2 << 40);
        l2 = (n.N2 >> 24) | (n.N3 << 28);
        l3 = (n.N3 >> 36) | (n.N4 << 16);
    }

    /// <summary>The canonical value, 32 bytes big-endian.</summary>
    public void WriteBytes(Span<byte> destination)
    {
        ToUInt64(out var l0, out var l1, out var l2, out var l3);
        BinaryPrimitives.WriteUInt64BigEndian(destination, l3);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], l2);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], l1);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..32], l0);
    }

    public bool IsZero => Normalize(this).IsZeroNormalized;

    public bool IsOdd => (Normalize(this).N0 & 1) != 0;

    private bool IsZeroNormalized => (N0 | N1 | N2 | N3 | N4) == 0;

    /// <summary>Whether both represent the same element (normalizes; not for secret-dependent decisions).</summary>
    public bool IsEqual(in FieldElement other) => Sub(this, NormalizeWeak(other)).IsZero;

    /// <summary><paramref name="ifOnes"/> where <paramref name="mask"/> is all ones, <paramref name="ifZero"/> where it is zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FieldElement Select(ulong mask, in FieldElement ifOnes, in FieldElement ifZero) => new(
        (ifOnes.N0 & mask) | (ifZero.N0 & ~mask),
        (ifOnes.N1 & mask) | (ifZero.N1 & ~mask),
        (ifOnes.N2 & mask) | (ifZero.N2 & ~mask),
        (ifOnes.N3 & mask) | (ifZero.N3 & ~mask),
        (ifOnes.N4 & mask) | (ifZero.N4 & ~mask));

    /// <summary>Raw limbs, unchecked: for tests that probe the limb bounds.</summary>
    internal static FieldElement FromLimbs(ulong n0, ulong n1, ulong n2, ulong n3, ulong n4) => new(n0, n1, n2, n3, n4);

    /// <summary>a + b, limb by limb (the bounds add up).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FieldElement Add(in FieldElement a, in FieldElement b) =>
        new(a.N0 + b.N0, a.N1 + b.N1, a.N2 + b.N2, a.N3 + b.N3, a.N4 + b.N4);

    /// <summary>a − b as a + 4p − b; <paramref name="b"/> must be loose (4p's limbs are then at least b's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FieldElement Sub(in FieldElement a, in FieldElement b)
    {
        AssertBelow(b, 53, 49);
        return new(
            a.N0 + (4 * P0) - b.N0,
            a.N1 + (4 * M52) - b.N1,
            a.N2 + (4 * M52) - b.N2,
            a.N3 + (4 * M52) - b.N3,
            a.N4 + (4 * M48) - b.N4);
    }

    /// <summary>−a (loose a); the result is below 2^54 per limb.</summary>
    public static FieldElement Negate(in FieldElement a) => Sub(Zero, a);

    /// <summary>
    /// a·b mod p, loose. Inputs: limbs below 2^55. Each partial product a_i·b_j is split into a low part
    /// (column i + j) and a high part (column i + j + 1). Shifting b left by 9 first makes the hardware's
    /// 64-bit split fall at bit 55 (low word &gt;&gt; 9; high word ×8 counts from bit 52), which saves the
    /// shifts of splitting at 52. The ten column sums stay below 2^61, and columns 5…9 fold down with
    /// 2^260 ≡ R. (One Math.BigMul per product measured faster than separate high and low multiplies.)
    /// </summary>
    public static FieldElement Mul(in FieldElement x, in FieldElement y)
    {
        AssertBelow(x, 55, 55);
        AssertBelow(y, 55, 55);
        ulong b0 = y.N0 << 9, b1 = y.N1 << 9, b2 = y.N2 << 9, b3 = y.N3 << 9, b4 = y.N4 << 9;
        ulong c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0, c8 = 0, c9 = 0;
        var a = x.N0;
        Product(a, b0, ref c0, ref c1);
        Product(a, b1, ref c1, ref c2);
        Product(a, b2, ref c2, ref c3);
        Product(a, b3, ref c3, ref c4);
        Product(a, b4, ref c4, ref c5);
        a = x.N1;
        Product(a, b0, ref c1, ref c2);
        Product(a, b1, ref c2, ref c3);
        Product(a, b2, ref c3, ref c4);
        Product(a, b3, ref c4, ref c5);
        Product(a, b4, ref c5, ref c6);
        a = x.N2;
        Product(a, b0, ref c2, ref c3);
        Product(a, b1, ref c3, ref c4);
        Product(a, b2, ref c4, ref c5);
        Product(a, b3, ref c5, ref c6);
        Product(a, b4, ref c6, ref c7);
        a = x.N3;
        Product(a, b0, ref c3, ref c4);
        Product(a, b1, ref c4, ref c5);
        Product(a, b2, ref c5, ref c6);
        Product(a, b3, ref c6, ref c7);
        Product(a, b4, ref c7, ref c8);
        a = x.N4;
        Product(a, b0, ref c4, ref c5);
        Product(a, b1, ref c5, ref c6);
        Product(a, b2, ref c6, ref c7);
        Product(a, b3, ref c7, ref c8);
        Product(a, b4, ref c8, ref c9);
        return Reduce(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9);
    }

    /// <summary>a² mod p, loose (inputs below 2^55): the cross products once, with one factor doubled.</summary>
    public static FieldElement Square(in FieldElement x)
    {
        AssertBelow(x, 55, 55);
        ulong a0 = x.N0, a1 = x.N1, a2 = x.N2, a3 = x.N3, a4 = x.N4;
        ulong s0 = a0 << 9, s1 = a1 << 9, s2 = a2 << 9, s3 = a3 << 9, s4 = a4 << 9;
        ulong d0 = a0 * 2, d1 = a1 * 2, d2 = a2 * 2, d3 = a3 * 2;
        ulong c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0, c8 = 0, c9 = 0;
        Product(a0, s0, ref c0, ref c1);
        Product(d0, s1, ref c1, ref c2);
        Product(d0, s2, ref c2, ref c3);
        Product(a1, s1, ref c2, ref c3);
        Product(d0, s3, ref c3, ref c4);
        Product(d1, s2, ref c3, ref c4);
        Product(d0, s4, ref c4, ref c5);
        Product(d1, s3, ref c4, ref c5);
        Product(a2, s2, ref c4, ref c5);
        Product(d1, s4, ref c5, ref c6);
        Product(d2, s3, ref c5, ref c6);
        Product(d2, s4, ref c6, ref c7);
        Product(a3, s3, ref c6, ref c7);
        Product(d3, s4, ref c7, ref c8);
        Product(a4, s4, ref c8, ref c9);
        return Reduce(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9);
    }

    /// <summary>a^(2^n), n ≥ 1 squarings.</summary>
    public static FieldElement SquareTimes(in FieldElement a, int n)
    {
        var r = Square(a);
        for (var i = 1; i < n; i++)
        {
            r = Square(r);
        }

        return r;
    }

    /// <summary>a⁻¹ (0 maps to 0), constant time (<see cref="ModInverse"/>); loose input, normalized output.</summary>
    public static FieldElement Invert(in FieldElement a)
    {
        a.ToUInt64(out var l0, out var l1, out var l2, out var l3);
        ModInverse.Invert(ModInverse.P, l0, l1, l2, l3, out l0, out l1, out l2, out l3);
        return FromUInt64(l0, l1, l2, l3);
    }

    /// <summary>
    /// A square root when one exists: a^((p+1)/4), valid because p ≡ 3 (mod 4). (p + 1)/4 in binary is 223 ones,
    /// a zero, 22 ones, then 00001100. Returns whether the root squares back to a (only public data pass here).
    /// </summary>
    public static bool TrySqrt(in FieldElement a, out FieldElement root)
    {
        var x2 = Mul(Square(a), a);
        var x3 = Mul(Square(x2), a);
        var x6 = Mul(SquareTimes(x3, 3), x3);
        var x9 = Mul(SquareTimes(x6, 3), x3);
        var x11 = Mul(SquareTimes(x9, 2), x2);
        var x22 = Mul(SquareTimes(x11, 11), x11);
        var x44 = Mul(SquareTimes(x22, 22), x22);
        var x88 = Mul(SquareTimes(x44, 44), x44);
        var x176 = Mul(SquareTimes(x88, 88), x88);
        var x220 = Mul(SquareTimes(x176, 44), x44);
        var x223 = Mul(SquareTimes(x220, 3), x3);

        var t = Mul(SquareTimes(x223, 23), x22); // …1 0 (22 ones)
        t = Mul(SquareTimes(t, 6), x2);          // 000011
        root = SquareTimes(t, 2);                // 00
        return Square(root).IsEqual(a);
    }

    /// <summary>Carries every limb into the next and folds bits 256 and up back with C: loose output (input limbs below 2^63).</summary>
    public static FieldElement NormalizeWeak(in FieldElement a)
    {
        var n1 = a.N1 + (a.N0 >> 52);
        var n2 = a.N2 + (n1 >> 52);
        var n3 = a.N3 + (n2 >> 52);
        var n4 = a.N4 + (n3 >> 52);
        var n0 = (a.N0 & M52) + ((n4 >> 48) * C); // n4 >> 48 < 2^15, so the product is below 2^48
        return new FieldElement(n0, n1 & M52, n2 & M52, n3 & M52, n4 & M48);
    }

    /// <summary>The unique representative below p, in constant time (input limbs below 2^63).</summary>
    public static FieldElement Normalize(in FieldElement a)
    {
        var w = NormalizeWeak(a);

        // Carry N0's spare bit through; the value is now below 2^256 + 2^48, so less than 2p.
        var n1 = w.N1 + (w.N0 >> 52);
        var n2 = w.N2 + (n1 >> 52);
        var n3 = w.N3 + (n2 >> 52);
        var n4 = w.N4 + (n3 >> 52);
        var n0 = w.N0 & M52;
        n1 &= M52;
        n2 &= M52;
        n3 &= M52;

        // v ≥ p exactly when v + C reaches 2^256; then v − p is v + C − 2^256.
        var t0 = n0 + C;
        var t1 = n1 + (t0 >> 52);
        var t2 = n2 + (t1 >> 52);
        var t3 = n3 + (t2 >> 52);
        var t4 = n4 + (t3 >> 52);
        var mask = 0UL - (t4 >> 48);
        return new FieldElement(
            (n0 & ~mask) | (t0 & M52 & mask),
            (n1 & ~mask) | (t1 & M52 & mask),
            (n2 & ~mask) | (t2 & M52 & mask),
            (n3 & ~mask) | (t3 & M52 & mask),
            (n4 & ~mask) | (t4 & M48 & mask));
    }

    /// <summary>One partial product a·(b·2^9): bits below 55 of a·b to <paramref name="low"/>, the rest (×8, i.e. from bit 52) to <paramref name="high"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Product(ulong a, ulong bShifted, ref ulong low, ref ulong high)
    {
        var h = Math.BigMul(a, bShifted, out var l);
        low += l >> 9;
        high += h << 3;
    }

    /// <summary>Columns c0…c9 (each below 2^61) to a loose element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static FieldElement Reduce(ulong c0, ulong c1, ulong c2, ulong c3, ulong c4, ulong c5, ulong c6, ulong c7, ulong c8, ulong c9)
    {
        // c_k·2^(52k) ≡ c_k·R·2^(52(k−5)) for k ≥ 5; each c_k·R (below 2^98) is split at bit 52 again.
        ulong c10 = 0;
        FoldProduct(c5, ref c0, ref c1);
        FoldProduct(c6, ref c1, ref c2);
        FoldProduct(c7, ref c2, ref c3);
        FoldProduct(c8, ref c3, ref c4);
        FoldProduct(c9, ref c4, ref c10); // c10 < 2^46

        c1 += c0 >> 52;
        c2 += c1 >> 52;
        c3 += c2 >> 52;
        c4 += c3 >> 52;

        // Bits 256 and up: c4 from bit 48, and c10 at 2^260. top < 2^51, top·C < 2^84.
        var top = (c4 >> 48) + (c10 << 4);
        ulong t0 = 0, t1 = 0;
        FoldTop(top, ref t0, ref t1);
        return new FieldElement((c0 & M52) + t0, (c1 & M52) + t1, c2 & M52, c3 & M52, c4 & M48);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FoldProduct(ulong c, ref ulong low, ref ulong high)
    {
        var h = Math.BigMul(c, R, out var l);
        low += l & M52;
        high += (h << 12) | (l >> 52);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FoldTop(ulong top, ref ulong low, ref ulong high)
    {
        var h = Math.BigMul(top, C, out var l);
        low += l & M52;
        high += (h << 12) | (l >> 52);
    }

    [Conditional("DEBUG")]
    private static void AssertBelow(in FieldElement a, int bits, int topBits)
    {
        var limit = 1UL << bits;
        Debug.Assert(a.N0 < limit && a.N1 < limit && a.N2 < limit && a.N3 < limit && a.N4 < (1UL << topBits), "field element limbs out of range");
    }
}

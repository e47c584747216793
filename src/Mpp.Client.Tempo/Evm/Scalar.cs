using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using static Mpp.Client.Tempo.Evm.Limbs;

namespace Mpp.Client.Tempo.Evm;

/// <summary>
/// An integer mod n, secp256k1's group order, as four little-endian 64-bit limbs, always below n. The
/// arithmetic is constant time (no branch or index depends on the values), so private keys and nonces can
/// pass through it.
/// </summary>
internal readonly struct Scalar
{
    // n = FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFE BAAEDCE6 AF48A03B BFD25E8C D0364141.
    private const ulong N0 = 0xBFD25E8CD0364141;
    private const ulong N1 = 0xBAAEDCE6AF48A03B;
    private const ulong N2 = 0xFFFFFFFFFFFFFFFE;
    private const ulong N3 = 0xFFFFFFFFFFFFFFFF;

    // 2^256 − n = 1·2^128 + NC1·2^64 + NC0 (129 bits): 2^256 ≡ this, which folds high parts down.
    private const ulong NC0 = 0x402DA1732FC9BEBF;
    private const ulong NC1 = 0x4551231950B75FC4;

    // ⌊n/2⌋, the largest low-s value (EIP-2).
    private const ulong H0 = 0xDFE92F46681B20A0;
    private const ulong H1 = 0x5D576E7357A4501D;
    private const ulong H2 = 0xFFFFFFFFFFFFFFFF;
    private const ulong H3 = 0x7FFFFFFFFFFFFFFF;

    public readonly ulong L0;
    public readonly ulong L1;
    public readonly ulong L2;
    public readonly ulong L3;

    private Scalar(ulong l0, ulong l1, ulong l2, ulong l3)
    {
        L0 = l0;
        L1 = l1;
        L2 = l2;
        L3 = l3;
    }

    public bool IsZero => (L0 | L1 | L2 | L3) == 0;

    /// <summary>Whether the value exceeds ⌊n/2⌋ (s is public by then, so a plain comparison is fine).</summary>
    public bool IsHigh => Compare(L0, L1, L2, L3, H0, H1, H2, H3) > 0;

    /// <summary>A 32-byte big-endian number reduced mod n; <paramref name="overflow"/> says whether it was ≥ n.</summary>
    public static Scalar FromBytes(ReadOnlySpan<byte> bytes, out bool overflow)
    {
        if (bytes.Length != 32)
        {
            throw new ArgumentException("A scalar is 32 bytes.", nameof(bytes));
        }

        var l3 = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        var l2 = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        var l1 = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        var l0 = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
        var result = SubtractNIfNeeded(l0, l1, l2, l3, 0);
        overflow = ((result.L0 ^ l0) | (result.L1 ^ l1) | (result.L2 ^ l2) | (result.L3 ^ l3)) != 0;
        return result;
    }

    /// <summary>The scalar with these limbs, if their value is below n (variable time: for public values such as R.x).</summary>
    public static bool TryFromLimbs(ulong l0, ulong l1, ulong l2, ulong l3, out Scalar value)
    {
        value = new Scalar(l0, l1, l2, l3);
        return Compare(l0, l1, l2, l3, N0, N1, N2, N3) < 0;
    }

    public void WriteBytes(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, L3);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], L2);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], L1);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..32], L0);
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[32];
        WriteBytes(bytes);
        return bytes;
    }

    /// <summary><paramref name="count"/> (≤ 32) bits from bit <paramref name="offset"/> on; bits past 255 read as 0. The position must be public.</summary>
    public int Bits(int offset, int count)
    {
        var shift = offset & 63;
        var value = Limb(offset >> 6) >> shift;
        if (shift + count > 64)
        {
            value |= Limb((offset >> 6) + 1) << (64 - shift);
        }

        return (int)(value & ((1UL << count) - 1));
    }

    /// <summary>Overwrites a secret scalar; not inlined, so the store is not dropped as dead.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Clear(ref Scalar value) => value = default;

    public static Scalar Add(in Scalar a, in Scalar b)
    {
        var s0 = AddCarry(a.L0, b.L0, 0, out var c);
        var s1 = AddCarry(a.L1, b.L1, c, out c);
        var s2 = AddCarry(a.L2, b.L2, c, out c);
        var s3 = AddCarry(a.L3, b.L3, c, out c);
        return SubtractNIfNeeded(s0, s1, s2, s3, c);
    }

    /// <summary>n − a for a ≠ 0, and 0 for 0.</summary>
    public static Scalar Negate(in Scalar a)
    {
        var d0 = SubBorrow(N0, a.L0, 0, out var borrow);
        var d1 = SubBorrow(N1, a.L1, borrow, out borrow);
        var d2 = SubBorrow(N2, a.L2, borrow, out borrow);
        var d3 = SubBorrow(N3, a.L3, borrow, out _);
        var any = a.L0 | a.L1 | a.L2 | a.L3;
        var mask = Mask((any | (0UL - any)) >> 63); // all ones unless a = 0
        return new Scalar(d0 & mask, d1 & mask, d2 & mask, d3 & mask);
    }

    public static Scalar Mul(in Scalar a, in Scalar b)
    {
        Multiply(a.L0, a.L1, a.L2, a.L3, b.L0, b.L1, b.L2, b.L3, out var t0, out var t1, out var t2, out var t3, out var t4, out var t5, out var t6, out var t7);
        return ReduceWide(t0, t1, t2, t3, t4, t5, t6, t7);
    }

    /// <summary>a⁻¹ mod n (0 maps to 0), constant time (<see cref="ModInverse"/>).</summary>
    public static Scalar Invert(in Scalar a)
    {
        ModInverse.Invert(ModInverse.N, a.L0, a.L1, a.L2, a.L3, out var r0, out var r1, out var r2, out var r3);
        return new Scalar(r0, r1, r2, r3);
    }

    /// <summary>
    /// A 512-bit value mod n. With 2^256 ≡ NC (129 bits), the high half folds onto the low half three times:
    /// 512 → 386 → 260 → 257 bits, and a last conditional subtraction.
    /// </summary>
    internal static Scalar ReduceWide(ulong t0, ulong t1, ulong t2, ulong t3, ulong t4, ulong t5, ulong t6, ulong t7)
    {
        // m = (t0..t3) + (t4..t7)·NC, below 2^386.
        var c = MulAdd(t4, NC0, t0, 0, out var m0);
        c = MulAdd(t5, NC0, t1, c, out var m1);
        c = MulAdd(t6, NC0, t2, c, out var m2);
        var m4 = MulAdd(t7, NC0, t3, c, out var m3);
        c = MulAdd(t4, NC1, m1, 0, out m1);
        c = MulAdd(t5, NC1, m2, c, out m2);
        c = MulAdd(t6, NC1, m3, c, out m3);
        var m5 = MulAdd(t7, NC1, m4, c, out m4);
        m2 = AddCarry(m2, t4, 0, out c);
        m3 = AddCarry(m3, t5, c, out c);
        m4 = AddCarry(m4, t6, c, out c);
        m5 = AddCarry(m5, t7, c, out c);
        var m6 = c;

        // p = (m0..m3) + (m4..m6)·NC, below 2^260.
        c = MulAdd(m4, NC0, m0, 0, out var p0);
        c = MulAdd(m5, NC0, m1, c, out var p1);
        c = MulAdd(m6, NC0, m2, c, out var p2);
        var p3 = AddCarry(m3, c, 0, out var p4);
        c = MulAdd(m4, NC1, p1, 0, out p1);
        c = MulAdd(m5, NC1, p2, c, out p2);
        c = MulAdd(m6, NC1, p3, c, out p3);
        p4 += c;
        p2 = AddCarry(p2, m4, 0, out c);
        p3 = AddCarry(p3, m5, c, out c);
        p4 += m6 + c;

        // r = (p0..p3) + p4·NC, below 2^256 + 2^133.
        c = MulAdd(p4, NC0, p0, 0, out var r0);
        c = MulAdd(p4, NC1, p1, c, out var r1);
        var r2 = AddCarry(p2, p4 + c, 0, out c);
        var r3 = AddCarry(p3, 0, c, out c);
        return SubtractNIfNeeded(r0, r1, r2, r3, c);
    }

    /// <summary>
    /// carry·2^256 + r mod n, where the value is below 2n. It is at least n exactly when there is a carry or when
    /// r + NC carries; in both cases the answer is r + NC mod 2^256.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Scalar SubtractNIfNeeded(ulong r0, ulong r1, ulong r2, ulong r3, ulong carry)
    {
        var s0 = AddCarry(r0, NC0, 0, out var c);
        var s1 = AddCarry(r1, NC1, c, out c);
        var s2 = AddCarry(r2, 1, c, out c);
        var s3 = AddCarry(r3, 0, c, out c);
        var mask = Mask(carry | c);
        return new Scalar(
            (s0 & mask) | (r0 & ~mask),
            (s1 & mask) | (r1 & ~mask),
            (s2 & mask) | (r2 & ~mask),
            (s3 & mask) | (r3 & ~mask));
    }

    private ulong Limb(int index) => index switch
    {
        0 => L0,
        1 => L1,
        2 => L2,
        3 => L3,
        _ => 0,
    };

    private static int Compare(ulong a0, ulong a1, ulong a2, ulong a3, ulong b0, ulong b1, ulong b2, ulong b3)
    {
        if (a3 != b3)
        {
            return a3 < b3 ? -1 : 1;
        }

        if (a2 != b2)
        {
            return a2 < b2 ? -1 : 1;
        }

        if (a1 != b1)
        {
            return a1 < b1 ? -1 : 1;
        }

        return a0.CompareTo(b0);
    }
}

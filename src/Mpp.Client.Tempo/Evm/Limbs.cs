using System.Runtime.CompilerServices;

namespace Mpp.Client.Tempo.Evm;

/// <summary>
/// 64-bit limb primitives for <see cref="Scalar"/> (four full 64-bit limbs): multiply-accumulate, add with carry,
/// and the 256 × 256 → 512-bit product. Branch-free, so that secret operands do not steer the control flow.
/// </summary>
internal static class Limbs
{
    /// <summary>a·b + c + d as (high, low); the sum cannot exceed 2^128 − 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MulAdd(ulong a, ulong b, ulong c, ulong d, out ulong low)
    {
        var high = Math.BigMul(a, b, out var l);
        l += c;
        high += l < c ? 1UL : 0UL;
        l += d;
        high += l < d ? 1UL : 0UL;
        low = l;
        return high;
    }

    /// <summary>a + b + carryIn (carryIn 0 or 1), returning the low word and the carry out (0 or 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong AddCarry(ulong a, ulong b, ulong carryIn, out ulong carryOut)
    {
        var sum = a + b;
        var c1 = sum < a ? 1UL : 0UL;
        sum += carryIn;
        var c2 = sum < carryIn ? 1UL : 0UL;
        carryOut = c1 | c2;
        return sum;
    }

    /// <summary>a − b − borrowIn (borrowIn 0 or 1), returning the low word and the borrow out (0 or 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SubBorrow(ulong a, ulong b, ulong borrowIn, out ulong borrowOut)
    {
        var diff = a - b;
        var b1 = a < b ? 1UL : 0UL;
        var b2 = diff < borrowIn ? 1UL : 0UL;
        borrowOut = b1 | b2;
        return diff - borrowIn;
    }

    /// <summary>All ones when <paramref name="bit"/> is 1, zero when it is 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mask(ulong bit) => 0UL - bit;

    /// <summary>The full 512-bit product of two 256-bit numbers (schoolbook, row by row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Multiply(
        ulong a0, ulong a1, ulong a2, ulong a3, ulong b0, ulong b1, ulong b2, ulong b3,
        out ulong t0, out ulong t1, out ulong t2, out ulong t3, out ulong t4, out ulong t5, out ulong t6, out ulong t7)
    {
        var c = MulAdd(a0, b0, 0, 0, out t0);
        c = MulAdd(a0, b1, 0, c, out t1);
        c = MulAdd(a0, b2, 0, c, out t2);
        t4 = MulAdd(a0, b3, 0, c, out t3);

        c = MulAdd(a1, b0, t1, 0, out t1);
        c = MulAdd(a1, b1, t2, c, out t2);
        c = MulAdd(a1, b2, t3, c, out t3);
        t5 = MulAdd(a1, b3, t4, c, out t4);

        c = MulAdd(a2, b0, t2, 0, out t2);
        c = MulAdd(a2, b1, t3, c, out t3);
        c = MulAdd(a2, b2, t4, c, out t4);
        t6 = MulAdd(a2, b3, t5, c, out t5);

        c = MulAdd(a3, b0, t3, 0, out t3);
        c = MulAdd(a3, b1, t4, c, out t4);
        c = MulAdd(a3, b2, t5, c, out t5);
        t7 = MulAdd(a3, b3, t6, c, out t6);
    }
}

using System.Runtime.Intrinsics;

namespace Mpp.Client.Tempo.Evm;

/// <summary>
/// Constant-time k·G for secp256k1 over a precomputed table. k is recoded into 43 signed base-64 digits
/// d_i in [−31, 32], and window i holds the affine points j·64^i·G for j = 1 … 32 (88 KB, built once on first
/// use). k·G is the sum of ±entry |d_i| of each window: 43 mixed additions and no doublings.
/// </summary>
/// <remarks>
/// <para>
/// No secret digit chooses a memory address or a branch: all 32 entries of a window are read and combined
/// under a mask, the sign is applied by a masked negation, and "digit is zero" and "sum so far is infinity"
/// are resolved with masked selects.
/// </para>
/// <para>
/// Exceptional cases of the addition formula: before window i the sum is s·G with |s| ≤ 32·(64^i − 1)/63
/// &lt; 64^i, and the entry is d·64^i·G with |d| ≥ 1. For i ≤ 41, |s| + |d·64^i| &lt; 33·64^41 &lt; n, so the two
/// points are never equal or opposite unless s = 0, which the infinity mask covers. In the top window
/// (d ≤ 16) they can only be equal, when k − 2s = n; that window also computes the doubling and selects it
/// when the addition degenerates (its Z becomes 0). They are never opposite, since that needs k ≡ 0.
/// </para>
/// </remarks>
internal static class GeneratorTable
{
    private const int WindowBits = 6;
    private const int Windows = 43; // 43 · 6 = 258 bits: k < 2^256 plus the recoding carry
    private const int Entries = 32;

    /// <summary>k·G for 0 ≤ k &lt; n (0 gives infinity).</summary>
    public static JacobianPoint Multiply(in Scalar k)
    {
        var table = Holder.Table;
        var acc = JacobianPoint.Infinity;
        var accIsInfinity = ulong.MaxValue;
        var carry = 0;
        for (var i = 0; i < Windows; i++)
        {
            // Signed recoding: v in [0, 64]; above 32 it becomes v − 64 with a carry into the next window.
            var v = k.Bits(i * WindowBits, WindowBits) + carry;
            carry = (v + 31) >> WindowBits;
            var digit = v - (carry << WindowBits);
            var negative = (ulong)(long)(digit >> 31);
            var magnitude = (ulong)((digit ^ (int)negative) - (int)negative);

            var x = Vector256<ulong>.Zero;
            var y = Vector256<ulong>.Zero;
            var wanted = Vector256.Create(magnitude);
            var candidate = Vector256<ulong>.One;
            var index = i * Entries * 2;
            for (var j = 0; j < Entries; j++, index += 2)
            {
                var mask = Vector256.Equals(candidate, wanted);
                x |= table[index] & mask;
                y |= table[index + 1] & mask;
                candidate += Vector256<ulong>.One;
            }

            var entryY = ToField(y);
            var entry = new AffinePoint(ToField(x), FieldElement.Select(negative, FieldElement.NormalizeWeak(FieldElement.Negate(entryY)), entryY));
            var digitIsNonzero = ~(ulong)(((long)magnitude - 1) >> 63);
            var sum = JacobianPoint.AddUnchecked(acc, entry);
            acc = Select(accIsInfinity, new JacobianPoint(entry), Select(digitIsNonzero, sum, acc));
            accIsInfinity &= ~digitIsNonzero;
        }

        return new JacobianPoint(acc.X, acc.Y, FieldElement.Select(accIsInfinity, FieldElement.Zero, acc.Z));
    }

    private static FieldElement ToField(Vector256<ulong> v) => FieldElement.FromUInt64(v.GetElement(0), v.GetElement(1), v.GetElement(2), v.GetElement(3));

    private static JacobianPoint Select(ulong mask, in JacobianPoint ifOnes, in JacobianPoint ifZero) => new(
        FieldElement.Select(mask, ifOnes.X, ifZero.X),
        FieldElement.Select(mask, ifOnes.Y, ifZero.Y),
        FieldElement.Select(mask, ifOnes.Z, ifZero.Z));

    /// <summary>The table is built by the type initializer on first use: once, lazily, and thread-safe.</summary>
    private static class Holder
    {
        /// <summary>Window-major: entry j (1…32) of window i is x at [(32i + j − 1)·2] and y right after it.</summary>
        public static readonly Vector256<ulong>[] Table = Build();

        private static Vector256<ulong>[] Build()
        {
            var points = new JacobianPoint[Windows * Entries];
            var windowBase = new JacobianPoint(AffinePoint.G);
            for (var i = 0; i < Windows; i++)
            {
                var offset = i * Entries;
                points[offset] = windowBase;
                points[offset + 1] = JacobianPoint.Double(windowBase);
                for (var j = 2; j < Entries; j++)
                {
                    points[offset + j] = JacobianPoint.Add(points[offset + j - 1], windowBase);
                }

                windowBase = JacobianPoint.Double(points[offset + Entries - 1]); // 2·32 = 64 times the old base
            }

            var affine = ToAffine(points);
            var table = new Vector256<ulong>[affine.Length * 2];
            for (var e = 0; e < affine.Length; e++)
            {
                affine[e].X.ToUInt64(out var x0, out var x1, out var x2, out var x3);
                affine[e].Y.ToUInt64(out var y0, out var y1, out var y2, out var y3);
                table[2 * e] = Vector256.Create(x0, x1, x2, x3);
                table[(2 * e) + 1] = Vector256.Create(y0, y1, y2, y3);
            }

            return table;
        }

        /// <summary>Normalizes many points with one inversion (Montgomery's trick); none may be infinity.</summary>
        private static AffinePoint[] ToAffine(JacobianPoint[] points)
        {
            var prefix = new FieldElement[points.Length];
            var running = FieldElement.One;
            for (var i = 0; i < points.Length; i++)
            {
                running = FieldElement.Mul(running, points[i].Z);
                prefix[i] = running;
            }

            var inverse = FieldElement.Invert(running); // 1 / (Z₀ ⋯ Zₗ)
            var result = new AffinePoint[points.Length];
            for (var i = points.Length - 1; i >= 0; i--)
            {
                var zInverse = i > 0 ? FieldElement.Mul(inverse, prefix[i - 1]) : inverse;
                inverse = FieldElement.Mul(inverse, points[i].Z);
                var zz = FieldElement.Square(zInverse);
                result[i] = new AffinePoint(FieldElement.Mul(points[i].X, zz), FieldElement.Mul(points[i].Y, FieldElement.Mul(zz, zInverse)));
            }

            return result;
        }
    }
}

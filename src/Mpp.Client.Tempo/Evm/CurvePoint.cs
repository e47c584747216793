namespace Mpp.Client.Tempo.Evm;

/// <summary>A point of secp256k1 (y² = x³ + 7) in affine coordinates; never the point at infinity.</summary>
internal readonly struct AffinePoint
{
    public readonly FieldElement X;
    public readonly FieldElement Y;

    public AffinePoint(in FieldElement x, in FieldElement y)
    {
        X = x;
        Y = y;
    }

    /// <summary>The generator G.</summary>
    public static AffinePoint G { get; } = new(
        FieldElement.FromUInt64(0x59F2815B16F81798, 0x029BFCDB2DCE28D9, 0x55A06295CE870B07, 0x79BE667EF9DCBBAC),
        FieldElement.FromUInt64(0x9C47D08FFB10D4B8, 0xFD17B448A6855419, 0x5DA4FBFC0E1108A8, 0x483ADA7726A3C465));

    /// <summary>The point with x coordinate <paramref name="x"/> and the given y parity, if x is on the curve (public data only).</summary>
    public static bool TryDecompress(in FieldElement x, bool oddY, out AffinePoint point)
    {
        if (!FieldElement.TrySqrt(CurveRightSide(x), out var y))
        {
            point = default;
            return false;
        }

        y = FieldElement.Normalize(y);
        if (y.IsOdd != oddY)
        {
            y = FieldElement.Normalize(FieldElement.Negate(y));
        }

        point = new AffinePoint(x, y);
        return true;
    }

    /// <summary>X ‖ Y, 64 bytes big-endian (the uncompressed encoding without its 0x04 prefix).</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[64];
        X.WriteBytes(bytes);
        Y.WriteBytes(bytes.AsSpan(32));
        return bytes;
    }

    /// <summary>x³ + 7.</summary>
    private static FieldElement CurveRightSide(in FieldElement x) =>
        FieldElement.Add(FieldElement.Mul(FieldElement.Square(x), x), FieldElement.FromUInt64(7, 0, 0, 0));
}

/// <summary>
/// A point in Jacobian coordinates, (X, Y, Z) standing for (X/Z², Y/Z³); Z = 0 is the point at infinity.
/// The formulas are for a = 0 curves. Coordinates are loose field elements (see <see cref="FieldElement"/>)
/// on input and on output.
/// </summary>
internal readonly struct JacobianPoint
{
    public readonly FieldElement X;
    public readonly FieldElement Y;
    public readonly FieldElement Z;

    public JacobianPoint(in FieldElement x, in FieldElement y, in FieldElement z)
    {
        X = x;
        Y = y;
        Z = z;
    }

    public JacobianPoint(in AffinePoint p)
        : this(p.X, p.Y, FieldElement.One)
    {
    }

    public static JacobianPoint Infinity => default;

    public bool IsInfinity => Z.IsZero;

    /// <summary>
    /// 2P: S = 4XY², M = 3X², X' = M² − 2S, Y' = M(S − X') − 8Y⁴, Z' = 2YZ. Branch-free; infinity stays
    /// infinity (Z' = 0), and secp256k1 has no point with Y = 0 (its order is odd).
    /// </summary>
    public static JacobianPoint Double(in JacobianPoint p)
    {
        var yy = FieldElement.Square(p.Y);
        var xyy = FieldElement.Mul(p.X, yy);
        var s = FieldElement.Add(xyy, xyy);
        s = FieldElement.NormalizeWeak(FieldElement.Add(s, s));
        var xx = FieldElement.Square(p.X);
        var m = FieldElement.Add(FieldElement.Add(xx, xx), xx);
        var x3 = FieldElement.NormalizeWeak(FieldElement.Sub(FieldElement.Sub(FieldElement.Square(m), s), s));
        var yyyy = FieldElement.Square(yy);
        var yyyy2 = FieldElement.Add(yyyy, yyyy);
        var yyyy4 = FieldElement.Add(yyyy2, yyyy2);
        var yyyy8 = FieldElement.NormalizeWeak(FieldElement.Add(yyyy4, yyyy4));
        var y3 = FieldElement.NormalizeWeak(FieldElement.Sub(FieldElement.Mul(m, FieldElement.Sub(s, x3)), yyyy8));
        var yz = FieldElement.Mul(p.Y, p.Z);
        return new JacobianPoint(x3, y3, FieldElement.NormalizeWeak(FieldElement.Add(yz, yz)));
    }

    /// <summary>
    /// P + Q for an affine Q, without the special cases: the caller guarantees P ≠ ∞ and P ≠ ±Q (otherwise the
    /// result is meaningless, not an exception). Branch-free, 8 multiplications and 3 squarings.
    /// </summary>
    public static JacobianPoint AddUnchecked(in JacobianPoint p, in AffinePoint q)
    {
        var zz = FieldElement.Square(p.Z);
        var u2 = FieldElement.Mul(q.X, zz);
        var s2 = FieldElement.Mul(q.Y, FieldElement.Mul(p.Z, zz));
        var h = FieldElement.Sub(u2, p.X);
        var r = FieldElement.Sub(s2, p.Y);
        var hh = FieldElement.Square(h);
        var hhh = FieldElement.Mul(h, hh);
        var v = FieldElement.Mul(p.X, hh);
        var x3 = FieldElement.NormalizeWeak(FieldElement.Sub(FieldElement.Sub(FieldElement.Sub(FieldElement.Square(r), hhh), v), v));
        var y3 = FieldElement.NormalizeWeak(FieldElement.Sub(FieldElement.Mul(r, FieldElement.Sub(v, x3)), FieldElement.Mul(p.Y, hhh)));
        return new JacobianPoint(x3, y3, FieldElement.Mul(p.Z, h));
    }

    /// <summary>P + Q with every case handled (infinity, P = Q, P = −Q). Variable time: public points only.</summary>
    public static JacobianPoint Add(in JacobianPoint p, in JacobianPoint q)
    {
        if (p.IsInfinity)
        {
            return q;
        }

        if (q.IsInfinity)
        {
            return p;
        }

        var z1z1 = FieldElement.Square(p.Z);
        var z2z2 = FieldElement.Square(q.Z);
        var u1 = FieldElement.Mul(p.X, z2z2);
        var u2 = FieldElement.Mul(q.X, z1z1);
        var s1 = FieldElement.Mul(p.Y, FieldElement.Mul(q.Z, z2z2));
        var s2 = FieldElement.Mul(q.Y, FieldElement.Mul(p.Z, z1z1));
        var h = FieldElement.Sub(u2, u1);
        var r = FieldElement.Sub(s2, s1);
        if (h.IsZero)
        {
            return r.IsZero ? Double(p) : Infinity;
        }

        var hh = FieldElement.Square(h);
        var hhh = FieldElement.Mul(h, hh);
        var v = FieldElement.Mul(u1, hh);
        var x3 = FieldElement.NormalizeWeak(FieldElement.Sub(FieldElement.Sub(FieldElement.Sub(FieldElement.Square(r), hhh), v), v));
        var y3 = FieldElement.NormalizeWeak(FieldElement.Sub(FieldElement.Mul(r, FieldElement.Sub(v, x3)), FieldElement.Mul(s1, hhh)));
        return new JacobianPoint(x3, y3, FieldElement.Mul(FieldElement.Mul(p.Z, q.Z), h));
    }

    /// <summary>The affine point (one field inversion, constant time); false for infinity.</summary>
    public bool TryToAffine(out AffinePoint affine)
    {
        if (IsInfinity)
        {
            affine = default;
            return false;
        }

        var zInverse = FieldElement.Invert(Z);
        var zz = FieldElement.Square(zInverse);
        affine = new AffinePoint(
            FieldElement.Normalize(FieldElement.Mul(X, zz)),
            FieldElement.Normalize(FieldElement.Mul(Y, FieldElement.Mul(zz, zInverse))));
        return true;
    }
}

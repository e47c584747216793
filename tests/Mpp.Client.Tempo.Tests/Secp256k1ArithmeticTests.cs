using System.Globalization;
using System.Numerics;
using Mpp.Client.Tempo.Evm;

namespace Mpp.Client.Tempo.Tests;

/// <summary>secp256k1 field arithmetic (mod p) against <see cref="BigInteger"/>, including the limb bounds.</summary>
public sealed class FieldElementTests
{
    private static readonly BigInteger P = (BigInteger.One << 256) - (BigInteger.One << 32) - 977;
    private const ulong M52 = (1UL << 52) - 1;

    [Test]
    public void Multiplication_squaring_addition_subtraction_and_negation_agree_with_big_integers()
    {
        var random = new Random(52);
        for (var i = 0; i < 1000; i++)
        {
            var a = RandomValue(random);
            var b = RandomValue(random);
            var fa = Field(a);
            var fb = Field(b);

            Assert.That(Value(FieldElement.Mul(fa, fb)), Is.EqualTo(a * b % P));
            Assert.That(Value(FieldElement.Square(fa)), Is.EqualTo(a * a % P));
            Assert.That(Value(FieldElement.Add(fa, fb)), Is.EqualTo((a + b) % P));
            Assert.That(Value(FieldElement.Sub(fa, fb)), Is.EqualTo(Mod(a - b)));
            Assert.That(Value(FieldElement.Negate(fa)), Is.EqualTo(Mod(-a)));
        }
    }

    [Test]
    public void The_inverse_times_the_value_is_one()
    {
        var random = new Random(1);
        BigInteger[] values = [BigInteger.One, 2, P - 1, P - 2, (P - 1) / 2, (BigInteger.One << 255) - 19, .. Enumerable.Range(0, 300).Select(_ => RandomValue(random))];
        foreach (var value in values.Where(v => !v.IsZero))
        {
            var inverse = FieldElement.Invert(Field(value));

            Assert.That(Value(FieldElement.Mul(inverse, Field(value))), Is.EqualTo(BigInteger.One), value.ToString("X", CultureInfo.InvariantCulture));
            Assert.That(Value(inverse), Is.EqualTo(BigInteger.ModPow(value, P - 2, P)));
        }

        Assert.That(Value(FieldElement.Invert(FieldElement.Zero)), Is.EqualTo(BigInteger.Zero));
    }

    [Test]
    public void Values_at_or_above_p_reduce_and_report_the_overflow()
    {
        var atP = FieldElement.FromBytes(Bytes(P), out var overflowAtP);
        var aboveP = FieldElement.FromBytes(Bytes(P + 1), out var overflowAboveP);
        var max = FieldElement.FromBytes(Bytes((BigInteger.One << 256) - 1), out var overflowMax);
        var belowP = FieldElement.FromBytes(Bytes(P - 1), out var overflowBelowP);

        Assert.That((Value(atP), overflowAtP), Is.EqualTo((BigInteger.Zero, true)));
        Assert.That((Value(aboveP), overflowAboveP), Is.EqualTo((BigInteger.One, true)));
        Assert.That((Value(max), overflowMax), Is.EqualTo((new BigInteger(0x1000003D0), true)));
        Assert.That((Value(belowP), overflowBelowP), Is.EqualTo((P - 1, false)));
        Assert.That(atP.IsZero, Is.True);
    }

    [Test]
    public void P_minus_1_plus_1_is_zero_and_0_minus_1_is_p_minus_1()
    {
        var pMinus1 = Field(P - 1);

        Assert.That(FieldElement.Add(pMinus1, FieldElement.One).IsZero, Is.True);
        Assert.That(Value(FieldElement.Sub(FieldElement.Zero, FieldElement.One)), Is.EqualTo(P - 1));
        Assert.That(Value(FieldElement.Mul(pMinus1, pMinus1)), Is.EqualTo(BigInteger.One));
        Assert.That(Value(FieldElement.Square(pMinus1)), Is.EqualTo(BigInteger.One));
    }

    [Test]
    public void Multiplication_is_exact_at_the_largest_limbs_it_accepts()
    {
        const ulong Max55 = (1UL << 55) - 1;
        var random = new Random(55);
        List<FieldElement> operands = [FieldElement.FromLimbs(Max55, Max55, Max55, Max55, Max55), FieldElement.FromLimbs(0, 0, 0, 0, Max55), FieldElement.FromLimbs(Max55, 0, 0, 0, 0)];
        for (var i = 0; i < 50; i++)
        {
            operands.Add(FieldElement.FromLimbs(RandomLimb(random, 55), RandomLimb(random, 55), RandomLimb(random, 55), RandomLimb(random, 55), RandomLimb(random, 55)));
        }

        foreach (var a in operands)
        {
            foreach (var b in operands.Take(10))
            {
                Assert.That(Value(FieldElement.Mul(a, b)), Is.EqualTo(LimbValue(a) * LimbValue(b) % P));
            }

            Assert.That(Value(FieldElement.Square(a)), Is.EqualTo(LimbValue(a) * LimbValue(a) % P));
            var product = FieldElement.Mul(a, a);
            Assert.That(product.N0 < (1UL << 53) && product.N1 < (1UL << 53) && product.N2 < (1UL << 53) && product.N3 < (1UL << 53) && product.N4 < (1UL << 49), Is.True, "the product is loose");
        }
    }

    [Test]
    public void Normalization_handles_large_limbs_and_values_just_above_p()
    {
        const ulong Max63 = (1UL << 63) - 1;
        FieldElement[] values =
        [
            FieldElement.FromLimbs(Max63, Max63, Max63, Max63, Max63),
            FieldElement.FromLimbs(0xFFFFEFFFFFC2F, M52, M52, M52, (1UL << 48) - 1), // p
            FieldElement.FromLimbs(0xFFFFEFFFFFC30, M52, M52, M52, (1UL << 48) - 1), // p + 1
            FieldElement.FromLimbs(M52, M52, M52, M52, (1UL << 48) - 1),             // 2^256 − 1
            FieldElement.FromLimbs(1UL << 52, M52, M52, M52, (1UL << 48) - 1),       // 2^256 with a carry in N0
            FieldElement.FromLimbs(0, 0, 0, 0, 1UL << 48),                            // 2^256
        ];

        foreach (var value in values)
        {
            var expected = LimbValue(value) % P;
            Assert.That(Value(FieldElement.Normalize(value)), Is.EqualTo(expected));
            Assert.That(LimbValue(FieldElement.Normalize(value)), Is.EqualTo(expected), "canonical limbs");
            Assert.That(LimbValue(FieldElement.NormalizeWeak(value)) % P, Is.EqualTo(expected));
        }
    }

    [Test]
    public void Square_roots_exist_for_squares_and_not_for_minus_1()
    {
        var random = new Random(4);
        for (var i = 0; i < 50; i++)
        {
            var square = FieldElement.Square(Field(RandomValue(random)));

            Assert.That(FieldElement.TrySqrt(square, out var root), Is.True);
            Assert.That(FieldElement.Square(root).IsEqual(square), Is.True);
        }

        Assert.That(FieldElement.TrySqrt(Field(P - 1), out _), Is.False); // p ≡ 3 (mod 4)
    }

    internal static BigInteger RandomValue(Random random)
    {
        var bytes = new byte[32];
        random.NextBytes(bytes);
        return new BigInteger(bytes, isUnsigned: true, isBigEndian: true) % P;
    }

    private static ulong RandomLimb(Random random, int bits) => (ulong)random.NextInt64() & ((1UL << bits) - 1);

    private static BigInteger Mod(BigInteger value) => ((value % P) + P) % P;

    private static FieldElement Field(BigInteger value) => FieldElement.FromBytes(Bytes(value));

    private static BigInteger Value(FieldElement element)
    {
        var bytes = new byte[32];
        element.WriteBytes(bytes);
        return new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
    }

    private static BigInteger LimbValue(FieldElement e) =>
        e.N0 + ((BigInteger)e.N1 << 52) + ((BigInteger)e.N2 << 104) + ((BigInteger)e.N3 << 156) + ((BigInteger)e.N4 << 208);

    internal static byte[] Bytes(BigInteger value)
    {
        var bytes = new byte[32];
        value.TryWriteBytes(bytes.AsSpan(32 - value.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true);
        return bytes;
    }
}

/// <summary>Scalars mod n against <see cref="BigInteger"/>.</summary>
public sealed class ScalarTests
{
    private static readonly BigInteger N = BigInteger.Parse("0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [Test]
    public void Multiplication_addition_negation_and_inversion_agree_with_big_integers()
    {
        var random = new Random(7);
        for (var i = 0; i < 500; i++)
        {
            var a = RandomScalar(random);
            var b = RandomScalar(random);

            Assert.That(Value(Scalar.Mul(Of(a), Of(b))), Is.EqualTo(a * b % N));
            Assert.That(Value(Scalar.Add(Of(a), Of(b))), Is.EqualTo((a + b) % N));
            Assert.That(Value(Scalar.Negate(Of(a))), Is.EqualTo((N - a) % N));
            if (!a.IsZero)
            {
                Assert.That(Value(Scalar.Mul(Scalar.Invert(Of(a)), Of(a))), Is.EqualTo(BigInteger.One));
            }
        }
    }

    [Test]
    public void Edge_values_reduce_invert_and_compare_exactly()
    {
        var half = N / 2;

        Assert.That(Value(Scalar.Mul(Of(N - 1), Of(N - 1))), Is.EqualTo(BigInteger.One));
        Assert.That(Value(Scalar.Add(Of(N - 1), Of(1))), Is.EqualTo(BigInteger.Zero));
        Assert.That(Value(Scalar.Add(Of(N - 1), Of(N - 1))), Is.EqualTo(N - 2));
        Assert.That(Value(Scalar.Invert(Of(1))), Is.EqualTo(BigInteger.One));
        Assert.That(Value(Scalar.Invert(Of(N - 1))), Is.EqualTo(N - 1));
        Assert.That(Value(Scalar.Invert(Of(2))), Is.EqualTo((N + 1) / 2));
        Assert.That(Scalar.Invert(Of(0)).IsZero, Is.True);
        Assert.That(Scalar.Negate(Of(0)).IsZero, Is.True);
        Assert.That(Of(half).IsHigh, Is.False);
        Assert.That(Of(half + 1).IsHigh, Is.True);
    }

    [Test]
    public void Values_at_or_above_n_reduce_and_report_the_overflow()
    {
        var atN = Scalar.FromBytes(FieldElementTests.Bytes(N), out var overflowAtN);
        var max = Scalar.FromBytes(FieldElementTests.Bytes((BigInteger.One << 256) - 1), out var overflowMax);
        var belowN = Scalar.FromBytes(FieldElementTests.Bytes(N - 1), out var overflowBelowN);

        Assert.That((Value(atN), overflowAtN), Is.EqualTo((BigInteger.Zero, true)));
        Assert.That((Value(max), overflowMax), Is.EqualTo(((BigInteger.One << 256) - 1 - N, true)));
        Assert.That((Value(belowN), overflowBelowN), Is.EqualTo((N - 1, false)));
    }

    [Test]
    public void The_wide_reduction_is_exact_for_the_largest_and_random_512_bit_values()
    {
        var random = new Random(512);
        var words = new ulong[8];
        Array.Fill(words, ulong.MaxValue);
        for (var i = 0; i <= 200; i++)
        {
            var wide = BigInteger.Zero;
            for (var w = 7; w >= 0; w--)
            {
                wide = (wide << 64) + words[w];
            }

            var reduced = Scalar.ReduceWide(words[0], words[1], words[2], words[3], words[4], words[5], words[6], words[7]);

            Assert.That(Value(reduced), Is.EqualTo(wide % N));
            for (var w = 0; w < 8; w++)
            {
                words[w] = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 63);
            }
        }
    }

    [Test]
    public void Bit_windows_read_across_limb_boundaries()
    {
        var random = new Random(6);
        var value = RandomScalar(random);
        var scalar = Of(value);
        for (var offset = 0; offset < 260; offset++)
        {
            Assert.That(scalar.Bits(offset, 6), Is.EqualTo((int)((value >> offset) & 63)), $"offset {offset}");
        }
    }

    internal static BigInteger RandomScalar(Random random)
    {
        var bytes = new byte[32];
        random.NextBytes(bytes);
        return new BigInteger(bytes, isUnsigned: true, isBigEndian: true) % N;
    }

    internal static Scalar Of(BigInteger value) => Scalar.FromBytes(FieldElementTests.Bytes(value), out _);

    private static BigInteger Value(Scalar scalar) => new(scalar.ToBytes(), isUnsigned: true, isBigEndian: true);
}

/// <summary>Fixed-base multiplication k·G against BouncyCastle, with scalars chosen to stress the signed-digit recoding.</summary>
public sealed class GeneratorTableTests
{
    private static readonly BigInteger N = BigInteger.Parse("0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [Test]
    public void Multiples_of_G_equal_bouncycastle_for_edge_and_random_scalars()
    {
        var random = new Random(64);
        var scalars = new List<BigInteger>();
        scalars.AddRange(Enumerable.Range(1, 70).Select(i => new BigInteger(i)));
        for (var i = 1; i <= 42; i++)
        {
            var power = BigInteger.One << (6 * i);
            scalars.AddRange([power - 1, power, power + 1, 32 * power, 33 * power % N]);
        }

        scalars.AddRange([BigInteger.One << 255, N - 1, N - 2, N / 2, (N / 2) + 1, N - (BigInteger.One << 252)]);
        scalars.Add(Repeat(0b100000)); // every digit 32: the largest positive digit
        scalars.Add(Repeat(0b100001)); // every digit 33: −31 with a carry
        scalars.Add(Repeat(0b111111)); // carries all the way up
        scalars.AddRange(Enumerable.Range(0, 100).Select(_ => ScalarTests.RandomScalar(random)));

        foreach (var k in scalars.Select(s => s % N).Where(s => !s.IsZero))
        {
            Assert.That(GeneratorTable.Multiply(ScalarTests.Of(k)).TryToAffine(out var point), Is.True);

            Assert.That(point.ToBytes(), Is.EqualTo(Secp256k1Reference.Multiply(new Org.BouncyCastle.Math.BigInteger(1, FieldElementTests.Bytes(k)))), k.ToString("X", CultureInfo.InvariantCulture));
        }
    }

    [Test]
    public void Zero_times_G_is_infinity()
    {
        Assert.That(GeneratorTable.Multiply(ScalarTests.Of(BigInteger.Zero)).IsInfinity, Is.True);
    }

    private static BigInteger Repeat(int sixBits)
    {
        var value = BigInteger.Zero;
        for (var i = 0; i < 42; i++)
        {
            value = (value << 6) | sixBits;
        }

        return value % N;
    }
}

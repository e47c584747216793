using CsCheck;

namespace Mpp.Client.ReliabilityTests.Fuzzing;

/// <summary>What one property run saw: how many inputs, and the most any one of them made the parser allocate.</summary>
internal sealed record PropertyRun(string Name, int Inputs, long Bytes, long WorstAllocation, int WorstAllocationInputLength);

/// <summary>
/// Runs a property over a fixed, reproducible set of generated inputs: input <c>i</c> comes from its own CsCheck seed
/// derived from (<c>stream</c>, <c>i</c>), so every run (and every machine) sees the same inputs, whatever the thread
/// scheduling. A failure names the seed (<c>CsCheck_Seed=…</c> reproduces it) and is shrunk by CsCheck from there.
/// </summary>
internal static class Property
{
    /// <summary>Most bytes a parser may allocate for one input: a multiple of its size plus fixed buffers.</summary>
    public static long AllocationBound(int inputLength) => (96L * inputLength) + (512 * 1024);

    public static PropertyRun Run(string name, Gen<byte[]> gen, Action<byte[]> property, int count, uint stream)
    {
        long bytes = 0, worst = 0;
        var worstLength = 0;
        for (var i = 0; i < count; i++)
        {
            var seed = SeedText(stream, i);
            var input = gen.Generate(PCG.Parse(seed), null, out _);
            bytes += input.Length;
            var before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                property(input);
            }
            catch (Exception ex)
            {
                throw Shrunk(name, gen, property, seed, i, input, ex);
            }

            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated > AllocationBound(input.Length))
            {
                Assert.Fail($"{name}: input #{i} (CsCheck_Seed={seed}, {input.Length} bytes) allocated {allocated:N0} bytes, more than {AllocationBound(input.Length):N0}: {Print(input)}");
            }

            if (allocated > worst)
            {
                (worst, worstLength) = (allocated, input.Length);
            }
        }

        var run = new PropertyRun(name, count, bytes, worst, worstLength);
        TestContext.Out.WriteLine($"property {name}: {count:N0} inputs ({bytes:N0} bytes), 0 failures, worst allocation {worst:N0} bytes for a {worstLength:N0}-byte input");
        return run;
    }

    /// <summary>Runs <paramref name="action"/> on a worker with a generous limit: a hang guard, never a speed assertion.</summary>
    public static T WithHangGuard<T>(Func<T> action, TimeSpan limit)
    {
        var task = Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.That(task.Wait(limit), Is.True, $"the inputs were not all handled within {limit}: a hang");
        return task.Result;
    }

    public static string SeedText(uint stream, int i)
    {
        var pcg = new PCG(stream, 0x9E3779B97F4A7C15UL * (ulong)(i + 1));
        return pcg.ToString(pcg.Seed);
    }

    public static string Print(byte[] input)
    {
        var text = System.Text.Encoding.Latin1.GetString(input, 0, Math.Min(input.Length, 400));
        var printable = string.Concat(text.Select(c => c is < ' ' or > '~' ? $"\\x{(int)c:x2}" : c.ToString()));
        return input.Length > 400 ? printable + $"… ({input.Length} bytes)" : printable;
    }

    private static AssertionException Shrunk(string name, Gen<byte[]> gen, Action<byte[]> property, string seed, int index, byte[] input, Exception failure)
    {
        string shrunk;
        try
        {
            // CsCheck starts from the failing seed and searches for a smaller failing input.
            gen.Sample(property, seed: seed, iter: 20_000, threads: 1, print: Print);
            shrunk = "(CsCheck could not reproduce it)";
        }
        catch (Exception ex)
        {
            shrunk = ex.Message;
        }

        return new AssertionException(
            $"{name}: input #{index} (CsCheck_Seed={seed}) broke the parser's contract with {failure.GetType().Name}: {failure.Message}{Environment.NewLine}" +
            $"Input (base64, for a regression file): {Convert.ToBase64String(input)}{Environment.NewLine}Shrunk: {shrunk}",
            failure);
    }
}

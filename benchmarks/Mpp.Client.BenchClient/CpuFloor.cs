using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

/// <summary>
/// Process CPU per call of several kinds of call, measured in the same process, in interleaved blocks so that whatever
/// else the machine does falls on all of them alike; each figure is the median over the blocks.
/// </summary>
internal static class CpuFloor
{
    public static async Task<JsonObject> MeasureAsync(IReadOnlyList<(string Name, Func<Task<bool>> Call)> variants, int rounds, int block)
    {
        foreach (var (_, call) in variants)
        {
            await WarmUntilJitQuietAsync(call);
        }

        var cpu = variants.ToDictionary(v => v.Name, _ => new List<double>());
        var items = variants.ToDictionary(v => v.Name, _ => new List<double>());
        var allocated = variants.ToDictionary(v => v.Name, _ => new List<double>());
        var failures = variants.ToDictionary(v => v.Name, _ => 0);
        using var process = Process.GetCurrentProcess();
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, call) in variants)
            {
                process.Refresh();
                var started = process.TotalProcessorTime;
                var work = ThreadPool.CompletedWorkItemCount;
                var bytes = GC.GetTotalAllocatedBytes(precise: false);
                for (var i = 0; i < block; i++)
                {
                    if (!await call())
                    {
                        failures[name]++;
                    }
                }

                process.Refresh();
                cpu[name].Add((process.TotalProcessorTime - started).TotalMicroseconds / block);
                items[name].Add((double)(ThreadPool.CompletedWorkItemCount - work) / block);
                allocated[name].Add((double)(GC.GetTotalAllocatedBytes(precise: false) - bytes) / block);
            }
        }

        var result = new JsonObject { ["rounds"] = rounds, ["block"] = block };
        foreach (var (name, _) in variants)
        {
            result[name] = new JsonObject
            {
                ["cpu_us_per_call"] = Math.Round(Median(cpu[name]), 1),
                ["thread_pool_items_per_call"] = Math.Round(Median(items[name]), 2),
                ["allocated_bytes_per_call"] = Math.Round(Median(allocated[name])),
                ["failed"] = failures[name],
            };
        }

        return result;
    }

    /// <summary>
    /// Calls until the JIT has compiled nothing new for two blocks in a row (with tiered compilation, hot methods are
    /// recompiled optimized in the background after a short delay): the timed part then measures the steady state a
    /// long-running agent reaches, not compilation. Returns the calls made.
    /// </summary>
    public static async Task<int> WarmUntilJitQuietAsync(Func<Task<bool>> call, int block = 40, int maxCalls = 4000)
    {
        var calls = 0;
        var quiet = 0;
        var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        while (quiet < 2 && calls < maxCalls)
        {
            for (var i = 0; i < block; i++, calls++)
            {
                await call();
            }

            await Task.Delay(250); // lets the background tier-1 compilation of hot methods run
            var now = System.Runtime.JitInfo.GetCompiledMethodCount();
            quiet = now == compiled ? quiet + 1 : 0;
            compiled = now;
        }

        return calls;
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>A plain unpaid GET with its own <see cref="HttpClient"/>, read to the end: the HTTP floor.</summary>
    public static Func<Task<bool>> PlainGet(HttpClient client, Uri url, string? authorization = null) => async () =>
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await client.SendAsync(request);
        _ = await response.Content.ReadAsByteArrayAsync();
        return response.IsSuccessStatusCode;
    };

    public static Uri Delayed(Uri server, double milliseconds, int pad = 0)
        => new(server, $"/?ms={Math.Max(0, (int)Math.Round(milliseconds)).ToString(CultureInfo.InvariantCulture)}&pad={pad.ToString(CultureInfo.InvariantCulture)}");
}

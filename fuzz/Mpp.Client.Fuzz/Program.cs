using System.Diagnostics;
using Mpp.Client.Fuzz;
using SharpFuzz;

// The coverage-guided harness (fuzz/README.md): `run <target>` under afl-fuzz, `seeds` to build the seed corpus from the
// reference vectors, `replay` to run a corpus once and measure the worst time and allocation per input.
switch (args)
{
    case ["run", var name] when FuzzTargets.All.TryGetValue(name, out var target):
        // AFL's fork server, with each input run in a child process so that even a stack overflow is reported as a crash.
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            target(buffer.ToArray());
        });
        return 0;
    case ["seeds", var vectors, var output]:
        SeedCorpus.Write(vectors, output);
        return 0;
    case ["replay", var name, .. var paths] when FuzzTargets.All.TryGetValue(name, out var target) && paths.Length > 0:
        return Replay(name, target, paths);
    case ["list"]:
        Console.WriteLine(string.Join(Environment.NewLine, FuzzTargets.All.Keys));
        return 0;
    default:
        Console.Error.WriteLine($"usage: run <target> | seeds <vectors-dir> <corpus-dir> | replay <target> <file-or-dir>... | list   (targets: {string.Join(", ", FuzzTargets.All.Keys)})");
        return 2;
}

static int Replay(string name, Action<byte[]> target, string[] paths)
{
    var files = paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p])
        .Where(f => !Path.GetFileName(f).StartsWith('.') && !f.Contains("/.state/", StringComparison.Ordinal)).ToList();
    long worstTicks = 0, worstBytes = 0, totalBytes = 0;
    string? slowest = null, hungriest = null;
    var failures = 0;
    foreach (var file in files)
    {
        var input = File.ReadAllBytes(file);
        totalBytes += input.Length;
        target(input); // warm: the first run of each path pays for JIT compilation
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var started = Stopwatch.GetTimestamp();
        try
        {
            target(input);
        }
        catch (Exception ex)
        {
            failures++;
            Console.WriteLine($"FAIL {file}: {ex.GetType().Name}: {ex.Message}");
        }

        var ticks = Stopwatch.GetTimestamp() - started;
        var bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        if (ticks > worstTicks)
        {
            (worstTicks, slowest) = (ticks, file);
        }

        if (bytes > worstBytes)
        {
            (worstBytes, hungriest) = (bytes, file);
        }
    }

    Console.WriteLine($"{name}: {files.Count} inputs ({totalBytes:N0} bytes), {failures} failures; worst time {Stopwatch.GetElapsedTime(0, worstTicks).TotalMilliseconds:F3} ms ({slowest}); worst allocation {worstBytes:N0} bytes ({hungriest})");
    return failures == 0 ? 0 : 1;
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Mpp.Client.Testing;

namespace Mpp.Client.Storage.Tests;

/// <summary>One paying agent in an OS process of its own (tests/Mpp.Client.StoreProbe), paying the kit over loopback.</summary>
internal sealed class Probe : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentQueue<string> _errors = new();

    private Probe(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _lines.Enqueue(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _errors.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public IReadOnlyList<string> Lines => [.. _lines];

    public string Transcript => string.Join('\n', _lines) + "\n--- stderr ---\n" + string.Join('\n', _errors.Take(40));

    public static Probe Start(MppTestServer server, TestDevAccount payer, string store, params string[] arguments)
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "Mpp.Client.StoreProbe.dll");
        Assert.That(File.Exists(path), Is.True, $"the store probe must be built beside the tests: {path}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { path, store }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["MPP_SERVER_URL"] = server.BaseAddress.ToString();
        start.Environment["MPP_RPC_URL"] = server.RpcUrl.ToString();
        start.Environment["MPP_CHAIN_ID"] = server.ChainId.ToString(CultureInfo.InvariantCulture);
        start.Environment["MPP_PRIVATE_KEY"] = payer.PrivateKey;
        return new Probe(Process.Start(start)!);
    }

    public static string SqliteStore(string path) => "sqlite:" + path;

    public static string PostgresStore(string schema) => $"postgres:{schema}:{PostgresServer.ConnectionString}";

    /// <summary>Waits for a line matching <paramref name="match"/>; fails with the transcript when the process ends first or time runs out.</summary>
    public async Task<string> WaitForAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (_lines.FirstOrDefault(match) is { } line)
            {
                return line;
            }

            if (_process.HasExited || waited.Elapsed > timeout)
            {
                await Task.Delay(100); // the last lines
                return _lines.FirstOrDefault(match) ?? throw new AssertionException($"probe {Id} {(_process.HasExited ? "exited (" + _process.ExitCode + ")" : "timed out")} before the expected line:\n{Transcript}");
            }

            await Task.Delay(10);
        }
    }

    public async Task ExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new AssertionException($"probe {Id} did not finish in {timeout}:\n{Transcript}");
        }

        _process.WaitForExit(); // the output is drained
        Assert.That(_process.ExitCode, Is.Zero, Transcript);
    }

    /// <summary><c>kill -9</c>: the process gets no chance to clean up.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            KillHard();
        }

        _process.Dispose();
    }
}

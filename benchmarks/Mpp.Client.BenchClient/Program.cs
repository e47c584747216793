// The C# client for the side-by-side benchmark in shared/bench (contract in its README):
// `dotnet Mpp.Client.BenchClient.dll <scenario>`, result as the last JSON line on stdout.
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Evm;
using Mpp.Client.Tempo.Sessions;

var scenario = args.Length > 0 ? args[^1] : "";
var count = int.Parse(Environment.GetEnvironmentVariable("BENCH_COUNT") ?? "30", CultureInfo.InvariantCulture);
var warmup = int.Parse(Environment.GetEnvironmentVariable("BENCH_WARMUP") ?? "0", CultureInfo.InvariantCulture);
var chainId = long.Parse(Environment.GetEnvironmentVariable("MPP_CHAIN_ID") ?? "1337", CultureInfo.InvariantCulture);
var result = new JsonObject { ["scenario"] = scenario, ["client"] = new JsonObject { ["name"] = "csharp", ["version"] = "0.1.0", ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription } };
using var mark = new HttpClient();
var markUrl = Environment.GetEnvironmentVariable("BENCH_MARK_URL");
async Task Mark(string phase)
{
    if (!string.IsNullOrEmpty(markUrl))
    {
        (await mark.GetAsync($"{markUrl}?phase={phase}")).Dispose();
    }
}

var process = Process.GetCurrentProcess();
switch (scenario)
{
    case "charge":
    {
        var services = new ServiceCollection();
        services.AddMpp().AddTempo(o =>
        {
            o.Signer = PrivateKeySigner.FromEnvironment("MPP_PRIVATE_KEY");
            o.RpcUrl = new Uri(Environment.GetEnvironmentVariable("MPP_RPC_URL")!);
            o.ChainId = chainId;
        });
        services.AddHttpClient("bench").AddMppPayments(o =>
        {
            o.AllowInsecureLoopback = true;
            o.Budget.Limit(TempoAssets.PathUsdOn(chainId), perRequest: 1m, total: 1000m);
        });
        using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("bench");
        var url = new Uri(new Uri(Environment.GetEnvironmentVariable("MPP_SERVER_URL")!), "/paid");
        var errors = new JsonObject();
        async Task<bool> PayAsync()
        {
            try
            {
                using var response = await client.GetAsync(url);
                _ = await response.Content.ReadAsByteArrayAsync();
                if (response.IsSuccessStatusCode)
                {
                    return true;
                }

                Count("HTTP " + (int)response.StatusCode);
            }
            catch (MppException ex)
            {
                Count(ex.GetType().Name);
            }

            return false;
        }

        void Count(string reason) => errors[reason] = (errors[reason]?.GetValue<int>() ?? 0) + 1;

        var cold = Stopwatch.StartNew();
        for (var i = 0; i < Math.Max(warmup, 1); i++)
        {
            await PayAsync();
        }

        result["cold_ms"] = cold.Elapsed.TotalMilliseconds;
        await Mark("start");
        var cpu = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var latencies = new JsonArray();
        int ok = 0, failed = 0;
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            if (await PayAsync())
            {
                ok++;
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            else
            {
                failed++;
            }
        }

        result["wall_ms"] = wall.Elapsed.TotalMilliseconds;
        process.Refresh();
        result["cpu_ms"] = (process.TotalProcessorTime - cpu).TotalMilliseconds;
        await Mark("end");
        result["ok"] = ok;
        result["failed"] = failed;
        result["latencies_ms"] = latencies;
        result["errors"] = errors;
        break;
    }

    case "sign-voucher":
    {
        using var signer = PrivateKeySigner.FromEnvironment("MPP_PRIVATE_KEY");
        var voucher = new Voucher(chainId, EvmAddress.Parse("0x4d50500000000000000000000000000000000000"));
        var channelId = Hex.Decode("0x" + string.Concat(Enumerable.Repeat("ab", 32)));
        for (var i = 1; i <= warmup; i++)
        {
            (await signer.SignHashAsync(voucher.Digest(channelId, i), default)).ToRsv();
        }

        var cpu = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        byte[] last = [];
        for (var i = 1; i <= count; i++)
        {
            last = (await signer.SignHashAsync(voucher.Digest(channelId, new BigInteger(i)), default)).ToRsv();
        }

        var elapsed = wall.Elapsed;
        process.Refresh();
        result["us_per_op"] = elapsed.TotalMicroseconds / count;
        result["cpu_us_per_op"] = (process.TotalProcessorTime - cpu).TotalMicroseconds / count;
        result["wall_ms"] = elapsed.TotalMilliseconds;
        result["signature"] = Hex.Encode(last);
        result["ok"] = count;
        result["failed"] = 0;
        break;
    }

    default:
        result["unsupported"] = true;
        break;
}

Console.WriteLine(result.ToJsonString());

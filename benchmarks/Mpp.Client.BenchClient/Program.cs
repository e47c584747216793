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
if (scenario == "delay-server")
{
    await DelayServer.RunAsync();
    return;
}

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
        Task<bool> PayAsync() => PayOnceAsync(client, url, Count);

        void Count(string reason) => errors[reason] = (errors[reason]?.GetValue<int>() ?? 0) + 1;

        var cold = Stopwatch.StartNew();
        for (var i = 0; i < Math.Max(warmup, 1); i++)
        {
            await PayAsync();
        }

        result["cold_ms"] = cold.Elapsed.TotalMilliseconds;
        await Mark("start");
        var cpu = process.TotalProcessorTime;
        var workItems = ThreadPool.CompletedWorkItemCount;
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
        result["thread_pool_items"] = ThreadPool.CompletedWorkItemCount - workItems;
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
        var workItems = ThreadPool.CompletedWorkItemCount;
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

    case "session-seq":
    case "session-floor":
    case "session-breakdown":
    case "session-conc":
    case "session-conc-manager":
    case "sse":
    {
        // BENCH_CHANNEL_STORE=sqlite measures the durable store (ledger, journal, receipts and channels in one SQLite file) instead of memory.
        var storeDirectory = Environment.GetEnvironmentVariable("BENCH_CHANNEL_STORE") == "sqlite" ? Path.Combine(Path.GetTempPath(), "mpp-bench-" + Guid.NewGuid().ToString("N")) : null;
        var services = new ServiceCollection();
        var mpp = services.AddMpp();
        if (storeDirectory is not null)
        {
            mpp.UseSqlite(Path.Combine(storeDirectory, "mpp.db"));
        }

        mpp
            .AddTempo(o =>
            {
                o.Signer = PrivateKeySigner.FromEnvironment("MPP_PRIVATE_KEY");
                o.RpcUrl = new Uri(Environment.GetEnvironmentVariable("MPP_RPC_URL")!);
                o.ChainId = chainId;
            })
            .AddTempoSessions(o =>
            {
                o.CloseOnShutdown = false;
            });
        var sizes = new HeaderSizes();
        var bench = services.AddHttpClient("bench").AddMppPayments(o =>
        {
            o.AllowInsecureLoopback = true;
            o.Budget.Limit(TempoAssets.PathUsdOn(chainId), perRequest: 1m, total: 1000m);
        });
        if (scenario == "session-breakdown")
        {
            bench.AddHttpMessageHandler(() => new HeaderSizeProbe(sizes)); // inside the payment handler: sees the paid request
            services.AddHttpClient("factory-plain");
        }

        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("bench");
        var manager = provider.GetRequiredService<TempoSessionManager>();
        var server = new Uri(Environment.GetEnvironmentVariable("MPP_SERVER_URL")!);
        var sessionUrl = new Uri(server, "/session");
        var errors = new JsonObject();
        void Count(string reason)
        {
            lock (errors)
            {
                errors[reason] = (errors[reason]?.GetValue<int>() ?? 0) + 1;
            }
        }

        Task<bool> PayAsync() => PayOnceAsync(client, sessionUrl, Count);

        var open = Stopwatch.StartNew();
        await PayAsync();
        result["open_ms"] = open.Elapsed.TotalMilliseconds;

        // Untimed warm-up on the open channel (JIT), as the contract allows for setup: calls, or one whole stream.
        var sessionWarmup = int.Parse(Environment.GetEnvironmentVariable("BENCH_SESSION_WARMUP") ?? "20", CultureInfo.InvariantCulture);
        for (var i = 0; i < sessionWarmup && scenario != "sse"; i++)
        {
            await PayAsync();
        }

        if (scenario == "sse")
        {
            using var warm = await manager.StreamAsync(client, new HttpRequestMessage(HttpMethod.Get, new Uri(server, "/stream")));
            await foreach (var unused in warm)
            {
            }
        }

        await Mark("start");
        var cpu = process.TotalProcessorTime;
        var workItems = ThreadPool.CompletedWorkItemCount;
        var wall = Stopwatch.StartNew();
        var latencies = new List<double>();
        int ok = 0, failed = 0;
        if (scenario == "sse")
        {
            var started = Stopwatch.GetTimestamp();
            var text = new System.Text.StringBuilder();
            var tokens = 0;
            using var stream = await manager.StreamAsync(client, new HttpRequestMessage(HttpMethod.Get, new Uri(server, "/stream")));
            await foreach (var message in stream)
            {
                tokens++;
                text.Append(message.Data);
            }

            result["total_ms"] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            result["tokens"] = tokens;
            result["vouchers_client"] = stream.VouchersSent + 1;
            result["text"] = text.ToString();
            ok = 1;
        }
        else
        {
            var callers = scenario is "session-seq" or "session-floor" or "session-breakdown" ? 1 : int.Parse(Environment.GetEnvironmentVariable("BENCH_CONCURRENCY") ?? "16", CultureInfo.InvariantCulture);
            var next = 0;
            await Task.WhenAll(Enumerable.Range(0, callers).Select(async _ =>
            {
                while (Interlocked.Increment(ref next) <= count)
                {
                    var started = Stopwatch.GetTimestamp();
                    if (await PayAsync())
                    {
                        lock (latencies)
                        {
                            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                            ok++;
                        }
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
            }));
        }

        result["wall_ms"] = wall.Elapsed.TotalMilliseconds;
        process.Refresh();
        result["cpu_ms"] = (process.TotalProcessorTime - cpu).TotalMilliseconds;
        result["thread_pool_items"] = ThreadPool.CompletedWorkItemCount - workItems;
        await Mark("end");
        if (scenario is "session-floor" or "session-breakdown" && latencies.Count > 0)
        {
            // Not a scenario of shared/bench: the same process's CPU per paid call against a plain HttpClient GET to a server
            // that answers in the paid call's median time, in interleaved blocks, each warmed until the JIT is quiet (issue 15's
            // floor). Run it with the runtime's default tiered compilation (DOTNET_TieredCompilation=1), as an agent app runs.
            var (delay, delayServer) = DelayServer.Start();
            try
            {
                var median = CpuFloor.Median(latencies);
                using var plain = new HttpClient();
                var variants = new List<(string, Func<Task<bool>>)>
                {
                    ("paid", PayAsync),
                    ("plain", CpuFloor.PlainGet(plain, CpuFloor.Delayed(delayServer, median))),
                };
                if (scenario == "session-breakdown")
                {
                    var factory = provider.GetRequiredService<IHttpClientFactory>();
                    var credential = "Payment " + new string('x', Math.Max(0, sizes.Authorization - "Payment ".Length));
                    variants.Insert(1, ("plain-paid-size-headers", CpuFloor.PlainGet(plain, CpuFloor.Delayed(delayServer, median, sizes.Receipt), credential)));
                    variants.Add(("factory-client", CpuFloor.PlainGet(factory.CreateClient("factory-plain"), CpuFloor.Delayed(delayServer, median))));
                    variants.Add(("factory-client-with-payment-handler", CpuFloor.PlainGet(client, CpuFloor.Delayed(delayServer, median))));
                    result["authorization_bytes"] = sizes.Authorization;
                    result["receipt_bytes"] = sizes.Receipt;
                }

                var rounds = Math.Max(1, int.Parse(Environment.GetEnvironmentVariable("BENCH_FLOOR_ROUNDS") ?? "6", CultureInfo.InvariantCulture));
                var floor = await CpuFloor.MeasureAsync(variants, rounds, block: 50);
                floor["delay_ms"] = Math.Round(median, 2);
                floor["ratio_paid_to_plain"] = Math.Round(floor["paid"]!["cpu_us_per_call"]!.GetValue<double>() / floor["plain"]!["cpu_us_per_call"]!.GetValue<double>(), 3);
                result["floor"] = floor;
            }
            finally
            {
                delay.StandardInput.Close();
                await delay.WaitForExitAsync();
            }
        }

        var close = Stopwatch.StartNew();
        await manager.CloseAllAsync();
        result["close_ms"] = close.Elapsed.TotalMilliseconds;
        result["ok"] = ok;
        result["failed"] = failed;
        result["latencies_ms"] = new JsonArray([.. latencies.Select(l => (JsonNode)l)]);
        result["errors"] = errors;
        result["vouchers_rejected_client"] = manager.VouchersRejected;
        if (storeDirectory is not null)
        {
            Directory.Delete(storeDirectory, recursive: true);
        }

        break;
    }

    case "http-baseline":
    {
        // Not a shared/bench scenario: the CPU of a plain unpaid GET /health with HttpClient, to separate the HTTP stack's cost.
        using var plain = new HttpClient();
        var health = new Uri(new Uri(Environment.GetEnvironmentVariable("MPP_SERVER_URL")!), "/health");
        for (var i = 0; i < int.Parse(Environment.GetEnvironmentVariable("BENCH_SESSION_WARMUP") ?? "50", CultureInfo.InvariantCulture); i++)
        {
            using var warm = await plain.GetAsync(health);
        }

        var cpu = process.TotalProcessorTime;
        var workItems = ThreadPool.CompletedWorkItemCount;
        var wall = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            using var response = await plain.GetAsync(health);
            _ = await response.Content.ReadAsByteArrayAsync();
        }

        result["wall_ms"] = wall.Elapsed.TotalMilliseconds;
        process.Refresh();
        result["cpu_ms"] = (process.TotalProcessorTime - cpu).TotalMilliseconds;
        result["thread_pool_items"] = ThreadPool.CompletedWorkItemCount - workItems;
        result["ok"] = count;
        result["failed"] = 0;
        break;
    }

    default:
        result["unsupported"] = true;
        break;
}

Console.WriteLine(result.ToJsonString());

// One paid GET: true on a 2xx; anything else is counted by its status or exception type.
static async Task<bool> PayOnceAsync(HttpClient client, Uri url, Action<string> count)
{
    try
    {
        using var response = await client.GetAsync(url);
        _ = await response.Content.ReadAsByteArrayAsync();
        if (response.IsSuccessStatusCode)
        {
            return true;
        }

        count("HTTP " + (int)response.StatusCode);
    }
    catch (MppException ex)
    {
        count(ex.GetType().Name);
    }

    return false;
}

/// <summary>The size of the last paid request's credential and of the last receipt (session-breakdown).</summary>
internal sealed class HeaderSizes
{
    public int Authorization { get; set; }

    public int Receipt { get; set; }
}

/// <summary>Records header sizes from inside the payment handler.</summary>
internal sealed class HeaderSizeProbe(HeaderSizes sizes) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Headers.TryGetValues("Authorization", out var values))
        {
            sizes.Authorization = values.First().Length;
        }

        var response = await base.SendAsync(request, cancellationToken);
        if (response.Headers.TryGetValues("Payment-Receipt", out var receipts))
        {
            sizes.Receipt = receipts.First().Length;
        }

        return response;
    }
}

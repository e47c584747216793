using System.Diagnostics;
using System.Numerics;
using System.Text.Json.Nodes;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Evm;
using Mpp.Client.Tempo.Sessions;

namespace Mpp.Client.InteropTests;

/// <summary>The <c>mpp</c> tool, run as its own process, against the real mppx server and the local chain.</summary>
[Category("Interop")]
[NonParallelizable]
public sealed class CliInteropTests
{
    private string _home = null!;

    private const string Passphrase = "interop passphrase";

    /// <summary>A home whose config names an encrypted keystore of the payer's key, as `mpp keys import` leaves it.</summary>
    [SetUp]
    public void CreateHome()
    {
        _home = Directory.CreateTempSubdirectory("mpp-cli-").FullName;
        using var payer = PrivateKeySigner.FromHex(ReferenceServer.PayerKey);
        File.WriteAllText(Path.Combine(_home, "payer.json"), payer.ToKeystoreJson(Passphrase, new Nethereum.KeyStore.Model.ScryptParams { Dklen = 32, N = 4096, R = 8, P = 1 }));
        File.WriteAllText(Path.Combine(_home, "config.json"), """{ "keyFile": "payer.json" }""");
    }

    [TearDown]
    public void DeleteHome() => Directory.Delete(_home, recursive: true);

    [Test]
    public async Task Request_pays_the_paid_route_and_prints_the_receipt_as_json()
    {
        var before = await BalanceAsync(Payer);
        var run = await MppAsync("request", $"{ReferenceServer.Url}paid", "--json");

        Assert.That(run.ExitCode, Is.Zero, run.Error);
        Assert.That(run.Error, Does.Contain("plain HTTP"), "plain HTTP to loopback is accepted with a warning");
        Assert.That(run.Error, Does.Not.Contain("plain hex key"), "the key came from the encrypted keystore");
        var json = JsonNode.Parse(run.Output)!;
        Assert.That((json["status"]!.GetValue<int>(), json["outcome"]!.GetValue<string>(), json["paid"]!.GetValue<bool>()), Is.EqualTo((200, "paid", true)));
        Assert.That(json["amount"]!["units"]!.GetValue<string>(), Is.EqualTo("10000"));
        var receipt = json["receipt"]!;
        Assert.That(receipt["method"]!.GetValue<string>(), Is.EqualTo("tempo"));
        var reference = receipt["reference"]!.GetValue<string>();
        Assert.That(reference, Does.Match("^0x[0-9a-f]{64}$"));
        Assert.That(await BalanceAsync(Payer), Is.EqualTo(before - 10_000), "the payer paid exactly the price on chain");

        var receipts = await MppAsync("receipts", "list", "--json");
        Assert.That(receipts.ExitCode, Is.Zero, receipts.Error);
        Assert.That(JsonNode.Parse(receipts.Output)!.AsArray().Select(r => r!["reference"]!.GetValue<string>()), Is.EqualTo(new[] { reference }));
        var budget = JsonNode.Parse((await MppAsync("budget", "show", "--json")).Output)!;
        Assert.That(PathUsdRow(budget)["committed"]!.GetValue<string>(), Is.EqualTo("10000"));
    }

    [Test]
    public async Task A_dry_run_prints_the_quote_and_pays_nothing()
    {
        var before = await BalanceAsync(Payer);
        var run = await MppAsync("request", $"{ReferenceServer.Url}paid", "--dry-run", "--json");

        Assert.That(run.ExitCode, Is.Zero, run.Error);
        var json = JsonNode.Parse(run.Output)!;
        Assert.That((json["status"]!.GetValue<int>(), json["outcome"]!.GetValue<string>(), json["paid"]!.GetValue<bool>()), Is.EqualTo((402, "dry-run", false)));
        Assert.That(json["quotedAmount"]!["units"]!.GetValue<string>(), Is.EqualTo("10000"));
        Assert.That(await BalanceAsync(Payer), Is.EqualTo(before), "nothing moved on chain");
        var budget = JsonNode.Parse((await MppAsync("budget", "show", "--json")).Output)!;
        var row = PathUsdRow(budget);
        Assert.That((row["committed"]!.GetValue<string>(), row["reserved"]!.GetValue<string>(), row["unknown"]!.GetValue<string>()), Is.EqualTo(("0", "0", "0")), "the ledger holds nothing");
        using var database = MppSqliteDatabase.Open(new SqliteStoreOptions { Path = Path.Combine(_home, "mpp.db") });
        Assert.That(await new SqlitePaymentJournal(database).GetAllAsync(default), Is.Empty, "no payment was journaled");
    }

    [Test]
    public async Task Max_spend_below_the_price_refuses_with_exit_code_3_and_pays_nothing()
    {
        var before = await BalanceAsync(Payer);
        var run = await MppAsync("request", $"{ReferenceServer.Url}paid", "--max-spend", "0.005", "--json");

        Assert.That(run.ExitCode, Is.EqualTo(3), run.Output + run.Error);
        var json = JsonNode.Parse(run.Output)!;
        Assert.That(json["outcome"]!.GetValue<string>(), Is.EqualTo("denied"));
        Assert.That(json["refusals"]!.AsArray().Select(r => r!["rule"]!.GetValue<string>()), Does.Contain("cli.max-spend"));
        Assert.That(await BalanceAsync(Payer), Is.EqualTo(before));
    }

    [Test]
    public async Task Session_calls_reuse_one_channel_across_commands_and_close_all_leaves_no_open_channel_on_chain()
    {
        var first = await MppAsync("request", $"{ReferenceServer.Url}session", "--json");
        Assert.That(first.ExitCode, Is.Zero, first.Error);
        var second = await MppAsync("request", $"{ReferenceServer.Url}session", "--json");
        Assert.That(second.ExitCode, Is.Zero, second.Error);
        var channelId = JsonNode.Parse(first.Output)!["receipt"]!["reference"]!.GetValue<string>();
        var receipt = JsonNode.Parse(second.Output)!["receipt"]!;
        Assert.That(receipt["reference"]!.GetValue<string>(), Is.EqualTo(channelId), "the second command found the channel in the store");
        Assert.That(receipt["acceptedCumulative"]!.GetValue<string>(), Is.EqualTo("2000"));

        var listed = JsonNode.Parse((await MppAsync("sessions", "list", "--json")).Output)!.AsArray();
        Assert.That(listed.Select(c => c!["channelId"]!.GetValue<string>()), Is.EqualTo(new[] { channelId }));
        var channel = await StoredChannelAsync(channelId);
        Assert.That((await ChannelOnChainAsync(channel)).Deposit, Is.GreaterThan(BigInteger.Zero), "open on chain before close-all");

        var close = await MppAsync("sessions", "close-all", "--json");
        Assert.That(close.ExitCode, Is.Zero, close.Output + close.Error);
        var closed = JsonNode.Parse(close.Output)!.AsArray().Single()!;
        Assert.That((closed["closed"]!.GetValue<bool>(), closed["settledToPayee"]!.GetValue<string>()), Is.EqualTo((true, "2000")));
        var (settled, refunded) = await TempoSessionInteropTests.ChannelClosedAsync(closed["transaction"]!.GetValue<string>(), channelId);
        Assert.That(settled, Is.EqualTo(new BigInteger(2000)));
        Assert.That(settled + refunded, Is.EqualTo(channel.Deposit));
        Assert.That((await ChannelOnChainAsync(channel)).Deposit, Is.EqualTo(BigInteger.Zero), "the escrow holds nothing for the channel after close-all");
        Assert.That(JsonNode.Parse((await MppAsync("sessions", "list", "--json")).Output)!.AsArray(), Is.Empty);
        var row = PathUsdRow(JsonNode.Parse((await MppAsync("budget", "show", "--json")).Output)!);
        Assert.That((row["committed"]!.GetValue<string>(), row["reserved"]!.GetValue<string>()), Is.EqualTo(("2000", "0")), "the deposit's hold is released, the two calls are spent");
    }

    private static string Payer => PrivateKeySigner.FromHex(ReferenceServer.PayerKey).Address.ToString();

    private static JsonNode PathUsdRow(JsonNode budget)
        => budget["assets"]!.AsArray().Single(a => a!["asset"]!.GetValue<string>() == TempoAssets.PathUsdOn(ReferenceServer.ChainId).Id.ToString())!;

    private async Task<SessionChannel> StoredChannelAsync(string channelId)
    {
        using var database = MppSqliteDatabase.Open(new SqliteStoreOptions { Path = Path.Combine(_home, "mpp.db") });
        using var store = new SqliteChannelStore(database);
        return (await store.LoadAsync(default)).Single(c => c.ChannelId == channelId);
    }

    private static async Task<ChannelOnChain> ChannelOnChainAsync(SessionChannel channel)
    {
        var descriptor = new ChannelDescriptor(EvmAddress.Parse(channel.Payer), channel.Payee, channel.Operator, channel.Token, Hex.Decode(channel.Salt), EvmAddress.Parse(channel.AuthorizedSigner), Hex.Decode(channel.ExpiringNonceHash));
        var result = await ReferenceServer.RpcAsync("eth_call", new JsonArray(new JsonObject { ["to"] = channel.Escrow, ["data"] = Hex.Encode(Escrow.GetChannel(descriptor)) }, "latest"));
        return Escrow.DecodeChannel(Hex.Decode(result!.GetValue<string>()));
    }

    private static async Task<BigInteger> BalanceAsync(string address)
    {
        var data = Hex.Encode([.. Abi.Selector("balanceOf(address)"), .. new byte[12], .. EvmAddress.Parse(address).ToBytes()]);
        var result = await ReferenceServer.RpcAsync("eth_call", new JsonArray(new JsonObject { ["to"] = TempoAssets.PathUsdAddress, ["data"] = data }, "latest"));
        return Hex.DecodeQuantity(result!.GetValue<string>());
    }


    private sealed record Run(int ExitCode, string Output, string Error);

    /// <summary>Runs the built tool (src/Mpp.Cli) with the harness's chain in its environment and a home of its own.</summary>
    private async Task<Run> MppAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(ToolPath());
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["MPP_HOME"] = _home;
        start.Environment.Remove("MPP_PRIVATE_KEY"); // the keystore named in the home's config is the key
        start.Environment["MPP_KEY_PASSWORD"] = Passphrase;
        start.Environment["MPP_RPC_URL"] = ReferenceServer.RpcUrl.ToString();
        start.Environment["MPP_CHAIN_ID"] = ReferenceServer.ChainId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return new Run(process.ExitCode, await output, await error);
    }

    private static string ToolPath()
    {
        // The tool is built next to this project (ProjectReference without the assembly): src/Mpp.Cli/bin/<configuration>/net10.0/mpp.dll.
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "MppClient.sln")))
        {
            directory = directory.Parent;
        }

        var path = directory is null ? null : Path.Combine(directory.FullName, "src", "Mpp.Cli", "bin", configuration, "net10.0", "mpp.dll");
        if (path is null || !File.Exists(path))
        {
            Assert.Fail($"The mpp tool is not built ({path ?? "repository root not found"}); build the solution first (dotnet build MppClient.sln -c {configuration}).");
        }

        return path!;
    }
}

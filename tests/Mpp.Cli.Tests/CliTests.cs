using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Mpp.Cli.Tests;

public sealed class CliTests
{
    private const string Key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    private const string Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    [Test]
    public async Task Plain_http_to_a_remote_host_is_refused_before_anything_is_sent()
    {
        using var host = new CliTestHost();
        var (code, _, error) = await host.RunAsync("request", "http://example.com/paid");
        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("Plain HTTP is accepted only for loopback"));
    }

    [Test]
    public async Task A_free_loopback_route_prints_the_body_with_a_plain_http_warning()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/free", () => "hello"));
        using var host = new CliTestHost();
        var (code, output, error) = await host.RunAsync("request", new Uri(server.Url, "free").ToString());
        Assert.That(code, Is.EqualTo(ExitCodes.Ok), error);
        Assert.That(output, Is.EqualTo("hello" + Environment.NewLine));
        Assert.That(error, Does.Contain("warning: plain HTTP"));
    }

    [Test]
    public async Task An_http_error_that_is_not_about_payment_exits_with_6()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/missing", () => Results.NotFound()));
        using var host = new CliTestHost();
        var (code, output, _) = await host.RunAsync("request", new Uri(server.Url, "missing").ToString(), "--json");
        Assert.That(code, Is.EqualTo(ExitCodes.HttpError));
        Assert.That(JsonNode.Parse(output)!["status"]!.GetValue<int>(), Is.EqualTo(404));
    }

    [Test]
    public async Task A_402_nothing_configured_can_pay_is_denied_with_exit_code_3()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/paid", (HttpContext context) =>
        {
            context.Response.StatusCode = 402;
            context.Response.Headers.WWWAuthenticate = "Payment id=\"abc\", realm=\"r\", method=\"tempo\", intent=\"charge\", request=\"e30\"";
            return Task.CompletedTask;
        }));
        using var host = new CliTestHost();
        var (code, output, _) = await host.RunAsync("request", new Uri(server.Url, "paid").ToString(), "--json");
        Assert.That(code, Is.EqualTo(ExitCodes.Denied), output);
        var json = JsonNode.Parse(output)!;
        Assert.That((json["outcome"]!.GetValue<string>(), json["paid"]!.GetValue<bool>()), Is.EqualTo(("denied", false)));
    }

    [Test]
    public async Task A_timeout_before_any_credential_exits_with_7()
    {
        await using var server = await LoopbackServer.StartAsync(app => app.MapGet("/slow", async (CancellationToken ct) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), ct);
            return "late";
        }));
        using var host = new CliTestHost();
        var (code, _, error) = await host.RunAsync("request", new Uri(server.Url, "slow").ToString(), "--timeout", "0.5");
        Assert.That(code, Is.EqualTo(ExitCodes.Timeout), error);
        Assert.That(error, Does.Contain("nothing was paid"));
    }

    [Test]
    public async Task A_payment_credential_passed_by_hand_is_refused()
    {
        using var host = new CliTestHost();
        var (code, _, error) = await host.RunAsync("request", "https://api.example.com/", "-H", "Authorization: Payment abc");
        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("made by mpp itself"));
    }

    [Test]
    public async Task The_key_comes_from_the_key_file_flag_before_the_environment_and_the_config_file()
    {
        using var host = new CliTestHost();
        var other = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"; // anvil #1
        var keyFile = Path.Combine(host.Home, "flag.key");
        await File.WriteAllTextAsync(keyFile, Key + "\n");
        await File.WriteAllTextAsync(Path.Combine(host.Home, "config.json"), $$"""{ "privateKey": "{{other}}" }""");

        Assert.That((await host.RunAsync("keys", "address")).Output.Trim(), Is.EqualTo("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), "the config file");
        host.Variables["MPP_PRIVATE_KEY"] = Key;
        Assert.That((await host.RunAsync("keys", "address")).Output.Trim(), Is.EqualTo(Address), "the environment wins over the config file");
        host.Variables["MPP_PRIVATE_KEY"] = other;
        Assert.That((await host.RunAsync("keys", "address", "--key-file", keyFile)).Output.Trim(), Is.EqualTo(Address), "the flag wins over the environment");
    }

    [Test]
    public async Task An_invalid_key_is_a_usage_error_that_never_repeats_the_key()
    {
        using var host = new CliTestHost();
        host.Variables["MPP_PRIVATE_KEY"] = "0xdeadbeefsecret";
        var (code, output, error) = await host.RunAsync("keys", "address");
        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("MPP_PRIVATE_KEY"));
        Assert.That(output + error, Does.Not.Contain("deadbeef"));
    }

    [Test]
    public async Task A_broken_config_file_is_explained()
    {
        using var host = new CliTestHost();
        await File.WriteAllTextAsync(Path.Combine(host.Home, "config.json"), "{ not json");
        var (code, _, error) = await host.RunAsync("budget", "show");
        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("config.json is not valid"));
    }

    [Test]
    public async Task Keys_new_plain_save_writes_an_owner_only_hex_file_with_a_warning_and_never_overwrites_it()
    {
        using var host = new CliTestHost();
        var path = Path.Combine(host.Home, "keys", "agent.key");
        var (code, output, error) = await host.RunAsync("keys", "new", "--plain", "--save", path);
        Assert.That(code, Is.EqualTo(ExitCodes.Ok));
        Assert.That(error, Does.Contain("not encrypted"));
        Assert.That(output, Does.Not.Contain(File.ReadAllText(path).Trim()), "the saved key is not printed");
        AssertOwnerOnly(path);

        var address = output.Trim();
        var reread = await host.RunAsync("keys", "address", "--key-file", path);
        Assert.That(reread.Output.Trim(), Is.EqualTo(address));
        Assert.That(reread.Error, Does.Contain("plain hex key, unencrypted"), "a hex key still works, with a warning on stderr");
        Assert.That((await host.RunAsync("keys", "new", "--plain", "--save", path)).ExitCode, Is.EqualTo(ExitCodes.Usage), "an existing key file is never overwritten");
    }

    [Test]
    public async Task Keys_new_writes_an_encrypted_keystore_that_opens_only_with_its_passphrase()
    {
        using var host = new CliTestHost();
        host.Variables["MPP_KEY_PASSWORD"] = "correct horse battery";
        var (code, output, error) = await host.RunAsync("keys", "new", "--json");
        Assert.That(code, Is.EqualTo(ExitCodes.Ok), error);
        var result = JsonNode.Parse(output)!;
        var address = result["address"]!.GetValue<string>();
        var path = result["keyFile"]!.GetValue<string>();
        Assert.That(path, Is.EqualTo(Path.Combine(host.Home, "keys", address + ".json")));
        AssertOwnerOnly(path);
        var keystore = JsonNode.Parse(File.ReadAllText(path))!;
        Assert.That((keystore["version"]!.GetValue<int>(), keystore["crypto"]!["kdf"]!.GetValue<string>()), Is.EqualTo((3, "scrypt")));
        Assert.That(output + error, Does.Not.Contain("correct horse"));

        var opened = await host.RunAsync("keys", "address", "--key-file", path);
        Assert.That(opened.Output.Trim(), Is.EqualTo(address), opened.Error);
        Assert.That(opened.Error, Does.Not.Contain("warning"));

        host.Variables["MPP_KEY_PASSWORD"] = "wrong";
        var wrong = await host.RunAsync("keys", "address", "--key-file", path);
        Assert.That(wrong.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(wrong.Error, Does.Contain("passphrase does not open"));
        Assert.That(wrong.Error, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    public async Task A_keystore_passphrase_comes_from_the_password_file_then_the_environment_then_the_terminal()
    {
        using var host = new CliTestHost();
        var keystore = Path.Combine(TestContext.CurrentContext.TestDirectory, "keystore-pbkdf2.json");
        var passwordFile = Path.Combine(host.Home, "password.txt");
        await File.WriteAllTextAsync(passwordFile, "testpassword\n");
        host.Variables["MPP_KEY_PASSWORD"] = "wrong";

        var fromFile = await host.RunAsync("keys", "address", "--key-file", keystore, "--password-file", passwordFile);
        Assert.That(fromFile.ExitCode, Is.EqualTo(ExitCodes.Ok), fromFile.Error);
        var address = fromFile.Output.Trim();

        Assert.That((await host.RunAsync("keys", "address", "--key-file", keystore)).ExitCode, Is.EqualTo(ExitCodes.Usage), "the environment's wrong passphrase");

        host.Variables.Remove("MPP_KEY_PASSWORD");
        var none = await host.RunAsync("keys", "address", "--key-file", keystore);
        Assert.That(none.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(none.Error, Does.Contain("MPP_KEY_PASSWORD"), "no terminal and no passphrase: says where one can come from");

        var prompts = new List<string>();
        host.ReadSecret = prompt =>
        {
            prompts.Add(prompt);
            return "testpassword";
        };
        var asked = await host.RunAsync("keys", "address", "--key-file", keystore);
        Assert.That(asked.Output.Trim(), Is.EqualTo(address), asked.Error);
        Assert.That(prompts, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Keys_import_encrypts_a_hex_key_and_copies_a_keystore_after_opening_it()
    {
        using var host = new CliTestHost();
        host.Variables["MPP_KEY_PASSWORD"] = "testpassword";
        var hexFile = Path.Combine(host.Home, "old.key");
        await File.WriteAllTextAsync(hexFile, Key + "\n");

        var imported = await host.RunAsync("keys", "import", hexFile, "--json");
        Assert.That(imported.ExitCode, Is.EqualTo(ExitCodes.Ok), imported.Error);
        var keyFile = JsonNode.Parse(imported.Output)!["keyFile"]!.GetValue<string>();
        Assert.That(File.ReadAllText(keyFile), Does.Not.Contain(Key[2..]));
        Assert.That(imported.Error, Does.Contain("still holds the key in the clear"));
        Assert.That((await host.RunAsync("keys", "address", "--key-file", keyFile)).Output.Trim(), Is.EqualTo(Address));

        var spec = Path.Combine(TestContext.CurrentContext.TestDirectory, "keystore-pbkdf2.json");
        var copied = await host.RunAsync("keys", "import", spec, "--save", Path.Combine(host.Home, "spec.json"));
        Assert.That(copied.ExitCode, Is.EqualTo(ExitCodes.Ok), copied.Error);
        Assert.That(File.ReadAllText(Path.Combine(host.Home, "spec.json")).Trim(), Is.EqualTo(File.ReadAllText(spec).Trim()));

        host.Variables["MPP_KEY_PASSWORD"] = "wrong";
        var refused = await host.RunAsync("keys", "import", spec, "--save", Path.Combine(host.Home, "refused.json"));
        Assert.That(refused.ExitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(File.Exists(Path.Combine(host.Home, "refused.json")), Is.False, "a keystore that does not open is not imported");

        await File.WriteAllTextAsync(hexFile, "0x1234");
        var bad = await host.RunAsync("keys", "import", hexFile);
        Assert.That((bad.ExitCode, bad.Error.Contains("64 hex digits", StringComparison.Ordinal)), Is.EqualTo((ExitCodes.Usage, true)));
    }

    [Test]
    public async Task A_corrupt_keystore_file_is_explained_without_a_stack_trace()
    {
        using var host = new CliTestHost();
        host.Variables["MPP_KEY_PASSWORD"] = "pass";
        var path = Path.Combine(host.Home, "broken.json");
        await File.WriteAllTextAsync(path, """{ "version": 3, "crypto": { "cipher": "aes-128-ctr" """);

        var (code, _, error) = await host.RunAsync("keys", "address", "--key-file", path);

        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("cannot be opened").And.Contain("not JSON"));
        Assert.That(error, Does.Not.Contain("   at "));
    }

    private static void AssertOwnerOnly(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        }
    }

    [Test]
    public async Task Budget_show_lists_the_limits_from_the_config_file()
    {
        using var host = new CliTestHost();
        await File.WriteAllTextAsync(Path.Combine(host.Home, "config.json"), """{ "chainId": 4217, "budget": { "perRequest": 0.25, "perDay": 3 } }""");
        var (code, output, error) = await host.RunAsync("budget", "show", "--json");
        Assert.That(code, Is.EqualTo(ExitCodes.Ok), error);
        var json = JsonNode.Parse(output)!;
        Assert.That((json["limits"]!["perRequest"]!.GetValue<string>(), json["limits"]!["perDay"]!.GetValue<string>(), json["limits"]!["total"]!.GetValue<string>()), Is.EqualTo(("0.25", "3", "none")));
        Assert.That(json["assets"]!.AsArray().Select(a => a!["symbol"]!.GetValue<string>()), Is.EquivalentTo(new[] { "USD", "pathUSD", "USDC" }));
    }

    [Test]
    public async Task The_files_of_an_earlier_home_are_imported_into_mpp_db_once()
    {
        using var host = new CliTestHost();
        var usd = Mpp.Client.FiatAssets.Usd.Id.ToString();
        await File.WriteAllTextAsync(Path.Combine(host.Home, "ledger.json"), $$"""{"version":1,"entries":[{"id":"{{Guid.NewGuid()}}","scope":"mpp-cli","asset":"{{usd}}","host":"a.example","amount":"125","at":1763600000000,"state":"Committed"}],"folded":[]}""");
        await File.WriteAllTextAsync(Path.Combine(host.Home, "receipts.jsonl"), $$"""{"RecordedAt":"2026-11-20T10:01:01+00:00","ClientName":"mpp","Origin":"https://a.example","Path":"/p","ChallengeId":"ch","Method":"stripe","Intent":"charge","Asset":"{{usd}}","Amount":"125","Reference":"pi_1","ReceiptJson":"{\"status\":\"success\"}"}""" + "\n");

        for (var run = 0; run < 2; run++)
        {
            var (code, output, error) = await host.RunAsync("budget", "show", "--json");
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), error);
            var row = JsonNode.Parse(output)!["assets"]!.AsArray().Single(a => a!["asset"]!.GetValue<string>() == usd)!;
            Assert.That(row["committed"]!.GetValue<string>(), Is.EqualTo("125"), $"run {run}: imported once, never twice");
            var receipts = JsonNode.Parse((await host.RunAsync("receipts", "list", "--json")).Output)!.AsArray();
            Assert.That(receipts.Select(r => r!["reference"]!.GetValue<string>()), Is.EqualTo(new[] { "pi_1" }));
        }

        Assert.That(File.Exists(Path.Combine(host.Home, "mpp.db")), Is.True);
    }

    [Test]
    public async Task A_damaged_database_is_exit_code_2_with_the_reason()
    {
        using var host = new CliTestHost();
        await File.WriteAllTextAsync(Path.Combine(host.Home, "mpp.db"), "not a database at all, just some text that is long enough to look like a header" + new string('x', 200));

        var (code, _, error) = await host.RunAsync("budget", "show");

        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("is not an SQLite database"));
    }

    [Test]
    public async Task Unknown_arguments_are_usage_errors()
    {
        using var host = new CliTestHost();
        var (code, _, error) = await host.RunAsync("request", "https://a.example/", "--frobnicate");
        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("--frobnicate"));
    }

    [Test]
    public async Task Sessions_need_a_chain_to_close_anything()
    {
        using var host = new CliTestHost();
        var (code, _, error) = await host.RunAsync("sessions", "close-all");
        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("MPP_RPC_URL"));
    }
}

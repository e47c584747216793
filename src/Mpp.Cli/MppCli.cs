using System.CommandLine;
using Mpp.Cli.Commands;

namespace Mpp.Cli;

/// <summary>The <c>mpp</c> command tree.</summary>
internal static class MppCli
{
    private const string ExitCodeHelp =
        "Exit codes: 0 ok (2xx, paid or free; dry run), 1 error, 2 usage or configuration, 3 payment denied by budget or policy (nothing paid), " +
        "4 credential rejected by the server (nothing taken), 5 unknown outcome (a credential was sent, no usable answer: may be paid, never paid again automatically), " +
        "6 HTTP error not about payment, 7 timeout before any credential was sent.";

    public static async Task<int> RunAsync(string[] args, CliEnvironment environment, CancellationToken cancellationToken)
    {
        var root = Build(environment);
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await environment.Error.WriteLineAsync($"mpp: {error.Message}").ConfigureAwait(false);
            }

            await environment.Error.WriteLineAsync("Run `mpp --help` for usage.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        return await parsed.InvokeAsync(new InvocationConfiguration { Output = environment.Output, Error = environment.Error }, cancellationToken).ConfigureAwait(false);
    }

    internal static RootCommand Build(CliEnvironment environment)
    {
        var home = new Option<string>("--home") { Description = "State folder: ledger, journal, receipts, channels, config.json (default $MPP_HOME or ~/.mpp).", Recursive = true };
        var config = new Option<string>("--config") { Description = "Config file (default $MPP_CONFIG or <home>/config.json).", Recursive = true };
        var keyFile = new Option<string>("--key-file") { Description = "The key: an encrypted keystore (mpp keys new) or a file of 64 hex digits. Default: $MPP_PRIVATE_KEY (hex), then keyFile/privateKey in the config file.", Recursive = true };
        var passwordFile = new Option<string>("--password-file") { Description = "A file whose first line is the keystore passphrase. Default: $MPP_KEY_PASSWORD, then a prompt on the terminal.", Recursive = true };
        var rpc = new Option<string>("--rpc") { Description = "Tempo RPC URL (default $MPP_RPC_URL, then rpcUrl in the config file).", Recursive = true };
        var chainId = new Option<long?>("--chain-id") { Description = "Tempo chain id (default $MPP_CHAIN_ID, then chainId in the config file).", Recursive = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (or array) on stdout instead of text.", Recursive = true };

        var root = new RootCommand("mpp: call paid HTTP APIs (Machine Payments Protocol), manage payment channels, receipts, budgets and keys.\n" + ExitCodeHelp);
        root.Options.Add(home);
        root.Options.Add(config);
        root.Options.Add(keyFile);
        root.Options.Add(passwordFile);
        root.Options.Add(rpc);
        root.Options.Add(chainId);
        root.Options.Add(json);

        CliSettings Settings(ParseResult r) => CliSettings.Resolve(environment, r.GetValue(home), r.GetValue(config), r.GetValue(keyFile), r.GetValue(rpc), r.GetValue(chainId), r.GetValue(passwordFile));

        // request
        var url = new Argument<string>("url") { Description = "The URL (https; plain http only for loopback)." };
        var method = new Option<string>("--request", "-X") { Description = "HTTP method (default GET, or POST with -d)." };
        var headers = new Option<string[]>("--header", "-H") { Description = "A header 'Name: value' (repeatable).", AllowMultipleArgumentsPerToken = false };
        var data = new Option<string>("--data", "-d") { Description = "Request body; @file reads a file." };
        var maxSpend = new Option<decimal?>("--max-spend") { Description = "The most this command may pay in all its payment rounds, per asset, in display units (0.05 = five cents). A session open counts its whole deposit." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would be paid and pay nothing." };
        var timeout = new Option<double?>("--timeout") { Description = "Seconds to wait for an answer. A paid request that times out is an unknown outcome (exit 5), never paid again." };
        var request = new Command("request", "Send one request; pay when the server asks (402) within budget. Prints the body on stdout, payment and receipt on stderr.\n" + ExitCodeHelp)
        {
            url, method, headers, data, maxSpend, dryRun, timeout,
        };
        request.SetAction((r, ct) => Guard(environment, () => RequestCommand.RunAsync(
            Settings(r),
            environment,
            new RequestCommand.Arguments(r.GetValue(url)!, r.GetValue(method), r.GetValue(headers) ?? [], r.GetValue(data), r.GetValue(maxSpend), r.GetValue(dryRun), r.GetValue(timeout), r.GetValue(json)),
            ct)));
        root.Subcommands.Add(request);

        // sessions
        var sessions = new Command("sessions", "Payment channels (Tempo sessions) this tool holds open.");
        var list = new Command("list", "List open channels, checked against the chain.");
        list.SetAction((r, ct) => Guard(environment, () => SessionsCommand.ListAsync(Settings(r), environment, r.GetValue(json), ct)));
        var channelId = new Argument<string>("channel-id") { Description = "The channel id (0x…)." };
        var close = new Command("close", "Close one channel cooperatively: the server is paid what was signed, the rest comes back.") { channelId };
        close.SetAction((r, ct) => Guard(environment, () => SessionsCommand.CloseAsync(Settings(r), environment, r.GetValue(channelId), r.GetValue(json), ct)));
        var closeAll = new Command("close-all", "Close every open channel.");
        closeAll.SetAction((r, ct) => Guard(environment, () => SessionsCommand.CloseAsync(Settings(r), environment, null, r.GetValue(json), ct)));
        var requestClose = new Command("request-close", "Start a forced close without the server (for one that stopped answering): the escrow keeps the deposit for a grace period (900 s of chain time), then `withdraw` returns what was not paid.") { channelId };
        requestClose.SetAction((r, ct) => Guard(environment, () => SessionsCommand.RequestCloseAsync(Settings(r), environment, r.GetValue(channelId)!, r.GetValue(json), ct)));
        var withdraw = new Command("withdraw", "Finish a forced close after the grace period: the server gets what was signed, the rest comes back.") { channelId };
        withdraw.SetAction((r, ct) => Guard(environment, () => SessionsCommand.CloseAsync(Settings(r), environment, r.GetValue(channelId), r.GetValue(json), ct, withdraw: true)));
        sessions.Subcommands.Add(list);
        sessions.Subcommands.Add(close);
        sessions.Subcommands.Add(closeAll);
        sessions.Subcommands.Add(requestClose);
        sessions.Subcommands.Add(withdraw);
        root.Subcommands.Add(sessions);

        // receipts
        var receipts = new Command("receipts", "Receipts of the payments this tool made.");
        var receiptsList = new Command("list", "List receipts.");
        receiptsList.SetAction((r, ct) => Guard(environment, () => ReceiptsCommand.ListAsync(Settings(r), environment, r.GetValue(json), ct)));
        var format = new Option<string>("--format") { Description = "json or csv.", DefaultValueFactory = _ => "json" };
        format.AcceptOnlyFromAmong("json", "csv");
        var output = new Option<string>("--output", "-o") { Description = "Write to this file instead of stdout." };
        var export = new Command("export", "Export receipts as JSON or CSV.") { format, output };
        export.SetAction((r, ct) => Guard(environment, () => ReceiptsCommand.ExportAsync(Settings(r), environment, r.GetValue(format)!, r.GetValue(output), ct)));
        receipts.Subcommands.Add(receiptsList);
        receipts.Subcommands.Add(export);
        root.Subcommands.Add(receipts);

        // budget
        var budget = new Command("budget", "Spending limits and what is spent.");
        var show = new Command("show", "Show limits, spent, held (deposits, in-flight payments) and unknown outcomes.");
        show.SetAction((r, ct) => Guard(environment, () => BudgetCommand.ShowAsync(Settings(r), environment, r.GetValue(json), ct)));
        budget.Subcommands.Add(show);
        root.Subcommands.Add(budget);

        // keys
        var keys = new Command("keys", "Signing keys.");
        var save = new Option<string>("--save") { Description = "Write the key to this file (mode 0600; default <home>/keys/<address>.json). Never overwrites." };
        var plain = new Option<bool>("--plain") { Description = "An unencrypted hex key instead of a keystore: printed, or written with --save." };
        var keysNew = new Command("new", "Make a new random key, saved as an encrypted keystore (scrypt; passphrase from --password-file, $MPP_KEY_PASSWORD or the terminal).") { save, plain };
        keysNew.SetAction((r, ct) => Guard(environment, () => KeysCommand.NewAsync(Settings(r), environment, r.GetValue(save), r.GetValue(plain), r.GetValue(json))));
        var importSource = new Argument<string>("file") { Description = "A file holding a hex key or a keystore (- reads standard input)." };
        var importSave = new Option<string>("--save") { Description = "Where to write the keystore (mode 0600; default <home>/keys/<address>.json). Never overwrites." };
        var keysImport = new Command("import", "Store an existing key as an encrypted keystore: a hex key is encrypted, a keystore is checked with its passphrase and copied.") { importSource, importSave };
        keysImport.SetAction((r, ct) => Guard(environment, () => KeysCommand.ImportAsync(Settings(r), environment, r.GetValue(importSource)!, r.GetValue(importSave), r.GetValue(json))));
        var address = new Command("address", "Print the address of the configured key (a keystore asks for its passphrase).");
        address.SetAction((r, ct) => Guard(environment, () => KeysCommand.AddressAsync(Settings(r), environment)));
        keys.Subcommands.Add(keysNew);
        keys.Subcommands.Add(keysImport);
        keys.Subcommands.Add(address);
        root.Subcommands.Add(keys);
        return root;
    }

    /// <summary>Turns configuration mistakes into exit code 2 with a message, never a stack trace.</summary>
    private static async Task<int> Guard(CliEnvironment environment, Func<Task<int>> run)
    {
        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (CliUsageException ex)
        {
            await environment.Error.WriteLineAsync($"mpp: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            await environment.Error.WriteLineAsync($"mpp: configuration: {string.Join("; ", ex.Failures)}").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (Mpp.Client.PaymentStoreException ex)
        {
            await environment.Error.WriteLineAsync($"mpp: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Usage; // raised before anything is sent
        }
        catch (Mpp.Client.MppException ex)
        {
            await environment.Error.WriteLineAsync($"mpp: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Error;
        }
        catch (HttpRequestException ex)
        {
            await environment.Error.WriteLineAsync($"mpp: network: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Error;
        }
    }
}

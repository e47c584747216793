using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client;
using Mpp.Client.Tempo;
using Spectre.Console;

namespace Mpp.Cli.Commands;

/// <summary><c>mpp sessions list|close|close-all</c>: the payment channels the tool holds open.</summary>
internal static class SessionsCommand
{
    public static async Task<int> ListAsync(CliSettings settings, CliEnvironment environment, bool json, CancellationToken cancellationToken)
    {
        var channels = await LoadAsync(settings, environment, cancellationToken).ConfigureAwait(false);
        var open = channels.Where(c => c.State != SessionChannelState.Closed).ToList();
        if (json)
        {
            await CliJson.WriteAsync(environment.Output, writer =>
            {
                writer.WriteStartArray();
                foreach (var channel in open)
                {
                    writer.WriteStartObject();
                    writer.WriteString("channelId", channel.ChannelId);
                    writer.WriteString("state", channel.State.ToString());
                    writer.WriteString("origin", channel.Origin);
                    writer.WriteString("path", channel.ResourcePath);
                    writer.WriteString("payee", channel.Payee);
                    writer.WriteString("token", channel.Token);
                    writer.WriteNumber("chainId", channel.ChainId);
                    writer.WriteString("deposit", channel.Deposit.ToString(CultureInfo.InvariantCulture));
                    writer.WriteString("signed", channel.HighestSigned.ToString(CultureInfo.InvariantCulture));
                    writer.WriteString("available", channel.Available.ToString(CultureInfo.InvariantCulture));
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }).ConfigureAwait(false);
            return ExitCodes.Ok;
        }

        if (open.Count == 0)
        {
            await environment.Output.WriteLineAsync("No open payment channels.").ConfigureAwait(false);
            return ExitCodes.Ok;
        }

        var table = new Table().AddColumns("Channel", "State", "Server", "Deposit", "Signed", "Left");
        foreach (var channel in open)
        {
            var token = AssetId.Token(channel.ChainId, channel.Token);
            table.AddRow(
                Markup.Escape(channel.ChannelId),
                channel.State.ToString(),
                Markup.Escape(channel.Origin + channel.ResourcePath),
                Markup.Escape(CliRuntime.Display(settings, token, channel.Deposit)),
                Markup.Escape(CliRuntime.Display(settings, token, channel.HighestSigned)),
                Markup.Escape(CliRuntime.Display(settings, token, channel.Available)));
        }

        Console(environment, environment.Output).Write(table);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Closes one channel (or every one) cooperatively, or, with <paramref name="withdraw"/>, withdraws a channel whose forced
    /// close was requested and whose grace period has passed: both end in the same split of the deposit.
    /// </summary>
    public static async Task<int> CloseAsync(CliSettings settings, CliEnvironment environment, string? channelId, bool json, CancellationToken cancellationToken, bool withdraw = false)
    {
        RequireTempo(settings);
        await using var services = CliRuntime.Build(settings, environment);
        var manager = services.GetRequiredService<TempoSessionManager>();
        var open = await OpenChannelIdsAsync(manager, cancellationToken).ConfigureAwait(false);
        var targets = channelId is null ? open : open.Where(id => string.Equals(id, channelId, StringComparison.OrdinalIgnoreCase)).ToList();
        if (channelId is not null && targets.Count == 0)
        {
            await environment.Error.WriteLineAsync($"mpp: no open channel {channelId} (see `mpp sessions list`).").ConfigureAwait(false);
            return ExitCodes.Error;
        }

        var results = new List<(string ChannelId, ChannelCloseResult? Result, string? Error)>();
        foreach (var id in targets)
        {
            try
            {
                var result = await Progress(
                    environment,
                    json,
                    $"{(withdraw ? "Withdrawing" : "Closing")} channel {id} (waiting for the chain) …",
                    () => withdraw ? manager.WithdrawAsync(id, cancellationToken) : manager.CloseAsync(id, cancellationToken)).ConfigureAwait(false);
                results.Add((id, result, null));
            }
            catch (Exception ex) when (ex is MppException or HttpRequestException or InvalidOperationException or TimeoutException)
            {
                results.Add((id, null, ex.Message));
            }
        }

        if (json)
        {
            await CliJson.WriteAsync(environment.Output, writer =>
            {
                writer.WriteStartArray();
                foreach (var (id, result, error) in results)
                {
                    writer.WriteStartObject();
                    writer.WriteString("channelId", id);
                    writer.WriteBoolean("closed", result is not null);
                    if (result is not null)
                    {
                        writer.WriteString("transaction", result.TransactionHash);
                        writer.WriteString("settledToPayee", result.SettledToPayee.ToString(CultureInfo.InvariantCulture));
                        writer.WriteString("refundedToPayer", result.RefundedToPayer.ToString(CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        writer.WriteString("error", error);
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }).ConfigureAwait(false);
        }
        else if (results.Count == 0)
        {
            await environment.Output.WriteLineAsync("No open payment channels.").ConfigureAwait(false);
        }
        else
        {
            foreach (var (id, result, error) in results)
            {
                await environment.Output.WriteLineAsync(result is not null
                    ? $"closed {id}: paid {result.SettledToPayee}, refunded {result.RefundedToPayer} (atomic units), transaction {result.TransactionHash}"
                    : $"not closed {id}: {error}").ConfigureAwait(false);
            }
        }

        return results.All(r => r.Result is not null) ? ExitCodes.Ok : ExitCodes.Error;
    }

    /// <summary>Starts a forced close without the server (<c>requestClose</c> on chain); the deposit can be withdrawn after the grace period.</summary>
    public static async Task<int> RequestCloseAsync(CliSettings settings, CliEnvironment environment, string channelId, bool json, CancellationToken cancellationToken)
    {
        RequireTempo(settings);
        await using var services = CliRuntime.Build(settings, environment);
        var manager = services.GetRequiredService<TempoSessionManager>();
        var id = (await OpenChannelIdsAsync(manager, cancellationToken).ConfigureAwait(false)).FirstOrDefault(c => string.Equals(c, channelId, StringComparison.OrdinalIgnoreCase));
        if (id is null)
        {
            await environment.Error.WriteLineAsync($"mpp: no open channel {channelId} (see `mpp sessions list`).").ConfigureAwait(false);
            return ExitCodes.Error;
        }

        var withdrawableAt = await Progress(environment, json, $"Requesting the close of channel {id} (waiting for the chain) …", () => manager.RequestCloseAsync(id, cancellationToken)).ConfigureAwait(false);
        if (json)
        {
            await CliJson.WriteAsync(environment.Output, writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("channelId", id);
                writer.WriteNumber("withdrawableAt", withdrawableAt);
                writer.WriteEndObject();
            }).ConfigureAwait(false);
        }
        else
        {
            await environment.Output.WriteLineAsync(
                $"close requested for {id}: from chain time {withdrawableAt} ({DateTimeOffset.FromUnixTimeSeconds(withdrawableAt):u}) `mpp sessions withdraw {id}` returns what the server was not paid").ConfigureAwait(false);
        }

        return ExitCodes.Ok;
    }

    private static async Task<List<string>> OpenChannelIdsAsync(TempoSessionManager manager, CancellationToken cancellationToken)
        => [.. (await manager.RecoverAsync(cancellationToken).ConfigureAwait(false)).Where(c => c.State != SessionChannelState.Closed).Select(c => c.ChannelId)];

    private static async Task<IReadOnlyList<SessionChannel>> LoadAsync(CliSettings settings, CliEnvironment environment, CancellationToken cancellationToken)
    {
        if (!settings.CanPayWithTempo)
        {
            // Without a chain to check against, show what the store remembers.
            Directory.CreateDirectory(settings.Home);
            using var database = MppSqliteDatabase.Open(settings.StoreOptions(), environment.Time);
            using var store = new SqliteChannelStore(database);
            return await store.LoadAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var services = CliRuntime.Build(settings, environment);
        return await services.GetRequiredService<TempoSessionManager>().RecoverAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static void RequireTempo(CliSettings settings)
    {
        if (!settings.CanPayWithTempo)
        {
            throw new CliUsageException("Sessions need a key (--key-file with a keystore, keyFile in the config file, or MPP_PRIVATE_KEY), an RPC URL (MPP_RPC_URL or --rpc) and a chain id (MPP_CHAIN_ID or --chain-id).");
        }
    }

    private static async Task<T> Progress<T>(CliEnvironment environment, bool json, string status, Func<Task<T>> work)
    {
        if (!environment.Interactive || json)
        {
            return await work().ConfigureAwait(false);
        }

        return await Console(environment, environment.Error).Status().StartAsync(Markup.Escape(status), _ => work()).ConfigureAwait(false);
    }

    internal static IAnsiConsole Console(CliEnvironment environment, TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = environment.Interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = environment.Interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        if (!environment.Interactive)
        {
            console.Profile.Width = 240; // piped output: full ids and hashes on one line
        }

        return console;
    }

}

/// <summary><c>mpp receipts list|export</c>: the receipts of every payment the tool made.</summary>
internal static class ReceiptsCommand
{
    public static async Task<int> ListAsync(CliSettings settings, CliEnvironment environment, bool json, CancellationToken cancellationToken)
    {
        var receipts = await LoadAsync(settings, environment, cancellationToken).ConfigureAwait(false);
        if (json)
        {
            await WriteJsonArrayAsync(environment.Output, receipts).ConfigureAwait(false);
            return ExitCodes.Ok;
        }

        if (receipts.Count == 0)
        {
            await environment.Output.WriteLineAsync("No receipts yet.").ConfigureAwait(false);
            return ExitCodes.Ok;
        }

        var table = new Table().AddColumns("When (UTC)", "Where", "Method", "Amount", "Reference");
        foreach (var receipt in receipts)
        {
            var amount = AssetId.TryParse(receipt.Asset, out var asset) && BigInteger.TryParse(receipt.Amount, NumberStyles.None, CultureInfo.InvariantCulture, out var units)
                ? CliRuntime.Display(settings, asset, units)
                : receipt.Amount;
            table.AddRow(
                receipt.RecordedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                Markup.Escape(receipt.Origin + receipt.Path),
                Markup.Escape($"{receipt.Method}/{receipt.Intent}"),
                Markup.Escape(amount),
                Markup.Escape(receipt.Reference));
        }

        SessionsCommand.Console(environment, environment.Output).Write(table);
        return ExitCodes.Ok;
    }

    public static async Task<int> ExportAsync(CliSettings settings, CliEnvironment environment, string format, string? output, CancellationToken cancellationToken)
    {
        var receipts = await LoadAsync(settings, environment, cancellationToken).ConfigureAwait(false);
        var writer = output is null ? environment.Output : new StreamWriter(output, append: false, new UTF8Encoding(false));
        try
        {
            switch (format)
            {
                case "json":
                    await WriteJsonArrayAsync(writer, receipts).ConfigureAwait(false);
                    break;
                case "csv":
                    await writer.WriteLineAsync("recordedAt,origin,path,method,intent,asset,amount,reference,challengeId").ConfigureAwait(false);
                    foreach (var r in receipts)
                    {
                        await writer.WriteLineAsync(string.Join(',', new[]
                        {
                            r.RecordedAt.ToString("O", CultureInfo.InvariantCulture), r.Origin, r.Path, r.Method, r.Intent, r.Asset, r.Amount, r.Reference, r.ChallengeId,
                        }.Select(Csv))).ConfigureAwait(false);
                    }

                    break;
                default:
                    throw new CliUsageException($"Unknown export format '{format}' (json or csv).");
            }
        }
        finally
        {
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (output is not null)
            {
                await writer.DisposeAsync().ConfigureAwait(false);
            }
        }

        if (output is not null)
        {
            await environment.Error.WriteLineAsync($"exported {receipts.Count} receipts to {output}").ConfigureAwait(false);
        }

        return ExitCodes.Ok;
    }

    private static async Task<IReadOnlyList<StoredReceipt>> LoadAsync(CliSettings settings, CliEnvironment environment, CancellationToken cancellationToken)
    {
        await using var services = CliRuntime.Build(settings, environment);
        return await services.GetRequiredService<IReceiptStore>().GetAllAsync(cancellationToken).ConfigureAwait(false);
    }

    // Formula-looking cells are quoted with a leading apostrophe so a spreadsheet never evaluates a server-chosen string.
    private static string Csv(string value)
    {
        if (value.Length > 0 && "=+-@\t\r".Contains(value[0], StringComparison.Ordinal))
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    private static async Task WriteJsonArrayAsync(TextWriter output, IReadOnlyList<StoredReceipt> receipts)
    {
        await CliJson.WriteAsync(output, writer =>
        {
            writer.WriteStartArray();
            foreach (var r in receipts)
            {
                writer.WriteStartObject();
                writer.WriteString("recordedAt", r.RecordedAt);
                writer.WriteString("origin", r.Origin);
                writer.WriteString("path", r.Path);
                writer.WriteString("method", r.Method);
                writer.WriteString("intent", r.Intent);
                writer.WriteString("asset", r.Asset);
                writer.WriteString("amount", r.Amount);
                writer.WriteString("reference", r.Reference);
                writer.WriteString("challengeId", r.ChallengeId);
                writer.WritePropertyName("receipt");
                try
                {
                    using var document = JsonDocument.Parse(r.ReceiptJson);
                    document.RootElement.WriteTo(writer);
                }
                catch (JsonException)
                {
                    writer.WriteStringValue(r.ReceiptJson);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }).ConfigureAwait(false);
    }
}

/// <summary><c>mpp budget show</c>: limits and what is spent, held and unknown in the tool's ledger.</summary>
internal static class BudgetCommand
{
    public static async Task<int> ShowAsync(CliSettings settings, CliEnvironment environment, bool json, CancellationToken cancellationToken)
    {
        await using var services = CliRuntime.Build(settings, environment);
        var ledger = services.GetRequiredService<ISpendLedger>();
        var rows = new List<(Asset Asset, SpendSummary Summary)>();
        foreach (var asset in settings.Assets())
        {
            rows.Add((asset, await ledger.GetSummaryAsync(CliSettings.BudgetScope, asset.Id, cancellationToken).ConfigureAwait(false)));
        }

        string Limit(decimal? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "none";
        if (json)
        {
            await CliJson.WriteAsync(environment.Output, writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("scope", CliSettings.BudgetScope);
                writer.WriteString("ledger", settings.DatabasePath);
                writer.WriteStartObject("limits");
                writer.WriteString("perRequest", Limit(settings.PerRequest));
                writer.WriteString("perDay", Limit(settings.PerDay));
                writer.WriteString("total", Limit(settings.Total));
                writer.WriteString("maxDeposit", Limit(settings.MaxDeposit));
                writer.WriteEndObject();
                writer.WriteStartArray("assets");
                foreach (var (asset, summary) in rows)
                {
                    writer.WriteStartObject();
                    writer.WriteString("asset", asset.Id.ToString());
                    writer.WriteString("symbol", asset.Symbol);
                    writer.WriteString("committed", summary.Committed.ToString(CultureInfo.InvariantCulture));
                    writer.WriteString("reserved", summary.Reserved.ToString(CultureInfo.InvariantCulture));
                    writer.WriteString("unknown", summary.Unknown.ToString(CultureInfo.InvariantCulture));
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }).ConfigureAwait(false);
            return ExitCodes.Ok;
        }

        await environment.Output.WriteLineAsync($"Limits (each asset, display units): per request {Limit(settings.PerRequest)}, per 24 h {Limit(settings.PerDay)}, total {Limit(settings.Total)}; session deposits up to {Limit(settings.MaxDeposit)}.").ConfigureAwait(false);
        var table = new Table().AddColumns("Asset", "Spent", "Held (deposits, in flight)", "Unknown outcome");
        foreach (var (asset, summary) in rows)
        {
            table.AddRow(
                Markup.Escape(asset.Id.ToString()),
                Markup.Escape(asset.Format(summary.Committed)),
                Markup.Escape(asset.Format(summary.Reserved)),
                Markup.Escape(asset.Format(summary.Unknown)));
        }

        SessionsCommand.Console(environment, environment.Output).Write(table);
        return ExitCodes.Ok;
    }
}

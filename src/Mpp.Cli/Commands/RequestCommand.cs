using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Mpp.Client;
using Spectre.Console;

namespace Mpp.Cli.Commands;

/// <summary><c>mpp request &lt;url&gt;</c>: one HTTP request, paid when the server asks and the budget allows.</summary>
internal static class RequestCommand
{
    /// <summary>The most of a response body put into <c>--json</c> output.</summary>
    private const int MaxJsonBody = 1024 * 1024;

    public sealed record Arguments(string Url, string? Method, IReadOnlyList<string> Headers, string? Data, decimal? MaxSpend, bool DryRun, double? TimeoutSeconds, bool Json);

    public static async Task<int> RunAsync(CliSettings settings, CliEnvironment environment, Arguments arguments, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(arguments.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            throw new CliUsageException($"'{arguments.Url}' is not an absolute http(s) URL.");
        }

        var insecureLoopback = url.Scheme == Uri.UriSchemeHttp;
        if (insecureLoopback && !url.IsLoopback)
        {
            throw new CliUsageException($"Plain HTTP is accepted only for loopback addresses; use https:// for {url.Host}.");
        }

        if (insecureLoopback)
        {
            await environment.Error.WriteLineAsync($"warning: plain HTTP to {url.Authority} (loopback only): anyone on this machine can read the payment credential.").ConfigureAwait(false);
        }

        if (arguments.MaxSpend is <= 0)
        {
            throw new CliUsageException("--max-spend must be positive.");
        }

        if (arguments.TimeoutSeconds is { } seconds && (seconds <= 0 || double.IsNaN(seconds) || seconds > int.MaxValue / 1000))
        {
            throw new CliUsageException("--timeout must be a positive number of seconds.");
        }

        if (!settings.CanPayWithTempo && !arguments.DryRun && settings.Key is not null)
        {
            await environment.Error.WriteLineAsync("warning: a key is configured but no RPC URL or chain id (MPP_RPC_URL, MPP_CHAIN_ID): Tempo payments are off.").ConfigureAwait(false);
        }

        using var request = BuildRequest(url, arguments);
        await using var services = CliRuntime.Build(settings, environment, new CliRuntime.RequestScope(url, insecureLoopback, arguments.DryRun, arguments.MaxSpend));
        var client = services.GetRequiredService<IHttpClientFactory>().CreateClient(CliRuntime.ClientName);

        using var timeout = arguments.TimeoutSeconds is { } t ? new CancellationTokenSource(TimeSpan.FromSeconds(t), environment.Time) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        HttpResponseMessage response;
        try
        {
            response = await WithProgressAsync(environment, arguments.Json, $"{request.Method} {url} …", () => client.SendAsync(request, HttpCompletionOption.ResponseContentRead, linked.Token)).ConfigureAwait(false);
        }
        catch (PaymentOutcomeUnknownException ex)
        {
            return await ReportFailureAsync(environment, arguments, ExitCodes.Unknown, "unknown", ex.Message, new Dictionary<string, string?> { ["journalEntry"] = ex.JournalEntryId.ToString(), ["challengeId"] = ex.ChallengeId }).ConfigureAwait(false);
        }
        catch (PaymentDeniedException ex)
        {
            return await ReportFailureAsync(environment, arguments, ExitCodes.Denied, "denied", ex.Message, new Dictionary<string, string?> { ["rule"] = ex.Rule }).ConfigureAwait(false);
        }
        catch (PaymentRejectedException ex)
        {
            return await ReportFailureAsync(environment, arguments, ExitCodes.Rejected, "rejected", ex.Message, new Dictionary<string, string?> { ["problem"] = ex.Problem?.Type }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return await ReportFailureAsync(environment, arguments, ExitCodes.Timeout, "timeout", $"No answer within {arguments.TimeoutSeconds} s; no credential had been sent, nothing was paid.", null).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            return await ReportFailureAsync(environment, arguments, ExitCodes.Error, "error", $"The request failed before any payment: {ex.Message}", null).ConfigureAwait(false);
        }
        catch (MppException ex)
        {
            return await ReportFailureAsync(environment, arguments, ExitCodes.Error, "error", ex.Message, null).ConfigureAwait(false);
        }

        using (response)
        {
            var details = response.GetPaymentDetails();
            var body = await response.Content.ReadAsByteArrayAsync(CancellationToken.None).ConfigureAwait(false);
            var (code, outcome) = Classify(response, details);
            if (arguments.Json)
            {
                await WriteJsonAsync(environment, settings, url, response, details, body, outcome).ConfigureAwait(false);
            }
            else
            {
                await WriteHumanAsync(environment, settings, response, details, body).ConfigureAwait(false);
            }

            if (details?.Quote is { LocksDeposit: true } opened && outcome == "paid" && !arguments.Json)
            {
                await environment.Error.WriteLineAsync($"note: a payment channel holds a deposit of {CliRuntime.Display(settings, opened.Deposit!.Value)}; it stays open for the next calls. Close it with `mpp sessions close-all` to get the rest back.").ConfigureAwait(false);
            }

            return code;
        }
    }

    private static HttpRequestMessage BuildRequest(Uri url, Arguments arguments)
    {
        var method = arguments.Method is { Length: > 0 } m ? new HttpMethod(m.ToUpperInvariant()) : arguments.Data is null ? HttpMethod.Get : HttpMethod.Post;
        var request = new HttpRequestMessage(method, url);
        string? contentType = null;
        var contentHeaders = new List<(string Name, string Value)>();
        foreach (var header in arguments.Headers)
        {
            var colon = header.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new CliUsageException($"The header '{header}' is not 'Name: value'.");
            }

            var name = header[..colon].Trim();
            var value = header[(colon + 1)..].Trim();
            if (name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) && value.StartsWith("Payment ", StringComparison.OrdinalIgnoreCase))
            {
                throw new CliUsageException("A Payment credential is made by mpp itself; do not pass one with -H.");
            }

            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                contentType = value;
            }
            else if (name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
            {
                contentHeaders.Add((name, value));
            }
            else if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                throw new CliUsageException($"The header '{name}' cannot be set.");
            }
        }

        if (arguments.Data is { } data)
        {
            var bytes = data.StartsWith('@') ? ReadDataFile(data[1..]) : Encoding.UTF8.GetBytes(data);
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType ?? (LooksLikeJson(bytes) ? "application/json" : "text/plain; charset=utf-8"));
            foreach (var (name, value) in contentHeaders)
            {
                content.Headers.TryAddWithoutValidation(name, value);
            }

            request.Content = content;
        }
        else if (contentType is not null || contentHeaders.Count > 0)
        {
            throw new CliUsageException("Content headers need a body (-d).");
        }

        return request;
    }

    private static byte[] ReadDataFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliUsageException($"-d @{path}: {ex.Message}");
        }
    }

    private static bool LooksLikeJson(byte[] bytes)
    {
        try
        {
            using var _ = JsonDocument.Parse(bytes);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The exit code and outcome word for an answer.</summary>
    internal static (int Code, string Outcome) Classify(HttpResponseMessage response, PaymentDetails? details)
    {
        if (details is { IsDryRun: true })
        {
            return (ExitCodes.Ok, "dry-run");
        }

        switch (details?.Outcome)
        {
            case PaymentOutcome.Settled:
                return (response.IsSuccessStatusCode ? ExitCodes.Ok : ExitCodes.HttpError, "paid");
            case PaymentOutcome.Unknown:
                return (ExitCodes.Unknown, "unknown");
            case PaymentOutcome.Rejected:
                return (ExitCodes.Rejected, "rejected");
        }

        if (response.StatusCode == HttpStatusCode.PaymentRequired)
        {
            return (ExitCodes.Denied, "denied");
        }

        return (response.IsSuccessStatusCode ? ExitCodes.Ok : ExitCodes.HttpError, "free");
    }

    private static async Task<HttpResponseMessage> WithProgressAsync(CliEnvironment environment, bool json, string status, Func<Task<HttpResponseMessage>> send)
    {
        if (!environment.Interactive || json)
        {
            return await send().ConfigureAwait(false);
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(environment.Error) });
        return await console.Status().StartAsync(Markup.Escape(status) + " (payments wait for the chain)", _ => send()).ConfigureAwait(false);
    }

    private static async Task<int> ReportFailureAsync(CliEnvironment environment, Arguments arguments, int code, string outcome, string message, Dictionary<string, string?>? extra)
    {
        if (arguments.Json)
        {
            await CliJson.WriteAsync(environment.Output, writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("url", arguments.Url);
                writer.WriteNull("status");
                writer.WriteString("outcome", outcome);
                writer.WriteBoolean("paid", false);
                writer.WriteString("error", message);
                foreach (var (key, value) in extra ?? [])
                {
                    writer.WriteString(key, value);
                }

                writer.WriteEndObject();
            }).ConfigureAwait(false);
        }
        else
        {
            await environment.Error.WriteLineAsync($"mpp: {outcome}: {message}").ConfigureAwait(false);
        }

        return code;
    }

    private static async Task WriteHumanAsync(CliEnvironment environment, CliSettings settings, HttpResponseMessage response, PaymentDetails? details, byte[] body)
    {
        var error = environment.Error;
        await error.WriteLineAsync($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}").ConfigureAwait(false);
        if (details is { IsDryRun: true, Quote: { } quote })
        {
            await error.WriteLineAsync($"dry run: would pay {CliRuntime.Display(settings, quote.Amount)} via {quote.Method}/{quote.Intent} to {string.Join(", ", quote.Recipients)}{(quote.LocksDeposit ? $" (locking a deposit of {CliRuntime.Display(settings, quote.Deposit!.Value)})" : string.Empty)}; nothing was paid.").ConfigureAwait(false);
        }
        else if (details is { Outcome: { } outcome, Quote: { } paid })
        {
            await error.WriteLineAsync($"payment: {outcome.ToString().ToLowerInvariant()}, {CliRuntime.Display(settings, paid.Amount)} via {paid.Method}/{paid.Intent}").ConfigureAwait(false);
            if (details.Receipt is { } receipt)
            {
                await error.WriteLineAsync($"receipt: {receipt.Method} {receipt.Status} reference {receipt.Reference} at {receipt.TimestampText}").ConfigureAwait(false);
            }
        }

        foreach (var refusal in details?.Refusals ?? [])
        {
            await error.WriteLineAsync($"refused: {refusal.Rule}: {refusal.Reason}").ConfigureAwait(false);
        }

        if (details?.Problem is { } problem)
        {
            await error.WriteLineAsync($"problem: {problem.Type} {problem.Title} {problem.Detail}").ConfigureAwait(false);
        }

        await error.FlushAsync().ConfigureAwait(false);
        var output = environment.Output;
        await output.WriteAsync(Encoding.UTF8.GetString(body)).ConfigureAwait(false);
        if (body.Length > 0 && body[^1] != (byte)'\n')
        {
            await output.WriteLineAsync().ConfigureAwait(false);
        }

        await output.FlushAsync().ConfigureAwait(false);
    }

    private static async Task WriteJsonAsync(CliEnvironment environment, CliSettings settings, Uri url, HttpResponseMessage response, PaymentDetails? details, byte[] body, string outcome)
    {
        await CliJson.WriteAsync(environment.Output, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("url", url.ToString());
            writer.WriteNumber("status", (int)response.StatusCode);
            writer.WriteString("outcome", outcome);
            writer.WriteBoolean("paid", outcome == "paid");
            if (details?.Quote is { } quote)
            {
                writer.WriteString("method", quote.Method);
                writer.WriteString("intent", quote.Intent);
                writer.WriteString("challengeId", quote.Challenge.Id);
                WriteAmount(writer, settings, outcome == "paid" ? "amount" : "quotedAmount", quote.Amount);
                if (quote.LocksDeposit)
                {
                    WriteAmount(writer, settings, "deposit", quote.Deposit!.Value);
                }
            }

            if (outcome != "paid")
            {
                writer.WriteNull("amount");
            }

            writer.WritePropertyName("receipt");
            if (details?.Receipt is { } receipt)
            {
                receipt.Json.WriteTo(writer);
            }
            else
            {
                writer.WriteNullValue();
            }

            writer.WriteStartArray("refusals");
            foreach (var refusal in details?.Refusals ?? [])
            {
                writer.WriteStartObject();
                writer.WriteString("rule", refusal.Rule);
                writer.WriteString("reason", refusal.Reason);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            if (details?.Problem is { } problem)
            {
                writer.WriteStartObject("problem");
                writer.WriteString("type", problem.Type);
                writer.WriteString("title", problem.Title);
                writer.WriteString("detail", problem.Detail);
                writer.WriteEndObject();
            }

            writer.WriteString("contentType", response.Content.Headers.ContentType?.ToString());
            if (body.Length <= MaxJsonBody)
            {
                writer.WriteString("body", Encoding.UTF8.GetString(body));
            }
            else
            {
                writer.WriteNull("body");
                writer.WriteNumber("bodyLength", body.Length);
            }

            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private static void WriteAmount(Utf8JsonWriter writer, CliSettings settings, string name, AssetAmount amount)
    {
        writer.WriteStartObject(name);
        writer.WriteString("units", amount.Units.ToString(CultureInfo.InvariantCulture));
        writer.WriteString("asset", amount.Asset.ToString());
        if (settings.FindAsset(amount.Asset) is { } asset)
        {
            writer.WriteString("value", asset.Format(amount.Units));
            writer.WriteString("symbol", asset.Symbol);
        }

        writer.WriteEndObject();
    }
}

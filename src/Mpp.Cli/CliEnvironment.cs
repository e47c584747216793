using System.Text.Json.Serialization;

namespace Mpp.Cli;

/// <summary>What a command reads from and writes to, so tests can run the tool in process.</summary>
internal sealed class CliEnvironment
{
    private readonly Func<string, string?> _variables;

    public CliEnvironment(TextWriter output, TextWriter error, Func<string, string?> variables, string userProfile, bool interactive)
    {
        Output = output;
        Error = error;
        _variables = variables;
        UserProfile = userProfile;
        Interactive = interactive;
    }

    public TextWriter Output { get; }

    public TextWriter Error { get; }

    public string UserProfile { get; }

    /// <summary>Whether stderr is a terminal (spinners are shown only then).</summary>
    public bool Interactive { get; }

    /// <summary>Replaces the network for every HTTP client the tool makes (tests: an in-memory server).</summary>
    public Func<HttpMessageHandler>? PrimaryHandler { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Asks for a secret on the terminal without echo (a keystore passphrase); null when stdin is not a terminal.</summary>
    public Func<string, string?>? ReadSecret { get; init; }

    public static CliEnvironment FromProcess() => new(
        Console.Out,
        Console.Error,
        Environment.GetEnvironmentVariable,
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
        !Console.IsErrorRedirected)
    {
        ReadSecret = Console.IsInputRedirected ? null : CliPassphrase.ReadFromConsole,
    };

    public string? Get(string name) => _variables(name) is { Length: > 0 } value ? value : null;
}

/// <summary>
/// Exit codes of the <c>mpp</c> tool. A script can tell "nothing was paid" (0 without payment, 2, 3, 4, 7) from
/// "money may have moved" (0 with payment, 5).
/// </summary>
internal static class ExitCodes
{
    /// <summary>Success: a 2xx answer (paid or free), a dry run, or a management command that did its job.</summary>
    public const int Ok = 0;

    /// <summary>An error outside payment: network failure, a server error without payment, a failed close.</summary>
    public const int Error = 1;

    /// <summary>The command line or configuration is invalid. Nothing was sent.</summary>
    public const int Usage = 2;

    /// <summary>Payment was needed but refused on our side (budget, policy, --max-spend, no usable method). Nothing was paid.</summary>
    public const int Denied = 3;

    /// <summary>The server refused the credential (it answered 402 again or with a payment problem). Nothing was taken.</summary>
    public const int Rejected = 4;

    /// <summary>A credential was sent but no usable answer came back (timeout, dropped connection, 5xx): the payment may have been taken. It is never paid again automatically; see the journal.</summary>
    public const int Unknown = 5;

    /// <summary>The server answered with an HTTP error that is not about payment (404, 500 before paying…).</summary>
    public const int HttpError = 6;

    /// <summary>--timeout passed before any credential was sent. Nothing was paid.</summary>
    public const int Timeout = 7;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(ConfigFile))]
internal sealed partial class CliJsonContext : JsonSerializerContext;

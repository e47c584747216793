using System.Security.Cryptography;
using System.Text;
using Mpp.Client.Tempo;

namespace Mpp.Cli.Commands;

/// <summary>
/// <c>mpp keys new|import|address</c>. Keys are kept as encrypted Web3 Secret Storage keystores (scrypt), the format geth,
/// Foundry and wallets use; <c>--plain</c> still makes an unencrypted hex key for those who keep keys elsewhere.
/// </summary>
internal static class KeysCommand
{
    public static async Task<int> NewAsync(CliSettings settings, CliEnvironment environment, string? saveTo, bool plain, bool json)
    {
        if (plain)
        {
            return await NewPlainAsync(settings, environment, saveTo, json).ConfigureAwait(false);
        }

        using var signer = PrivateKeySigner.Generate();
        var passphrase = CliPassphrase.Read(environment, settings, "Passphrase for the new keystore: ", confirm: true);
        var path = await WriteNewFileAsync(saveTo ?? DefaultPath(settings, signer.Address), signer.ToKeystoreJson(passphrase)).ConfigureAwait(false);
        await ReportAsync(settings, environment, signer.Address, path, json, "new key, encrypted").ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    /// <summary>Stores an existing key as a keystore: a hex key is encrypted; a keystore is checked with its passphrase and copied as it is.</summary>
    public static async Task<int> ImportAsync(CliSettings settings, CliEnvironment environment, string source, string? saveTo, bool json)
    {
        string text;
        try
        {
            text = source == "-" ? await Console.In.ReadToEndAsync().ConfigureAwait(false) : await File.ReadAllTextAsync(source).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliUsageException($"{source} cannot be read: {ex.Message}");
        }

        text = text.Trim();
        if (CliKey.IsKeystore(text))
        {
            var passphrase = CliPassphrase.Read(environment, settings, $"Passphrase of {source}: ", confirm: false);
            using var signer = CliKey.OpenKeystore(text, passphrase, source);
            var path = await WriteNewFileAsync(saveTo ?? DefaultPath(settings, signer.Address), text + "\n").ConfigureAwait(false);
            await ReportAsync(settings, environment, signer.Address, path, json, "keystore imported").ConfigureAwait(false);
        }
        else
        {
            CliKey.FromHex(text, source); // a usage error that never repeats the text when it is not a key
            using var signer = PrivateKeySigner.FromHex(text);
            var passphrase = CliPassphrase.Read(environment, settings, "Passphrase for the new keystore: ", confirm: true);
            var path = await WriteNewFileAsync(saveTo ?? DefaultPath(settings, signer.Address), signer.ToKeystoreJson(passphrase)).ConfigureAwait(false);
            await ReportAsync(settings, environment, signer.Address, path, json, "hex key encrypted").ConfigureAwait(false);
            if (source != "-")
            {
                await environment.Error.WriteLineAsync($"{source} still holds the key in the clear; delete it once the keystore is backed up.").ConfigureAwait(false);
            }
        }

        return ExitCodes.Ok;
    }

    public static async Task<int> AddressAsync(CliSettings settings, CliEnvironment environment)
    {
        if (settings.Key is null)
        {
            throw new CliUsageException("No key is configured (--key-file, keyFile or privateKey in the config file, or MPP_PRIVATE_KEY).");
        }

        using var signer = settings.Key.Open(environment, settings);
        await environment.Output.WriteLineAsync(signer.Address.ToString()).ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    private static string DefaultPath(CliSettings settings, EvmAddress address) => Path.Combine(settings.Home, "keys", address + ".json");

    private static async Task<int> NewPlainAsync(CliSettings settings, CliEnvironment environment, string? saveTo, bool json)
    {
        var key = new byte[32];
        RandomNumberGenerator.Fill(key);
        var hex = "0x" + Convert.ToHexStringLower(key);
        CryptographicOperations.ZeroMemory(key);
        using var signer = PrivateKeySigner.FromHex(hex); // refuses a key outside 1..n-1 (chance 2^-128)
        await environment.Error.WriteLineAsync("warning: --plain: the key is not encrypted; anyone who reads it can spend this account's funds.").ConfigureAwait(false);
        if (saveTo is not null)
        {
            var path = await WriteNewFileAsync(saveTo, hex + "\n").ConfigureAwait(false);
            await ReportAsync(settings, environment, signer.Address, path, json, "plain hex key").ConfigureAwait(false);
            return ExitCodes.Ok;
        }

        if (json)
        {
            await CliJson.WriteAsync(environment.Output, w =>
            {
                w.WriteStartObject();
                w.WriteString("address", signer.Address.ToString());
                w.WriteString("privateKey", hex);
                w.WriteEndObject();
            }).ConfigureAwait(false);
        }
        else
        {
            await environment.Output.WriteLineAsync($"address     {signer.Address}").ConfigureAwait(false);
            await environment.Output.WriteLineAsync($"private key {hex}").ConfigureAwait(false);
        }

        return ExitCodes.Ok;
    }

    /// <summary>Writes a file that must not exist yet, owner-only (0600) from its first byte.</summary>
    private static async Task<string> WriteNewFileAsync(string target, string content)
    {
        var path = Path.GetFullPath(target);
        if (File.Exists(path))
        {
            throw new CliUsageException($"{path} exists; mpp never overwrites a key file.");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using (var file = new FileStream(path, options))
        {
            await file.WriteAsync(Encoding.UTF8.GetBytes(content)).ConfigureAwait(false);
        }

        return path;
    }

    private static async Task ReportAsync(CliSettings settings, CliEnvironment environment, EvmAddress address, string path, bool json, string what)
    {
        if (json)
        {
            await CliJson.WriteAsync(environment.Output, w =>
            {
                w.WriteStartObject();
                w.WriteString("address", address.ToString());
                w.WriteString("keyFile", path);
                w.WriteEndObject();
            }).ConfigureAwait(false);
            return;
        }

        await environment.Output.WriteLineAsync(address.ToString()).ConfigureAwait(false);
        await environment.Error.WriteLineAsync($"{what}: saved to {path} (mode 0600); use it with --key-file {path} or \"keyFile\" in {Path.Combine(settings.Home, "config.json")}").ConfigureAwait(false);
    }
}

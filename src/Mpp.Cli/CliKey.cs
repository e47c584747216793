using Mpp.Client.Tempo;

namespace Mpp.Cli;

/// <summary>
/// The configured signing key, not yet opened: an encrypted keystore file (opened with a passphrase when a command needs
/// the key) or a plain hex key (from <c>MPP_PRIVATE_KEY</c>, a key file or the config file, accepted with a warning).
/// </summary>
internal sealed class CliKey
{
    private readonly string? _hex;
    private readonly string? _keystoreJson;

    private CliKey(string source, string? hex, string? keystorePath, string? keystoreJson)
    {
        Source = source;
        _hex = hex;
        KeystorePath = keystorePath;
        _keystoreJson = keystoreJson;
    }

    /// <summary>Gets where the key came from, for messages (never the key).</summary>
    public string Source { get; }

    /// <summary>Gets the keystore file, or null for a plain hex key.</summary>
    public string? KeystorePath { get; }

    /// <summary>A plain hex key, checked now (the message never repeats it).</summary>
    public static CliKey FromHex(string hex, string source)
    {
        try
        {
            using var _ = PrivateKeySigner.FromHex(hex);
        }
        catch (ArgumentException)
        {
            throw new CliUsageException($"The private key from {source} is not 64 hex digits (a 32-byte secp256k1 key).");
        }

        return new CliKey(source, hex.Trim(), null, null);
    }

    /// <summary>A key file: a Web3 Secret Storage keystore (JSON) or 64 hex digits.</summary>
    public static CliKey FromFile(string path, string source)
    {
        string text;
        try
        {
            text = File.ReadAllText(path).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliUsageException($"The key file {path} cannot be read: {ex.Message}");
        }

        return IsKeystore(text) ? new CliKey(source, null, Path.GetFullPath(path), text) : FromHex(text, source);
    }

    /// <summary>Whether a key file's text is a keystore (JSON) rather than hex.</summary>
    public static bool IsKeystore(string text) => text.TrimStart().StartsWith('{');

    /// <summary>Opens the key: asks for the keystore's passphrase, or warns that a hex key is stored in the clear.</summary>
    /// <exception cref="CliUsageException">No passphrase can be had, it is wrong, or the keystore is unusable.</exception>
    public PrivateKeySigner Open(CliEnvironment environment, CliSettings settings)
    {
        if (_hex is not null)
        {
            environment.Error.WriteLine($"warning: the key from {Source} is a plain hex key, unencrypted; `mpp keys import` turns it into an encrypted keystore.");
            return PrivateKeySigner.FromHex(_hex);
        }

        var passphrase = CliPassphrase.Read(environment, settings, $"Passphrase for {KeystorePath}: ", confirm: false);
        return OpenKeystore(_keystoreJson!, passphrase, KeystorePath!);
    }

    /// <summary>Opens keystore JSON, turning every keystore failure into a usage error that says what to do.</summary>
    public static PrivateKeySigner OpenKeystore(string json, string passphrase, string where)
    {
        try
        {
            return PrivateKeySigner.FromKeystoreJson(json, passphrase);
        }
        catch (KeystoreException ex)
        {
            var hint = ex.Error == KeystoreError.WrongPassword ? " Check MPP_KEY_PASSWORD or --password-file." : string.Empty;
            throw new CliUsageException($"The keystore {where} cannot be opened: {ex.Message}{hint}");
        }
    }
}

/// <summary>Where a keystore passphrase comes from: <c>--password-file</c>, then <c>MPP_KEY_PASSWORD</c>, then a prompt on the terminal (no echo).</summary>
internal static class CliPassphrase
{
    public const string Variable = "MPP_KEY_PASSWORD";

    public static string Read(CliEnvironment environment, CliSettings settings, string prompt, bool confirm)
    {
        string? passphrase;
        if (settings.PasswordFile is { } file)
        {
            try
            {
                // The first line, as geth and Foundry read a password file.
                passphrase = File.ReadLines(file).FirstOrDefault()?.TrimEnd('\r') ?? string.Empty;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliUsageException($"The password file {file} cannot be read: {ex.Message}");
            }
        }
        else if (environment.Get(Variable) is { } fromEnvironment)
        {
            passphrase = fromEnvironment;
        }
        else if (environment.ReadSecret is { } ask)
        {
            passphrase = ask(prompt);
            if (confirm && passphrase is { Length: > 0 } && ask("Again: ") != passphrase)
            {
                throw new CliUsageException("The two passphrases differ; nothing was written.");
            }
        }
        else
        {
            throw new CliUsageException($"A keystore passphrase is needed: set {Variable}, pass --password-file <file>, or run mpp in a terminal to be asked.");
        }

        return string.IsNullOrEmpty(passphrase) ? throw new CliUsageException("The keystore passphrase is empty.") : passphrase;
    }

    /// <summary>Reads a line from the console without echoing it (the terminal prompt).</summary>
    public static string? ReadFromConsole(string prompt)
    {
        Console.Error.Write(prompt);
        var text = new System.Text.StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                Console.Error.WriteLine();
                return text.ToString();
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (text.Length > 0)
                {
                    text.Length--;
                }
            }
            else if (!char.IsControl(key.KeyChar))
            {
                text.Append(key.KeyChar);
            }
        }
    }
}

using System.Globalization;
using System.Text.Json;
using Mpp.Client;
using Mpp.Client.Tempo;

namespace Mpp.Cli;

/// <summary>
/// Everything a command needs to know, resolved once: flags win over environment variables, which win over the config
/// file, which wins over the defaults.
/// </summary>
internal sealed class CliSettings
{
    /// <summary>The ledger scope every mpp command spends in (budgets span commands).</summary>
    public const string BudgetScope = "mpp-cli";

    public const decimal DefaultPerRequest = 1m;
    public const decimal DefaultPerDay = 10m;
    public const decimal DefaultMaxDeposit = 10m;

    public required string Home { get; init; }

    public string? ConfigPath { get; init; }

    /// <summary>Gets the configured key (a keystore or a plain hex key), not yet opened.</summary>
    public CliKey? Key { get; init; }

    /// <summary>Gets the file holding the keystore passphrase (<c>--password-file</c>), if given.</summary>
    public string? PasswordFile { get; init; }

    public Uri? RpcUrl { get; init; }

    public long? ChainId { get; init; }

    public decimal PerRequest { get; init; } = DefaultPerRequest;

    public decimal? PerDay { get; init; } = DefaultPerDay;

    public decimal? Total { get; init; }

    public decimal MaxDeposit { get; init; } = DefaultMaxDeposit;

    /// <summary>Extra TIP-20 tokens (6 decimals) the budget limits apply to, besides pathUSD and USDC.</summary>
    public IReadOnlyList<string> Tokens { get; init; } = [];

    /// <summary>The SQLite file with the ledger, journal, receipts and channels (the file stores of earlier versions in the home are imported into it once).</summary>
    public string DatabasePath => Path.Combine(Home, "mpp.db");

    /// <summary>The store every command uses: fsync on each write (a command is not latency-bound; a power cut loses nothing).</summary>
    public SqliteStoreOptions StoreOptions() => new() { Path = DatabasePath, ImportFrom = Home, FlushToDisk = true };

    public bool CanPayWithTempo => Key is not null && RpcUrl is not null && ChainId is not null;

    /// <summary>The assets the budget limits apply to (a payment in any other asset is refused by the budget).</summary>
    public IReadOnlyList<Asset> Assets()
    {
        var assets = new List<Asset> { FiatAssets.Usd };
        if (ChainId is { } chain)
        {
            assets.Add(TempoAssets.PathUsdOn(chain));
            if (chain == TempoAssets.MainnetChainId)
            {
                assets.Add(TempoAssets.UsdcMainnet);
            }

            foreach (var token in Tokens)
            {
                var asset = new Asset(AssetId.Token(chain, token), token, 6);
                if (!assets.Any(a => a.Id == asset.Id))
                {
                    assets.Add(asset);
                }
            }
        }

        return assets;
    }

    /// <summary>The catalogue entry for an asset id, for display.</summary>
    public Asset? FindAsset(AssetId id) => Assets().FirstOrDefault(a => a.Id == id);

    /// <summary>Resolves the settings.</summary>
    /// <exception cref="CliUsageException">A flag, variable or the config file holds something invalid.</exception>
    public static CliSettings Resolve(CliEnvironment environment, string? homeFlag, string? configFlag, string? keyFileFlag, string? rpcFlag, long? chainIdFlag, string? passwordFileFlag = null)
    {
        var home = homeFlag ?? environment.Get("MPP_HOME") ?? Path.Combine(environment.UserProfile, ".mpp");
        var configPath = configFlag ?? environment.Get("MPP_CONFIG") ?? Path.Combine(home, "config.json");
        var file = ConfigFile.Load(configPath, explicitPath: configFlag is not null || environment.Get("MPP_CONFIG") is not null);

        CliKey? key = null;
        if (keyFileFlag is not null)
        {
            key = CliKey.FromFile(keyFileFlag, $"--key-file {keyFileFlag}");
        }
        else if (environment.Get("MPP_PRIVATE_KEY") is { Length: > 0 } envKey)
        {
            key = CliKey.FromHex(envKey, "MPP_PRIVATE_KEY");
        }
        else if (file.KeyFile is { Length: > 0 } configKeyFile)
        {
            var resolved = Path.IsPathRooted(configKeyFile) ? configKeyFile : Path.Combine(Path.GetDirectoryName(configPath) ?? home, configKeyFile);
            key = CliKey.FromFile(resolved, $"keyFile in {configPath}");
        }
        else if (file.PrivateKey is { Length: > 0 } configKey)
        {
            key = CliKey.FromHex(configKey, $"privateKey in {configPath}");
        }

        var rpcText = rpcFlag ?? environment.Get("MPP_RPC_URL") ?? file.RpcUrl;
        Uri? rpc = null;
        if (rpcText is not null && (!Uri.TryCreate(rpcText, UriKind.Absolute, out rpc) || (rpc.Scheme != Uri.UriSchemeHttps && rpc.Scheme != Uri.UriSchemeHttp)))
        {
            throw new CliUsageException($"The RPC URL '{rpcText}' is not an absolute http(s) URL.");
        }

        long? chainId = chainIdFlag;
        if (chainId is null && environment.Get("MPP_CHAIN_ID") is { Length: > 0 } chainText)
        {
            chainId = long.TryParse(chainText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed > 0
                ? parsed
                : throw new CliUsageException($"MPP_CHAIN_ID '{chainText}' is not a positive chain id.");
        }

        chainId ??= file.ChainId;
        if (chainId is <= 0)
        {
            throw new CliUsageException($"The chain id {chainId} is not positive.");
        }

        var settings = new CliSettings
        {
            Home = home,
            ConfigPath = File.Exists(configPath) ? configPath : null,
            Key = key,
            PasswordFile = passwordFileFlag,
            RpcUrl = rpc,
            ChainId = chainId,
            PerRequest = file.Budget?.PerRequest ?? DefaultPerRequest,
            PerDay = file.Budget is { } budget ? budget.PerDay : DefaultPerDay,
            Total = file.Budget?.Total,
            MaxDeposit = file.Sessions?.MaxDeposit ?? DefaultMaxDeposit,
            Tokens = file.Tokens ?? [],
        };
        if (settings.PerRequest <= 0 || settings.PerDay is <= 0 || settings.Total is <= 0 || settings.MaxDeposit <= 0)
        {
            throw new CliUsageException($"The budget in {configPath} must be positive (perRequest, perDay, total, sessions.maxDeposit).");
        }

        return settings;
    }
}

/// <summary>The JSON config file (<c>~/.mpp/config.json</c>). Every member is optional.</summary>
internal sealed class ConfigFile
{
    public string? PrivateKey { get; set; }

    public string? KeyFile { get; set; }

    public string? RpcUrl { get; set; }

    public long? ChainId { get; set; }

    public BudgetSection? Budget { get; set; }

    public SessionsSection? Sessions { get; set; }

    public List<string>? Tokens { get; set; }

    public static ConfigFile Load(string path, bool explicitPath)
    {
        if (!File.Exists(path))
        {
            return explicitPath ? throw new CliUsageException($"The config file {path} does not exist.") : new ConfigFile();
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), CliJsonContext.Default.ConfigFile) ?? new ConfigFile();
        }
        catch (JsonException ex)
        {
            throw new CliUsageException($"The config file {path} is not valid: {ex.Message}");
        }
    }

    internal sealed class BudgetSection
    {
        public decimal? PerRequest { get; set; }

        public decimal? PerDay { get; set; }

        public decimal? Total { get; set; }
    }

    internal sealed class SessionsSection
    {
        public decimal? MaxDeposit { get; set; }
    }
}

/// <summary>A command line, flag or configuration that cannot work; exit code <see cref="ExitCodes.Usage"/>.</summary>
internal sealed class CliUsageException(string message) : Exception(message);

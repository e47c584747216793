namespace Mpp.Client.Tempo;

/// <summary>Catalogued Tempo assets (TIP-20 tokens have 6 decimals). An asset is a token on one chain.</summary>
public static class TempoAssets
{
    /// <summary>The Tempo mainnet chain id.</summary>
    public const long MainnetChainId = 4217;

    /// <summary>The Tempo testnet (Moderato) chain id.</summary>
    public const long TestnetChainId = 42431;

    /// <summary>The pathUSD token address (the same on every Tempo chain).</summary>
    public const string PathUsdAddress = "0x20c0000000000000000000000000000000000000";

    /// <summary>pathUSD on Tempo mainnet.</summary>
    public static Asset PathUsd { get; } = PathUsdOn(MainnetChainId);

    /// <summary>pathUSD on the Tempo testnet.</summary>
    public static Asset PathUsdTestnet { get; } = PathUsdOn(TestnetChainId);

    /// <summary>USDC (USDC.e) on Tempo mainnet.</summary>
    public static Asset UsdcMainnet { get; } = new(AssetId.Token(MainnetChainId, "0x20C000000000000000000000b9537d11c60E8b50"), "USDC", 6);

    /// <summary>pathUSD on a given Tempo chain (for example a local test chain).</summary>
    /// <param name="chainId">The chain id.</param>
    /// <returns>The asset.</returns>
    public static Asset PathUsdOn(long chainId) => new(AssetId.Token(chainId, PathUsdAddress), "pathUSD", 6);
}

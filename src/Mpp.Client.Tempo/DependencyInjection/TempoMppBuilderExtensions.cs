using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Mpp.Client;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Charge;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the Tempo payment method to MppClient.</summary>
public static class TempoMppBuilderExtensions
{
    /// <summary>The name of the HttpClient used for the chain's JSON-RPC (it has no payment handler).</summary>
    public const string RpcHttpClientName = "Mpp.Tempo.Rpc";

    /// <summary>
    /// Adds Tempo charge: <c>services.AddMpp().AddTempo(o => { o.Signer = PrivateKeySigner.FromEnvironment("MPP_PRIVATE_KEY"); o.RpcUrl = …; o.ChainId = …; })</c>.
    /// The options are validated at start-up.
    /// </summary>
    /// <param name="builder">The MPP builder.</param>
    /// <param name="configure">Configures the method.</param>
    /// <returns>The builder.</returns>
    public static MppBuilder AddTempo(this MppBuilder builder, Action<TempoOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<TempoOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TempoOptions>, TempoOptionsValidator>());
        builder.Services.AddHttpClient(RpcHttpClientName);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IPaymentMethod, TempoChargeMethod>(sp => new TempoChargeMethod(
            sp.GetRequiredService<IOptions<TempoOptions>>().Value,
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(RpcHttpClientName),
            sp.GetRequiredService<TimeProvider>())));
        return builder;
    }
}

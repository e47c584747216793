using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Mpp.Client;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Charge;
using Mpp.Client.Tempo.Sessions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the Tempo payment method to MppClient.</summary>
public static class TempoMppBuilderExtensions
{
    /// <summary>The name of the HttpClient used for the chain's JSON-RPC (it has no payment handler).</summary>
    public const string RpcHttpClientName = "Mpp.Tempo.Rpc";

    /// <summary>The name of the HttpClient used for session management requests (top-up, close); it has no payment handler.</summary>
    public const string SessionHttpClientName = "Mpp.Tempo.Sessions";

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

    /// <summary>
    /// Adds Tempo sessions (payment channels) next to charge: <c>services.AddMpp().AddTempo(…).AddTempoSessions(o => o.MaxDeposit = 5m)</c>.
    /// Registers the <see cref="TempoSessionManager"/> (resolve it to close channels or read a paid stream), the channel
    /// store (a <see cref="SqliteChannelStore"/> in the database of <c>UseSqlite</c> when it is used, else in memory; <c>UsePostgres</c>
    /// or your own <see cref="IChannelStore"/> registered first replace it) and a hosted service that closes open channels
    /// when the host stops (<see cref="TempoSessionOptions.CloseOnShutdown"/>).
    /// </summary>
    /// <param name="builder">The MPP builder (after <see cref="AddTempo"/>).</param>
    /// <param name="configure">Configures sessions.</param>
    /// <returns>The builder.</returns>
    public static MppBuilder AddTempoSessions(this MppBuilder builder, Action<TempoSessionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<TempoSessionOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TempoSessionOptions>, TempoSessionOptionsValidator>());
        builder.Services.AddHttpClient(RpcHttpClientName);
        builder.Services.AddHttpClient(SessionHttpClientName);
        builder.Services.TryAddSingleton<IChannelStore>(sp => sp.GetService<MppSqliteDatabase>() is { } database
            ? new SqliteChannelStore(database, sp.GetRequiredService<IOptions<TempoSessionOptions>>().Value.LeaseDuration)
            : new InMemoryChannelStore());
        builder.Services.TryAddSingleton(sp =>
        {
            var factory = sp.GetRequiredService<IHttpClientFactory>();
            return new TempoSessionManager(
                sp.GetRequiredService<IOptions<TempoOptions>>().Value,
                sp.GetRequiredService<IOptions<TempoSessionOptions>>().Value,
                factory.CreateClient(RpcHttpClientName),
                factory.CreateClient(SessionHttpClientName),
                sp.GetRequiredService<IChannelStore>(),
                sp.GetRequiredService<ISpendLedger>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetService<ILogger<TempoSessionManager>>() ?? NullLogger<TempoSessionManager>.Instance)
            {
                Metrics = sp.GetRequiredService<SessionMetrics>(),
            };
        });
        builder.Services.TryAddSingleton(sp => new SessionMetrics(sp.GetService<IMeterFactory>()));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IPaymentMethod, TempoSessionMethod>(sp => new TempoSessionMethod(sp.GetRequiredService<TempoSessionManager>())));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SessionShutdownService>());
        return builder;
    }
}

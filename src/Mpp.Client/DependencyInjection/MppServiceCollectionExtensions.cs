using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Mpp.Client;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers MppClient.</summary>
public static class MppServiceCollectionExtensions
{
    /// <summary>
    /// Registers MppClient's shared services (idempotent): the in-memory budget ledger, receipt store and
    /// payment journal (replace them through the returned builder), the clock and telemetry.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <returns>A builder to add payment methods, policies and durable stores.</returns>
    public static MppBuilder AddMpp(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!services.Any(d => d.ServiceType == typeof(MppMarker)))
        {
            services.AddSingleton<MppMarker>();
            services.AddOptions();
            services.TryAddSingleton(TimeProvider.System);
            services.TryAddSingleton<ISpendLedger>(sp => new InMemorySpendLedger(sp.GetRequiredService<TimeProvider>()));
            services.TryAddSingleton<IReceiptStore, InMemoryReceiptStore>();
            services.TryAddSingleton<IPaymentJournal, InMemoryPaymentJournal>();
            services.TryAddSingleton(sp => new MppMetrics(sp.GetService<IMeterFactory>()));
            services.TryAddSingleton(sp => new PaymentServices(
                sp.GetServices<IPaymentMethod>(),
                sp.GetServices<IPaymentPolicy>(),
                sp.GetRequiredService<ISpendLedger>(),
                sp.GetRequiredService<IReceiptStore>(),
                sp.GetRequiredService<IPaymentJournal>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance,
                sp.GetRequiredService<MppMetrics>(),
                sp.GetService<IPaymentApprover>()));
            services.TryAddSingleton<JsonRpcPaymentNegotiator>();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MppPaymentOptions>, MppPaymentOptionsValidator>());

            // In clients with a payment handler, outermost whatever the order of registration: every attempt a retry or
            // hedging handler makes of a call shares one payment scope, so no handler registered before can make it pay twice.
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IHttpMessageHandlerBuilderFilter, PaymentCallScopeFilter>());
        }

        return new MppBuilder(services);
    }

    private sealed class MppMarker;
}

/// <summary>Adds MPP payments to a named HttpClient.</summary>
public static class MppHttpClientBuilderExtensions
{
    /// <summary>
    /// Makes this HttpClient pay for 402 responses under the given options (named after the client and
    /// validated at start-up). Register transient-retry handlers (<c>AddStandardResilienceHandler()</c>) <em>after</em>
    /// this call so they run inside it: a retry then resends the request that already carries the credential. Registered
    /// before it they are made safe (a call whose credential was sent is never paid again) but no longer retry the payment.
    /// </summary>
    /// <param name="builder">The HttpClient builder.</param>
    /// <param name="configure">Configures the client's payment options.</param>
    /// <returns>The builder.</returns>
    public static IHttpClientBuilder AddMppPayments(this IHttpClientBuilder builder, Action<MppPaymentOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<MppPaymentOptions>(builder.Name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddHandler(builder, options);
    }

    /// <summary>Makes this HttpClient pay for 402 responses, with options bound from configuration (unknown keys are errors).</summary>
    /// <param name="builder">The HttpClient builder.</param>
    /// <param name="section">The configuration section, e.g. <c>Mpp:Clients:tools</c>.</param>
    /// <returns>The builder.</returns>
    public static IHttpClientBuilder AddMppPayments(this IHttpClientBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        if (!section.Exists())
        {
            throw new PaymentConfigurationException($"The configuration section '{section.Path}' for HttpClient '{builder.Name}' does not exist or is empty.");
        }

        var options = builder.Services.AddOptions<MppPaymentOptions>(builder.Name);
        options.Bind(section, binder => binder.ErrorOnUnknownConfiguration = true);
        return AddHandler(builder, options);
    }

    /// <summary>
    /// Adds payment for JSON-RPC over HTTP (protocol.md §7, generic binding) to a named HttpClient: a POSTed JSON-RPC
    /// request answered with error <c>-32042</c> is paid through the same methods, policies, approver, budget, journal and
    /// receipts as an HTTP 402, and sent again with the credential in the message's root <c>_meta</c>. The final answer
    /// carries the caller's own <c>id</c>; <see cref="HttpMessageMppExtensions.GetPaymentDetails"/> tells what was paid.
    /// </summary>
    /// <param name="builder">The HttpClient builder.</param>
    /// <param name="configure">Configures the payment options (budget limits are required to pay anything).</param>
    /// <returns>The builder.</returns>
    public static IHttpClientBuilder AddMppJsonRpcPayments(this IHttpClientBuilder builder, Action<MppPaymentOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddMpp();
        var options = builder.Services.AddOptions<MppPaymentOptions>(builder.Name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        var name = builder.Name;
        builder.AddHttpMessageHandler(sp => new JsonRpcPaymentHandler(name, sp.GetRequiredService<IOptionsMonitor<MppPaymentOptions>>(), sp.GetRequiredService<JsonRpcPaymentNegotiator>()));

        // The credential travels in the body: a redirect is never followed, so it never reaches another origin (a 3xx to
        // a paid call is an unknown outcome, kept counted).
        builder.ConfigurePrimaryHttpMessageHandler(static (handler, _) => DisableAutoRedirect(handler));
        return builder;
    }

    /// <summary>Turns off the primary handler's own redirect following (a paid body must never be re-sent to another origin by the runtime).</summary>
    internal static void DisableAutoRedirect(HttpMessageHandler handler)
    {
        switch (handler)
        {
            case SocketsHttpHandler sockets:
                sockets.AllowAutoRedirect = false;
                break;
            case HttpClientHandler client:
                client.AllowAutoRedirect = false;
                break;
        }
    }

    private static IHttpClientBuilder AddHandler(IHttpClientBuilder builder, OptionsBuilder<MppPaymentOptions> options)
    {
        builder.Services.AddMpp();
        options.ValidateOnStart();
        var name = builder.Name;
        builder.AddHttpMessageHandler(sp => new PaymentHandler(name, sp.GetRequiredService<IOptionsMonitor<MppPaymentOptions>>(), sp.GetRequiredService<PaymentServices>()));

        // The payment handler follows redirects itself so that credentials never cross origins.
        builder.ConfigurePrimaryHttpMessageHandler((handler, sp) =>
        {
            if (!sp.GetRequiredService<IOptionsMonitor<MppPaymentOptions>>().Get(name).FollowRedirects)
            {
                return;
            }

            DisableAutoRedirect(handler);
        });
        return builder;
    }
}

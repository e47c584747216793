using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ModelContextProtocol.Client;

namespace Mpp.Client.Mcp;

/// <summary>Wraps MCP clients so their tool calls are paid (registered by <c>AddMpp().AddMcp(…)</c>).</summary>
public sealed class PaidMcpClientFactory
{
    private readonly JsonRpcPaymentNegotiator _negotiator;

    internal PaidMcpClientFactory(JsonRpcPaymentNegotiator negotiator) => _negotiator = negotiator;

    /// <summary>Wraps a connected MCP client.</summary>
    /// <param name="client">The MCP client (not owned: dispose it yourself).</param>
    /// <param name="endpoint">
    /// The server's MCP endpoint URL (the client's transport knows it, the client does not): payments are bound to its origin
    /// (budget per host, allowed hosts, HTTPS or loopback) and session channels to it.
    /// </param>
    /// <param name="clientName">The name of the <see cref="MppPaymentOptions"/> to pay under; <see cref="McpMppBuilderExtensions.DefaultName"/> by default.</param>
    /// <returns>The paying client.</returns>
    public PaidMcpClient Create(McpClient client, Uri endpoint, string? clientName = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(endpoint);
        if (!endpoint.IsAbsoluteUri)
        {
            throw new ArgumentException("The MCP endpoint must be an absolute URL.", nameof(endpoint));
        }

        return new PaidMcpClient(client, endpoint, clientName ?? McpMppBuilderExtensions.DefaultName, _negotiator);
    }
}

/// <summary>Registers paid MCP calls.</summary>
public static class McpMppBuilderExtensions
{
    /// <summary>The default options name of paid MCP clients.</summary>
    public const string DefaultName = "mcp";

    /// <summary>
    /// Registers <see cref="PaidMcpClientFactory"/> and the payment options MCP calls are paid under (named
    /// <paramref name="name"/>: policy, allow-lists, budget limits), validated at start-up like an HttpClient's.
    /// </summary>
    /// <param name="builder">The MPP builder.</param>
    /// <param name="configure">Configures the options (budget limits are required to pay anything).</param>
    /// <param name="name">The options name (and default budget scope).</param>
    /// <returns>The builder.</returns>
    public static MppBuilder AddMcp(this MppBuilder builder, Action<MppPaymentOptions>? configure = null, string name = DefaultName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(name);
        var options = builder.Services.AddOptions<MppPaymentOptions>(name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddSingleton(sp => new PaidMcpClientFactory(sp.GetRequiredService<JsonRpcPaymentNegotiator>()));
        return builder;
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
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
    /// <remarks>
    /// <paramref name="endpoint"/> is trusted as given: it is not checked against where the client's transport actually
    /// connects, and credentials go wherever that transport sends them. Pass the transport's own endpoint, build its
    /// HttpClient on <see cref="CreateHttpHandler"/> (which never follows redirects), and keep the MCP SDK's
    /// <see cref="LogLevel.Trace"/> logging off: at that level the SDK logs whole messages, credentials included
    /// (<see cref="ConnectAsync"/> filters it out).
    /// </remarks>
    public PaidMcpClient Create(McpClient client, Uri endpoint, string? clientName = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(endpoint);
        if (!endpoint.IsAbsoluteUri)
        {
            throw new ArgumentException("The MCP endpoint must be an absolute URL.", nameof(endpoint));
        }

        return new PaidMcpClient(client, endpoint, clientName ?? McpMppBuilderExtensions.DefaultName, _negotiator, ownsClient: false);
    }

    /// <summary>
    /// Connects to an MCP server over Streamable HTTP, with <see cref="CreateHttpHandler"/> in the transport's HttpClient,
    /// and wraps the client (which the returned object owns and disposes).
    /// </summary>
    /// <param name="endpoint">The server's MCP endpoint URL.</param>
    /// <param name="clientOptions">MCP client options, or <see langword="null"/>.</param>
    /// <param name="clientName">The name of the <see cref="MppPaymentOptions"/> to pay under; <see cref="McpMppBuilderExtensions.DefaultName"/> by default.</param>
    /// <param name="loggerFactory">
    /// Logging for the MCP SDK, or <see langword="null"/>. Its <see cref="LogLevel.Trace"/> entries are dropped: at that level the
    /// SDK logs whole messages, and a paid call's message carries its credential.
    /// </param>
    /// <param name="cancellationToken">Cancels the connection.</param>
    /// <returns>The paying client.</returns>
    public Task<PaidMcpClient> ConnectAsync(Uri endpoint, McpClientOptions? clientOptions = null, string? clientName = null, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
        => ConnectOverAsync(endpoint, CreateHttpHandler(), clientOptions, clientName, loggerFactory, cancellationToken);

    /// <summary>Connects over the given handler (which should come from <see cref="CreateHttpHandler"/>); owned by the connection.</summary>
    internal async Task<PaidMcpClient> ConnectOverAsync(Uri endpoint, HttpMessageHandler handler, McpClientOptions? clientOptions = null, string? clientName = null, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(handler);
        var http = new HttpClient(handler);
        loggerFactory = loggerFactory is null ? null : new NoTraceLoggerFactory(loggerFactory);
        var transport = new HttpClientTransport(new HttpClientTransportOptions { Endpoint = endpoint, TransportMode = HttpTransportMode.StreamableHttp }, http, loggerFactory, ownsHttpClient: true);
        McpClient client;
        try
        {
            client = await McpClient.CreateAsync(transport, clientOptions, loggerFactory, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await transport.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new PaidMcpClient(client, endpoint, clientName ?? McpMppBuilderExtensions.DefaultName, _negotiator, ownsClient: true);
    }

    /// <summary>
    /// The HTTP handler to put in the HttpClient of an MCP client's <see cref="HttpClientTransport"/> when it is built by hand:
    /// it keeps a copy of the payment errors in the answers to <see cref="PaidMcpClient"/>'s calls (bytes pass through
    /// unchanged), because the MCP C# SDK 2.3.1 does not surface a <c>-32042</c> error's challenges.
    /// </summary>
    /// <param name="inner">
    /// The handler that does the I/O; a new <see cref="SocketsHttpHandler"/> when <see langword="null"/>. A
    /// <see cref="SocketsHttpHandler"/> or <see cref="HttpClientHandler"/> is set to never follow redirects (a paid call's
    /// credential is in the body, which a 307/308 would re-send to any origin), so pass one that has not sent anything yet.
    /// </param>
    /// <returns>The handler.</returns>
    public static HttpMessageHandler CreateHttpHandler(HttpMessageHandler? inner = null)
    {
        inner ??= new SocketsHttpHandler();
        MppHttpClientBuilderExtensions.DisableAutoRedirect(inner);
        return new McpPaymentCaptureHandler(inner);
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

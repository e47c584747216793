using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Mpp.Client.Protocol;

namespace Mpp.Client.Mcp;

/// <summary>
/// An MCP client that pays for tool calls (protocol.md §7): a call answered with JSON-RPC error <c>-32042</c> (or mppx's
/// payment-required tool result) is paid through the registered payment methods, policies, approver, budget ledger,
/// journal and receipt store, exactly as an HTTP 402 would be, and retried with the credential in
/// <c>params._meta["org.paymentauth/credential"]</c>; the receipt is read from <c>result._meta["org.paymentauth/receipt"]</c>.
/// Create it with <see cref="PaidMcpClientFactory"/>: <see cref="PaidMcpClientFactory.ConnectAsync"/> connects over Streamable
/// HTTP with the handler that reads payment errors off the wire (needed with MCP C# SDK 2.3.1, which cannot surface a
/// <c>-32042</c> error's challenges; see <see cref="PaidMcpClientFactory.CreateHttpHandler"/>).
/// </summary>
/// <remarks>Thread-safe when the wrapped <see cref="McpClient"/> is. It does not own the client.</remarks>
public sealed class PaidMcpClient : IAsyncDisposable
{
    private const string ToolsCall = "tools/call";
    private readonly JsonRpcPaymentNegotiator _negotiator;
    private readonly bool _ownsClient;
    private int _disposed;

    internal PaidMcpClient(McpClient client, Uri endpoint, string clientName, JsonRpcPaymentNegotiator negotiator, bool ownsClient)
    {
        Client = client;
        Endpoint = endpoint;
        ClientName = clientName;
        _negotiator = negotiator;
        _ownsClient = ownsClient;
    }

    /// <summary>
    /// Disposes the MCP client when this object connected it (<see cref="PaidMcpClientFactory.ConnectAsync"/>),
    /// and makes payment methods forget the management side channels of its calls (a session's top-up or close then goes
    /// unanswered: the chain is checked, or <c>ForceCloseAsync</c> recovers the deposit).
    /// </summary>
    /// <returns>A task.</returns>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        foreach (var holder in _negotiator.Services.Methods.OfType<IPaymentSideChannelHolder>())
        {
            holder.ForgetSideChannels(this);
        }

        return _ownsClient ? Client.DisposeAsync() : ValueTask.CompletedTask;
    }

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Gets the wrapped MCP client (free calls go straight to it).</summary>
    public McpClient Client { get; }

    /// <summary>Gets the MCP endpoint URL: the origin budgets, host policies and session channels are keyed by.</summary>
    public Uri Endpoint { get; }

    /// <summary>Gets the name of the <see cref="MppPaymentOptions"/> (and default budget scope) this client pays under.</summary>
    public string ClientName { get; }

    /// <summary>
    /// Calls a tool, paying for it when the server asks. A free tool's result comes back as is, with
    /// <see cref="PaidToolResult.Payment"/> <see langword="null"/>.
    /// </summary>
    /// <param name="toolName">The tool.</param>
    /// <param name="arguments">The tool's arguments, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The tool result and what was paid.</returns>
    /// <exception cref="PaymentDeniedException">The payment was refused on this side (policy, budget, approver, no method).</exception>
    /// <exception cref="JsonRpcPaymentException">The server refused the credential (<c>-32043</c> twice, <c>-32602</c>, <c>-32603</c>).</exception>
    /// <exception cref="PaymentOutcomeUnknownException">The credential left but no answer was read.</exception>
    public async Task<PaidToolResult> CallToolAsync(string toolName, IReadOnlyDictionary<string, object?>? arguments = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(toolName);
        var first = await SendAsync(toolName, arguments, credential: null, cancellationToken).ConfigureAwait(false);
        if (first.Kind == PaidAnswerKind.Accepted)
        {
            return new PaidToolResult(first.Value!, null);
        }

        var operation = new PaymentOperation(PaymentOperation.Mcp, ToolsCall, toolName, ArgumentsJson(arguments))
        {
            SideChannel = new ToolSideChannel(this, toolName, arguments),
        };
        var outcome = await _negotiator.PayAsync(
            ClientName,
            Endpoint,
            operation,
            first,
            (credential, data, ct) => SendAsync(toolName, arguments, Meta(credential, data), ct),
            cancellationToken).ConfigureAwait(false);
        return new PaidToolResult(outcome.Value, outcome.Details);
    }

    private static JsonObject Meta(PaymentCredential credential, JsonRpcPaymentData data)
        => new() { [JsonRpcPaymentCodes.CredentialKey] = JsonRpcPaymentData.CredentialJson(credential, data.TryGetRaw(credential.Challenge.Id, out var raw) ? raw : null) };

    private static JsonElement? ArgumentsJson(IReadOnlyDictionary<string, object?>? arguments)
        => arguments is null ? null : JsonSerializer.SerializeToElement(arguments, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IReadOnlyDictionary<string, object?>)));

    private async Task<PaidAnswer<CallToolResult>> SendAsync(string toolName, IReadOnlyDictionary<string, object?>? arguments, JsonObject? credential, CancellationToken cancellationToken)
    {
        CallToolResult result;
        using var capture = McpPaymentCaptureHandler.Begin();
        try
        {
            result = await Client.CallToolAsync(toolName, arguments, progress: null, new RequestOptions { Meta = credential }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is McpException or JsonException && McpPaymentError.TryRead(ex, capture, credential is not null, out var code, out var data))
        {
            var kind = code switch
            {
                JsonRpcPaymentCodes.PaymentRequired => PaidAnswerKind.PaymentRequired,
                JsonRpcPaymentCodes.VerificationFailed => PaidAnswerKind.VerificationFailed,
                _ => PaidAnswerKind.Failed,
            };
            return new PaidAnswer<CallToolResult>(kind, null, null, data, code);
        }

        // mppx extension: payment required as an error tool result with the challenges in _meta.
        if (result.IsError == true && McpPaymentError.ReadMeta(result.Meta) is { } meta && meta.TryGetProperty(JsonRpcPaymentCodes.PaymentRequiredKey, out var required))
        {
            var data = JsonRpcPaymentData.Read(required);
            if (data.Challenges.Count > 0 || data.Errors.Count > 0)
            {
                return new PaidAnswer<CallToolResult>(PaidAnswerKind.PaymentRequired, null, null, data, JsonRpcPaymentCodes.PaymentRequired);
            }
        }

        return PaidAnswer<CallToolResult>.Accepted(result, JsonRpcPaymentData.ReadReceipt(McpPaymentError.ReadMeta(result.Meta)));
    }

    /// <summary>Session management (top-up, close) for a tool's channel: the credential rides on a call of that tool.</summary>
    private sealed class ToolSideChannel(PaidMcpClient owner, string toolName, IReadOnlyDictionary<string, object?>? arguments) : IOwnedPaymentSideChannel
    {
        public object Owner => owner;

        public async Task<PaymentSideChannelAnswer> SendAsync(PaymentCredential credential, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(owner.IsDisposed, owner);
            var meta = new JsonObject { [JsonRpcPaymentCodes.CredentialKey] = JsonRpcPaymentData.CredentialJson(credential, null) };
            var answer = await owner.SendAsync(toolName, arguments, meta, cancellationToken).ConfigureAwait(false);
            return answer.Kind switch
            {
                PaidAnswerKind.Accepted => new PaymentSideChannelAnswer(200, answer.Receipt, []),
                PaidAnswerKind.PaymentRequired or PaidAnswerKind.VerificationFailed => new PaymentSideChannelAnswer(402, null, answer.Data.Challenges),
                _ => new PaymentSideChannelAnswer(answer.ErrorCode == JsonRpcPaymentCodes.InvalidParams ? 400 : 500, null, []),
            };
        }
    }
}

/// <summary>A tool result and what paying for it took.</summary>
public sealed class PaidToolResult
{
    internal PaidToolResult(CallToolResult? result, PaymentDetails? payment)
    {
        Result = result;
        Payment = payment;
    }

    /// <summary>Gets the tool result; <see langword="null"/> only after a dry run (nothing was paid or sent).</summary>
    public CallToolResult? Result { get; }

    /// <summary>Gets what was paid (challenge, quote, outcome, receipt, rounds, refusals); <see langword="null"/> for a free call.</summary>
    public PaymentDetails? Payment { get; }

    /// <summary>Gets the server's receipt from <c>result._meta</c>, when the call was paid and it sent a valid one.</summary>
    public PaymentReceipt? Receipt => Payment?.Receipt;

    /// <summary>Gets whether the call was paid and accepted.</summary>
    public bool IsPaid => Payment?.IsPaid == true;
}

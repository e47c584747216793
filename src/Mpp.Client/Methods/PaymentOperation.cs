using System.Text.Json;
using Mpp.Client.Protocol;

namespace Mpp.Client;

/// <summary>
/// The operation a payment is for when it is not a plain HTTP request: a JSON-RPC method or an MCP tool call, with its
/// arguments, so policies and approvers can see what is being bought (<see cref="PaymentContext.Operation"/>).
/// </summary>
public sealed class PaymentOperation
{
    /// <summary>Initializes an operation.</summary>
    /// <param name="transport">The transport, for example <see cref="Mcp"/> or <see cref="JsonRpc"/>.</param>
    /// <param name="method">The JSON-RPC method, for example <c>tools/call</c>.</param>
    /// <param name="name">The tool, resource or prompt named by the call, or <see langword="null"/> for a plain JSON-RPC method.</param>
    /// <param name="arguments">The call's arguments (a JSON object or array), or <see langword="null"/>.</param>
    public PaymentOperation(string transport, string method, string? name = null, JsonElement? arguments = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(transport);
        ArgumentException.ThrowIfNullOrEmpty(method);
        Transport = transport;
        Method = method;
        Name = name;
        Arguments = arguments?.Clone();
    }

    /// <summary>The transport name of MCP tool, resource and prompt calls.</summary>
    public const string Mcp = "mcp";

    /// <summary>The transport name of generic JSON-RPC calls.</summary>
    public const string JsonRpc = "json-rpc";

    /// <summary>Gets the transport.</summary>
    public string Transport { get; }

    /// <summary>Gets the JSON-RPC method.</summary>
    public string Method { get; }

    /// <summary>Gets the tool, resource or prompt name, if any.</summary>
    public string? Name { get; }

    /// <summary>Gets the arguments, if any.</summary>
    public JsonElement? Arguments { get; }

    /// <summary>Gets the scope the server binds challenges to: <c>tools/call:weather</c>, or the method alone.</summary>
    public string Scope => Name is null ? Method : Method + ":" + Name;

    /// <summary>
    /// Gets or sets how a payment method sends a credential that pays for no call of its own (a session's top-up or
    /// close) over this operation's transport; <see langword="null"/> means plain HTTP to the endpoint.
    /// </summary>
    public IPaymentSideChannel? SideChannel { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"{Transport} {Scope}";
}

/// <summary>Sends a management credential (a session top-up or close) over a non-HTTP transport, such as an MCP tool call.</summary>
public interface IPaymentSideChannel
{
    /// <summary>Sends the credential and reads the server's answer. Must not throw for an answer the server gave.</summary>
    /// <param name="credential">The credential (a bearer token: never log it).</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>The answer.</returns>
    Task<PaymentSideChannelAnswer> SendAsync(PaymentCredential credential, CancellationToken cancellationToken);
}

/// <summary>A server's answer to a management credential.</summary>
/// <param name="StatusCode">The answer in HTTP terms: 200 accepted, 402 payment required again, anything else a failure.</param>
/// <param name="Receipt">The receipt, when the server accepted the credential and sent one.</param>
/// <param name="Challenges">Fresh challenges, when the server asked for payment again.</param>
public sealed record PaymentSideChannelAnswer(int StatusCode, PaymentReceipt? Receipt, IReadOnlyList<PaymentChallenge> Challenges);

/// <summary>A side channel that belongs to a client object: when that client is disposed, the channel is forgotten.</summary>
internal interface IOwnedPaymentSideChannel : IPaymentSideChannel
{
    /// <summary>Gets the object whose disposal ends the channel (a <c>PaidMcpClient</c>).</summary>
    object Owner { get; }
}

/// <summary>A payment method that remembers side channels (a session's routes) and can forget those of a disposed client.</summary>
internal interface IPaymentSideChannelHolder
{
    /// <summary>Forgets every side channel <paramref name="owner"/> owns; later management credentials of those routes fail as unanswered.</summary>
    /// <param name="owner">The disposed client.</param>
    void ForgetSideChannels(object owner);
}

using System.Net;
using System.Numerics;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Mpp.Client.Protocol;
using RichardSzalay.MockHttp;

namespace Mpp.Client.Tempo.Tests;

/// <summary>Sessions whose management credentials travel over a side channel (MCP): a failing or gone channel.</summary>
public sealed partial class SessionTests
{
    private static PaymentContext SideContext(IPaymentSideChannel sideChannel, string tool = "weather", string? scope = null)
        => new("c", HttpMethod.Post, Resource, 1, scope, asset => new SpendLimit(asset, perRequest: 100_000, total: 10_000_000))
        {
            Operation = new PaymentOperation(PaymentOperation.Mcp, "tools/call", tool) { SideChannel = sideChannel },
        };

    [Test]
    public async Task A_top_up_whose_side_channel_throws_is_confirmed_on_chain_instead_of_being_signed_again()
    {
        var open = Vectors.Load("session-open.json");
        var chain = VectorChain(open); // the chain reports a deposit of 1,000,000: the server did broadcast the top-up
        var ledger = new InMemorySpendLedger(new FixedTime(VectorNow));
        var manager = Manager(chain, open, ledger: ledger, configure: o => o.Deposit = 0.002m);
        var challenge = Challenge(open);
        var side = new ThrowingSideChannel(new JsonException("the MCP SDK could not read the answer"));
        await PayAsync(manager, challenge, SideContext(side), ledger: ledger);
        await PayAsync(manager, challenge, SideContext(side), ledger: ledger);

        var (_, credential) = await PayAsync(manager, challenge, SideContext(side), ledger: ledger);

        Assert.Multiple(() =>
        {
            Assert.That(side.Calls, Is.EqualTo(1), "one top-up was handed to the server");
            Assert.That(credential.Payload.GetProperty("cumulativeAmount").GetString(), Is.EqualTo("3000"));
            Assert.That(manager.GetChannels().Single().Deposit, Is.EqualTo(new BigInteger(1_000_000)), "the deposit the chain confirms");
        });
    }

    [Test]
    public async Task Closing_every_channel_goes_on_past_a_channel_whose_side_channel_is_gone_and_reports_each_error()
    {
        var open = Vectors.Load("session-open.json");
        var chain = VectorChain(open);
        var salts = 0;
        var tempo = new TempoOptions { Signer = PrivateKeySigner.FromHex(DevKey0), RpcUrl = Rpc, ChainId = 1337 };
        var server = new MockHttpMessageHandler();
        server.Fallback.Respond(HttpStatusCode.InternalServerError);
        var manager = new TempoSessionManager(tempo, new TempoSessionOptions(), new HttpClient(chain.Handler()), new HttpClient(server), new InMemoryChannelStore(), new InMemorySpendLedger(new FixedTime(VectorNow)), new FixedTime(VectorNow), NullLogger.Instance, _ => 1, () => [.. new byte[31], (byte)++salts]);
        var challenge = Challenge(open);
        await PayAsync(manager, challenge, SideContext(new ThrowingSideChannel(new ObjectDisposedException("PaidMcpClient")), "a", scope: "one"));
        await PayAsync(manager, challenge, SideContext(new ThrowingSideChannel(new ObjectDisposedException("PaidMcpClient")), "b", scope: "two"));
        Assert.That(manager.GetChannels(), Has.Count.EqualTo(2));

        var results = await manager.CloseAllAsync();

        Assert.That(results, Has.Count.EqualTo(2), "every channel is tried");
        Assert.That(results.Select(r => r.Error), Has.All.InstanceOf<MppException>());
    }

    [Test]
    public async Task A_forgotten_side_channel_is_no_longer_used_for_the_routes_management_credentials()
    {
        var open = Vectors.Load("session-open.json");
        var chain = VectorChain(open);
        var manager = Manager(chain, open);
        var challenge = Challenge(open);
        var owner = new object();
        var side = new ThrowingSideChannel(new InvalidOperationException("should not be used")) { Owner = owner };
        await PayAsync(manager, challenge, SideContext(side));

        manager.ForgetSideChannels(owner);
        var results = await manager.CloseAllAsync();

        Assert.That(side.Calls, Is.Zero, "the disposed client's channel is gone");
        Assert.That(results.Single().Error, Is.InstanceOf<MppException>());
    }

    private sealed class ThrowingSideChannel(Exception error) : IOwnedPaymentSideChannel
    {
        public int Calls { get; private set; }

        public object Owner { get; init; } = new();

        public Task<PaymentSideChannelAnswer> SendAsync(PaymentCredential credential, CancellationToken cancellationToken)
        {
            Calls++;
            return Task.FromException<PaymentSideChannelAnswer>(error);
        }
    }
}

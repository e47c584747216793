using System.Net;
using System.Numerics;
using Mpp.Client.Tempo.Evm;
using Mpp.Client.Tempo.Transactions;
using Mpp.Client.Testing.Chain;
using Nethereum.RLP;

namespace Mpp.Client.Testing.Tests;

/// <summary>Hostile behaviours against the real client, and the kit's own chain pieces (RLP decoding, transaction decoding).</summary>
[TestFixture(false)]
[TestFixture(true)]
public sealed class HostileTests(bool inMemory)
{
    [Test]
    public async Task A_server_that_answers_402_forever_makes_the_client_give_up_and_settles_nothing()
    {
        await using var server = await Kit.StartAsync(inMemory, o => o.Routes["/paid"] = TestRoute.Charge(0.01m).WithHostile(HostileBehavior.Payment402Forever));
        var payer = server.CreateFundedAccount(1m);
        await using var services = Kit.Client(server, payer);

        Assert.That(async () => { using var _ = await services.Paid().GetAsync(new Uri("/paid", UriKind.Relative)); }, Throws.InstanceOf<MppException>());
        Assert.That(server.Ledger.Payments, Is.Empty);
        Assert.That(server.Ledger.BalanceOf(payer.Address), Is.EqualTo(new BigInteger(1_000_000)));
        Assert.That(server.CredentialsReceived, Is.LessThanOrEqualTo(3), "the client does not loop");
    }

    [Test]
    public async Task A_challenge_asking_a_thousand_times_the_price_is_refused_by_the_budget_before_signing()
    {
        await using var server = await Kit.StartAsync(inMemory, o => o.Routes["/paid"] = TestRoute.Charge(0.01m).WithHostile(HostileBehavior.WrongAmountInChallenge));
        var payer = server.CreateFundedAccount(100m);
        await using var services = Kit.Client(server, payer, perRequest: 0.05m);

        using var response = await services.Paid().GetAsync(new Uri("/paid", UriKind.Relative));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.PaymentRequired), "the 402 comes back unpaid");
        Assert.That(server.CredentialsReceived, Is.Zero);
        Assert.That(server.Ledger.BalanceOf(payer.Address), Is.EqualTo(new BigInteger(100_000_000)));
    }

    [Test]
    public async Task A_server_that_takes_the_payment_and_drops_the_connection_leaves_the_payment_on_the_ledger()
    {
        await using var server = await Kit.StartAsync(inMemory, o => o.Routes["/paid"] = TestRoute.Charge(0.01m).WithHostile(HostileBehavior.DropAfterCredential));
        var payer = server.CreateFundedAccount(1m);
        await using var services = Kit.Client(server, payer);

        Assert.That(async () => { using var _ = await services.Paid().GetAsync(new Uri("/paid", UriKind.Relative)); }, Throws.Exception);
        Assert.That(server.Ledger.Payments, Has.Count.EqualTo(1), "the money moved although no answer came: the client must treat the outcome as unknown");
    }

    [Test]
    public async Task Malformed_payment_headers_are_not_paid()
    {
        await using var server = await Kit.StartAsync(inMemory, o => o.Routes["/paid"] = TestRoute.Charge(0.01m).WithHostile(HostileBehavior.MalformedHeaders));
        var payer = server.CreateFundedAccount(1m);
        await using var services = Kit.Client(server, payer);

        HttpStatusCode? status = null;
        try
        {
            using var response = await services.Paid().GetAsync(new Uri("/paid", UriKind.Relative));
            status = response.StatusCode;
        }
        catch (MppException)
        {
        }

        Assert.That(status, Is.Null.Or.EqualTo(HttpStatusCode.PaymentRequired));
        Assert.That(server.CredentialsReceived, Is.Zero);
    }

    [Test]
    public async Task A_slow_server_is_cut_off_by_the_client_timeout()
    {
        await using var server = await Kit.StartAsync(inMemory, o => o.Routes["/free"] = TestRoute.Free().WithHostile(HostileBehavior.SlowResponse(TimeSpan.FromSeconds(10))));
        using var client = new HttpClient(server.CreateHandler()) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMilliseconds(300) };

        Assert.That(async () => await client.GetAsync(new Uri("/free", UriKind.Relative)), Throws.InstanceOf<TaskCanceledException>());
    }
}

/// <summary>The kit's chain pieces.</summary>
public sealed class ChainTests
{
    [Test]
    public void Rlp_decoding_reverses_nethereums_encoder_and_keeps_each_item_s_exact_bytes()
    {
        var encoded = RLP.EncodeList(TempoTransaction.Integer(0), TempoTransaction.Integer(1337), RLP.EncodeElement(new byte[60]), RLP.EncodeList(RLP.EncodeElement([0x7f]), RLP.EncodeList()));

        var item = RlpReader.Decode(encoded);

        Assert.That(item.IsList, Is.True);
        Assert.That(item.Items, Has.Count.EqualTo(4));
        Assert.That((item.Items[0].AsInteger(), item.Items[1].AsInteger()), Is.EqualTo((BigInteger.Zero, new BigInteger(1337))));
        Assert.That(item.Items[2].Payload, Has.Length.EqualTo(60));
        Assert.That(item.Items[3].Items[0].Payload, Is.EqualTo(new byte[] { 0x7f }));
        Assert.That(item.Encoded, Is.EqualTo(encoded));
        Assert.That(RLP.EncodeList([.. item.Items.Select(i => i.Encoded)]), Is.EqualTo(encoded));
    }

    [TestCase("81 05", TestName = "A single byte below 0x80 wrapped in a prefix is refused")]
    [TestCase("b8 05 0102030405", TestName = "A long-form length below 56 is refused")]
    [TestCase("83 0102", TestName = "A string running past the end is refused")]
    [TestCase("c1 01 02", TestName = "Trailing bytes are refused")]
    public void Non_canonical_rlp_is_refused(string hex)
        => Assert.That(() => RlpReader.Decode(Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal))), Throws.InstanceOf<FormatException>());

    [Test]
    public void The_event_topics_match_the_escrow_s_published_ones()
    {
        Assert.That(TestTempoLedger.ChannelClosedTopic, Is.EqualTo("0x5613aed96d5bf39f928408dbe1d4143490b9bb5957eac2dd8e69b5dc4b2206e6"));
        Assert.That(TestTempoLedger.ChannelOpenedTopic, Is.EqualTo("0xdebaba36f0e9c7978f536fed432d9360b1f9646d7ca88531c34c3eae43f154a7"));
        Assert.That(TestTempoLedger.TopUpTopic, Is.EqualTo("0x2a96f534665f3150977dd4c35d91373c74030288edbb3cf83c527dd25012364f"));
        Assert.That(TestTempoLedger.CloseRequestedTopic, Is.EqualTo("0xf5a36fc00a96cbb9cf1f8f59299165e1d8ffffe94396d82904b4da524d16bbce"));
        Assert.That(TestTempoLedger.ChannelClosedTopic, Is.EqualTo(Mpp.Client.Tempo.Sessions.Escrow.ChannelClosedTopic));
    }

    [Test]
    public void The_reference_charge_transaction_decodes_to_its_recorded_sender_and_signing_hash()
    {
        var vector = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "Vectors", "charge.json")))!["transaction"]!;

        var tx = SignedTempoTransaction.Decode(Hex.Decode(vector["serialized"]!.GetValue<string>()));

        Assert.That(tx.Sender.ToString(), Is.EqualTo(vector["senderRecovered"]!.GetValue<string>()));
        Assert.That(Hex.Encode(tx.SenderSigningPreimage), Is.EqualTo(vector["senderEncodedForSigning"]!.GetValue<string>()));
        Assert.That((tx.ChainId, tx.ValidBefore, tx.Calls.Count), Is.EqualTo((1337L, 1767225625L, 1)));
    }
}

using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using Mpp.Client.Protocol;

namespace Mpp.Client.Testing.Tests;

/// <summary>
/// Keeps the kit honest against the reference: each genuine credential of the mppx vectors (Vectors/README.md) is accepted
/// and settles on the ledger; every tampered copy is refused and moves nothing.
/// </summary>
public sealed class VectorTests
{
    private const string Payer = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    private const string Payee = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    private const string PayeeHex = "70997970c51812dc3a010c7d01b50e0d17dc79c8";

    public static IEnumerable<TestCaseData> ChargeTampers()
    {
        foreach (var file in new[] { "charge.json", "charge-sponsored.json" })
        {
            yield return new TestCaseData(file, "challenge id", Tamper(c => c["challenge"]!["id"] = Flip(c["challenge"]!["id"]!.GetValue<string>(), 3)));
            yield return new TestCaseData(file, "challenge request (amount)", Tamper(c => c["challenge"]!["request"] = ReRequest(c["challenge"]!["request"]!.GetValue<string>(), r => r["amount"] = "10001")));
            yield return new TestCaseData(file, "challenge expires", Tamper(c => c["challenge"]!["expires"] = "2026-01-01T01:05:00.000Z"));
            yield return new TestCaseData(file, "transaction signature", Tamper(c => c["payload"]!["signature"] = Flip(c["payload"]!["signature"]!.GetValue<string>(), 6)));
            yield return new TestCaseData(file, "transfer recipient", Tamper(c => c["payload"]!["signature"] = c["payload"]!["signature"]!.GetValue<string>().Replace(PayeeHex, PayeeHex[..^1] + "9", StringComparison.Ordinal)));
            yield return new TestCaseData(file, "transfer amount", Tamper(c => c["payload"]!["signature"] = c["payload"]!["signature"]!.GetValue<string>().Replace("0000000000002710", "0000000000002711", StringComparison.Ordinal)));
            yield return new TestCaseData(file, "source", Tamper(c => c["source"] = "did:pkh:eip155:1337:" + Payee));
            yield return new TestCaseData(file, "payload type", Tamper(c => c["payload"]!["type"] = "hash"));
        }
    }

    public static IEnumerable<TestCaseData> OpenTampers()
    {
        foreach (var file in new[] { "session-open.json", "session-open-sponsored.json" })
        {
            yield return new TestCaseData(file, "challenge id", Tamper(c => c["challenge"]!["id"] = Flip(c["challenge"]!["id"]!.GetValue<string>(), 3)));
            yield return new TestCaseData(file, "voucher signature", Tamper(c => c["payload"]!["signature"] = Flip(c["payload"]!["signature"]!.GetValue<string>(), 6)));
            yield return new TestCaseData(file, "transaction signature", Tamper(c => c["payload"]!["transaction"] = Flip(c["payload"]!["transaction"]!.GetValue<string>(), 6)));
            yield return new TestCaseData(file, "cumulative amount", Tamper(c => c["payload"]!["cumulativeAmount"] = "1001"));
            yield return new TestCaseData(file, "channel id", Tamper(c => c["payload"]!["channelId"] = Flip(c["payload"]!["channelId"]!.GetValue<string>(), 2)));
            yield return new TestCaseData(file, "descriptor salt", Tamper(c => c["payload"]!["descriptor"]!["salt"] = Flip(c["payload"]!["descriptor"]!["salt"]!.GetValue<string>(), 2)));
            yield return new TestCaseData(file, "descriptor payee", Tamper(c => c["payload"]!["descriptor"]!["payee"] = Payer));
            yield return new TestCaseData(file, "open deposit in the transaction", Tamper(c => c["payload"]!["transaction"] = c["payload"]!["transaction"]!.GetValue<string>().Replace("00000000000f4240", "00000000000f4241", StringComparison.Ordinal)));
            yield return new TestCaseData(file, "action", Tamper(c => c["payload"]!["action"] = "settle"));
        }
    }

    public static IEnumerable<TestCaseData> VoucherTampers()
    {
        foreach (var file in new[] { "session-voucher.json", "session-close.json" })
        {
            yield return new TestCaseData(file, "signature", Tamper(c => c["payload"]!["signature"] = Flip(c["payload"]!["signature"]!.GetValue<string>(), 6)));
            yield return new TestCaseData(file, "cumulative amount", Tamper(c => c["payload"]!["cumulativeAmount"] = "5000"));
            yield return new TestCaseData(file, "channel id", Tamper(c => c["payload"]!["channelId"] = Flip(c["payload"]!["channelId"]!.GetValue<string>(), 2)));
            yield return new TestCaseData(file, "descriptor expiringNonceHash", Tamper(c => c["payload"]!["descriptor"]!["expiringNonceHash"] = Flip(c["payload"]!["descriptor"]!["expiringNonceHash"]!.GetValue<string>(), 2)));
            yield return new TestCaseData(file, "challenge request", Tamper(c => c["challenge"]!["request"] = ReRequest(c["challenge"]!["request"]!.GetValue<string>(), r => r["amount"] = "1")));
        }
    }

    [TestCase("charge.json")]
    [TestCase("charge-sponsored.json")]
    public async Task The_reference_charge_credential_is_accepted_and_lands_on_the_ledger(string file)
    {
        await using var server = Server();
        var verdict = await server.Payments.VerifyAsync(Credential(file), ChargeRoute(file));

        Assert.That(verdict.Succeeded, Is.True, verdict.Problem?.Detail);
        Assert.That(server.Ledger.BalanceOf(Payee), Is.EqualTo(new BigInteger(10_000)));
        Assert.That(server.Ledger.Payments.Single().Payer, Is.EqualTo(Payer));
        Assert.That(verdict.Receipt!.Reference, Is.EqualTo(server.Ledger.Payments.Single().TransactionHash));
    }

    [TestCaseSource(nameof(ChargeTampers))]
    public async Task A_tampered_reference_charge_credential_is_refused(string file, string what, Func<JsonObject, JsonObject> tamper)
    {
        await using var server = Server();
        var tampered = Credential(file, tamper);

        var verdict = tampered is null ? null : await server.Payments.VerifyAsync(tampered, ChargeRoute(file));

        Assert.That(verdict?.Succeeded ?? false, Is.False, $"tampered {what} was accepted");
        Assert.That(server.Ledger.Payments, Is.Empty);
        Assert.That(server.Ledger.BalanceOf(Payee), Is.EqualTo(BigInteger.Zero));
        var genuine = await server.Payments.VerifyAsync(Credential(file), ChargeRoute(file));
        Assert.That(genuine.Succeeded, Is.True, "the genuine credential still pays afterwards: " + genuine.Problem?.Detail);
    }

    [Test]
    public async Task The_reference_session_open_voucher_and_close_are_accepted_and_settle_to_the_unit()
    {
        await using var server = Server();
        var route = SessionRoute("session-open.json");
        foreach (var file in new[] { "session-open.json", "session-voucher.json", "session-close.json" })
        {
            var verdict = await server.Payments.VerifyAsync(Credential(file), route);
            Assert.That(verdict.Succeeded, Is.True, file + ": " + verdict.Problem?.Detail);
        }

        var channel = server.Ledger.Channels.Single();
        Assert.That(channel.ChannelId, Is.EqualTo("0x8a01e82583571fc62ba886086243e3b4fd5190a258e1a5c1a51e11eea8edd8e7"));
        Assert.That((channel.IsClosed, channel.AcceptedCumulative, channel.Settled, channel.RefundedToPayer), Is.EqualTo((true, new BigInteger(3000), new BigInteger(2000), new BigInteger(998_000))), "two units spent; the close captures what was spent and refunds the rest");
        Assert.That(server.Ledger.BalanceOf(Payee), Is.EqualTo(new BigInteger(2000)));
        Assert.That(server.Ledger.BalanceOf(Payer), Is.EqualTo(new BigInteger(10_000_000 - 2000)));
    }

    [Test]
    public async Task The_reference_sponsored_session_open_is_accepted()
    {
        await using var server = Server();
        var verdict = await server.Payments.VerifyAsync(Credential("session-open-sponsored.json"), SessionRoute("session-open-sponsored.json"));

        Assert.That(verdict.Succeeded, Is.True, verdict.Problem?.Detail);
        Assert.That(server.Ledger.Channels.Single().Deposit, Is.EqualTo(new BigInteger(1_000_000)));
    }

    [TestCaseSource(nameof(OpenTampers))]
    public async Task A_tampered_reference_open_is_refused_and_opens_nothing(string file, string what, Func<JsonObject, JsonObject> tamper)
    {
        await using var server = Server();
        var tampered = Credential(file, tamper);

        var verdict = tampered is null ? null : await server.Payments.VerifyAsync(tampered, SessionRoute(file));

        Assert.That(verdict?.Succeeded ?? false, Is.False, $"tampered {what} was accepted");
        Assert.That(server.Ledger.Channels, Is.Empty);
        Assert.That(server.Ledger.BalanceOf(Payer), Is.EqualTo(new BigInteger(10_000_000)));
        Assert.That((await server.Payments.VerifyAsync(Credential(file), SessionRoute(file))).Succeeded, Is.True, "the genuine open still works afterwards");
    }

    [TestCaseSource(nameof(VoucherTampers))]
    public async Task A_tampered_reference_voucher_or_close_is_refused(string file, string what, Func<JsonObject, JsonObject> tamper)
    {
        await using var server = Server();
        var route = SessionRoute("session-open.json");
        Assert.That((await server.Payments.VerifyAsync(Credential("session-open.json"), route)).Succeeded, Is.True);
        var tampered = Credential(file, tamper);

        var verdict = tampered is null ? null : await server.Payments.VerifyAsync(tampered, route);

        Assert.That(verdict?.Succeeded ?? false, Is.False, $"tampered {what} was accepted");
        var channel = server.Ledger.Channels.Single();
        Assert.That((channel.AcceptedCumulative, channel.IsClosed), Is.EqualTo((new BigInteger(1000), false)));
        Assert.That((await server.Payments.VerifyAsync(Credential(file), route)).Succeeded, Is.True, "the genuine credential still works afterwards");
    }

    private static MppTestServer Server()
    {
        var server = MppTestServer.CreateInMemory(o =>
        {
            o.Realm = "interop.local";
            o.SecretKey = "interop-vector-secret-key-0123456789abcdef";
            o.ChainId = 1337;
            o.Payee = Payee;
            o.TimeProvider = new ManualClock(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
        });
        server.Ledger.Fund(Payer, 10m);
        return server;
    }

    private static TestRoute ChargeRoute(string file) => TestRoute.ChargeUnits(10_000) with { FeePayer = file.Contains("sponsored", StringComparison.Ordinal) };

    private static TestRoute SessionRoute(string file) => TestRoute.Session(0.001m, suggestedDeposit: 1m) with { FeePayer = file.Contains("sponsored", StringComparison.Ordinal) };

    private static JsonObject Wire(string file)
        => JsonNode.Parse(File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "Vectors", file)))!["credential"]!["wireJson"]!.AsObject();

    private static PaymentCredential Credential(string file) => PaymentCredential.Parse("Payment " + Base64UrlCodec.EncodeUtf8(Wire(file).ToJsonString()));

    /// <summary>The tampered credential, or null when the tampering already makes it unparseable (refused at the door).</summary>
    private static PaymentCredential? Credential(string file, Func<JsonObject, JsonObject> tamper)
        => PaymentCredential.TryParse("Payment " + Base64UrlCodec.EncodeUtf8(tamper(Wire(file)).ToJsonString()), out var credential) ? credential : null;

    private static Func<JsonObject, JsonObject> Tamper(Action<JsonObject> change) => wire =>
    {
        var before = wire.ToJsonString();
        change(wire);
        Assert.That(wire.ToJsonString(), Is.Not.EqualTo(before), "the tampering changed nothing");
        return wire;
    };

    private static string Flip(string text, int fromEnd)
    {
        var i = text.Length - fromEnd;
        var c = text[i];
        var replacement = c == 'a' ? 'b' : c == 'A' ? 'B' : char.IsDigit(c) ? (c == '9' ? '8' : (char)(c + 1)) : 'a';
        return string.Concat(text.AsSpan(0, i), replacement.ToString(), text.AsSpan(i + 1));
    }

    private static string ReRequest(string encoded, Action<JsonObject> change)
    {
        var request = JsonNode.Parse(Base64UrlCodec.DecodeUtf8(encoded))!.AsObject();
        change(request);
        return Base64UrlCodec.EncodeUtf8(request.ToJsonString());
    }
}

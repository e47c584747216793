using System.Globalization;
using System.Net;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Mpp.Client.Protocol;

namespace Mpp.Client.Tempo;

/// <summary>One server-sent event of a paid stream, with what the stream has cost when it arrived.</summary>
/// <param name="Event">The event type (<c>message</c> when the server named none).</param>
/// <param name="Data">The data, lines joined with <c>\n</c>.</param>
/// <param name="Id">The event id, if any.</param>
/// <param name="Spent">What this stream has cost so far, in token base units (vouchers signed for it).</param>
public sealed record ServerSentEvent(string Event, string Data, string? Id, BigInteger Spent);

/// <summary>Why a paid stream ended.</summary>
public enum PaidStreamEnd
{
    /// <summary>Still running (or never read).</summary>
    None,

    /// <summary>The server ended the stream.</summary>
    Completed,

    /// <summary>The next voucher would have passed the stream's spend cap: the client ended it, paying nothing more.</summary>
    SpendCapReached,
}

/// <summary>
/// A server-sent-event response billed per chunk through a session channel (protocol.md §3.3.7): enumerating it reads
/// the events and answers each <c>payment-need-voucher</c> with a voucher <c>POST</c> to the same URL, until the server
/// ends the stream or the next voucher would pass <see cref="SpendCap"/>, which ends it cleanly.
/// </summary>
public sealed class PaidEventStream : IAsyncEnumerable<ServerSentEvent>, IDisposable
{
    private const int MaxEventBytes = 1024 * 1024;
    private readonly TempoSessionManager _manager;
    private readonly HttpClient _client;
    private readonly HttpResponseMessage _response;
    private readonly ChannelSlot _slot;
    private readonly PaymentContext _context;
    private readonly Uri _voucherUri;
    private readonly BigInteger _baseline;
    private PaymentChallenge _challenge;
    private int _enumerated;

    internal PaidEventStream(TempoSessionManager manager, HttpClient client, HttpResponseMessage response, ChannelSlot slot, PaymentChallenge challenge, PaymentContext context, BigInteger firstCharge, BigInteger? spendCap)
    {
        _manager = manager;
        _client = client;
        _response = response;
        _slot = slot;
        _challenge = challenge;
        _context = context;
        _voucherUri = new UriBuilder(context.RequestUri) { Fragment = string.Empty }.Uri;
        _baseline = slot.Channel.HighestSigned - firstCharge;
        SpendCap = spendCap;
    }

    /// <summary>Gets the channel paying for the stream.</summary>
    public string ChannelId => _slot.Channel.ChannelId;

    /// <summary>Gets what the stream has cost so far, in token base units.</summary>
    public BigInteger Spent => _slot.Channel.HighestSigned - _baseline;

    /// <summary>Gets the most the stream may cost, in token base units; <see langword="null"/> for no cap beyond the budget.</summary>
    public BigInteger? SpendCap { get; }

    /// <summary>Gets how many vouchers were sent for the stream after the one that opened it.</summary>
    public int VouchersSent { get; private set; }

    /// <summary>Gets why the stream ended.</summary>
    public PaidStreamEnd End { get; private set; }

    /// <summary>Gets the server's final receipt (the <c>payment-receipt</c> event), once it arrived.</summary>
    public PaymentReceipt? FinalReceipt { get; private set; }

    /// <summary>Gets the HTTP response (headers; the body is read by enumerating).</summary>
    public HttpResponseMessage Response => _response;

    /// <inheritdoc />
    public async IAsyncEnumerator<ServerSentEvent> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException("A paid stream can be read once.");
        }

        var body = await _response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            await foreach (var (name, data, id) in ReadEventsAsync(body, cancellationToken).ConfigureAwait(false))
            {
                switch (name)
                {
                    case "payment-need-voucher":
                        if (!await PayAsync(data, cancellationToken).ConfigureAwait(false))
                        {
                            End = PaidStreamEnd.SpendCapReached;
                            _response.Dispose(); // ends the stream: the server stops waiting for a voucher that will not come
                            yield break;
                        }

                        break;
                    case "payment-receipt":
                        FinalReceipt = ParseReceipt(data);
                        break;
                    default:
                        yield return new ServerSentEvent(name, data, id, Spent);
                        break;
                }
            }
        }

        End = PaidStreamEnd.Completed;
    }

    /// <summary>Ends the stream (closing the connection).</summary>
    public void Dispose() => _response.Dispose();

    private async Task<bool> PayAsync(string data, CancellationToken cancellationToken)
    {
        var required = ReadRequiredCumulative(data, ChannelId);
        var next = BigInteger.Max(required, _slot.Channel.HighestSigned);
        if (SpendCap is { } cap && next - _baseline > cap)
        {
            return false;
        }

        await _manager.SendStreamVoucherAsync(_slot, next, _challenge, _context, (signature, cumulative) => PostVoucherAsync(signature, cumulative, cancellationToken), cancellationToken).ConfigureAwait(false);
        return true;
    }

    private async Task PostVoucherAsync(string signature, BigInteger cumulative, CancellationToken cancellationToken)
    {
        var payload = _slot.CanonicalVoucherPayload(cumulative.ToString(CultureInfo.InvariantCulture), signature);
        for (var attempt = 0; ; attempt++)
        {
            var credential = PaymentCredential.FromCanonicalPayload(_challenge, payload, $"did:pkh:eip155:{_slot.Channel.ChainId.ToString(CultureInfo.InvariantCulture)}:{_slot.Channel.Payer}");
            using var request = new HttpRequestMessage(HttpMethod.Post, _voucherUri) { Content = new ByteArrayContent([]) };
            request.WithoutPayment();
            request.Headers.TryAddWithoutValidation(credential.HeaderName, credential.ToHeaderValue());
            using var answer = await _client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (answer.IsSuccessStatusCode)
            {
                VouchersSent++;
                return;
            }

            _manager.CountRejectedVoucher(_slot.Channel);
            var fresh = answer.StatusCode == HttpStatusCode.PaymentRequired && attempt == 0
                ? PaymentChallenge.ParseAll(answer.Headers).Challenges.FirstOrDefault(c => c is { Method: "tempo", Intent: "session" })
                : null;
            if (fresh is null)
            {
                throw new TempoSessionException(ChannelId, $"The server refused the stream's voucher for {cumulative} (HTTP {(int)answer.StatusCode}); the stream ends unpaid beyond that.");
            }

            _challenge = fresh; // like the reference client: once more with the challenge of that 402
        }
    }

    /// <summary>
    /// Reads a <c>payment-need-voucher</c> event's data: the <c>requiredCumulative</c> amount it asks for on
    /// <paramref name="channelId"/>. Anything else (not JSON, another channel, a missing or invalid amount) is a
    /// <see cref="TempoSessionException"/>: the stream is not paid further.
    /// </summary>
    internal static BigInteger ReadRequiredCumulative(string data, string channelId)
    {
        string? channel, amount;
        var utf8 = Encoding.UTF8.GetBytes(data);
        try
        {
            JsonObjectValidator.ValidateObject(utf8, "payment-need-voucher");
            using var document = JsonDocument.Parse(utf8);
            var root = document.RootElement;
            channel = root.TryGetProperty("channelId", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            amount = root.TryGetProperty("requiredCumulative", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
        }
        catch (Exception ex) when (ex is JsonException or MppProtocolException)
        {
            throw new TempoSessionException(channelId, "The server's payment-need-voucher event is not valid JSON with channelId and requiredCumulative; the stream is not paid further.");
        }

        if (!string.Equals(channel, channelId, StringComparison.OrdinalIgnoreCase) || !AssetAmount.TryParseUnits(amount, out var required))
        {
            throw new TempoSessionException(channelId, "The server asked for a voucher on another channel or without a valid requiredCumulative; the stream is not paid further.");
        }

        return required;
    }

    /// <summary>The <c>payment-receipt</c> event's receipt, or <see langword="null"/> when it is not one.</summary>
    internal static PaymentReceipt? ParseReceipt(string data)
    {
        try
        {
            var utf8 = Encoding.UTF8.GetBytes(data);
            JsonObjectValidator.ValidateObject(utf8, "payment-receipt");
            using var document = JsonDocument.Parse(utf8);
            return PaymentReceipt.FromJson(document.RootElement.Clone());
        }
        catch (Exception ex) when (ex is JsonException or MppProtocolException)
        {
            return null;
        }
    }

    /// <summary>
    /// A bounded SSE parser (WHATWG rules: <c>event</c>, <c>data</c>, <c>id</c>, comments, CR/LF/CRLF line ends), linear in
    /// the bytes read. An event (its lines other than comments) larger than 1 MiB is an <see cref="MppProtocolException"/>.
    /// </summary>
    internal static async IAsyncEnumerable<(string Event, string Data, string? Id)> ReadEventsAsync(Stream body, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = new byte[8192];
        var line = new List<byte>(256);
        var data = new StringBuilder();
        string? eventName = null;
        string? id = null;
        var hasData = false;
        var size = 0;
        var lastWasCr = false;
        while (true)
        {
            var read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                yield break; // an event without its blank line at the end is dropped, as the spec says
            }

            for (var i = 0; i < read; i++)
            {
                var b = buffer[i];
                if (b == (byte)'\n' && lastWasCr)
                {
                    lastWasCr = false;
                    continue; // the LF of a CRLF
                }

                lastWasCr = b == (byte)'\r';
                if (b != (byte)'\n' && b != (byte)'\r')
                {
                    if (++size > MaxEventBytes)
                    {
                        throw MppProtocolException.Parse($"A server-sent event is larger than {MaxEventBytes} bytes; the stream was not read further.", "event");
                    }

                    line.Add(b);
                    continue;
                }

                if (line.Count == 0)
                {
                    if (hasData)
                    {
                        yield return (eventName ?? "message", data.ToString(), id);
                    }

                    data.Clear();
                    eventName = null;
                    hasData = false;
                    size = 0;
                    continue;
                }

                if (line[0] == (byte)':')
                {
                    size -= line.Count; // a comment (a keep-alive) does not count towards the event's size
                    line.Clear();
                    continue;
                }

                var text = Encoding.UTF8.GetString([.. line]);
                line.Clear();

                var colon = text.IndexOf(':', StringComparison.Ordinal);
                var field = colon < 0 ? text : text[..colon];
                var value = colon < 0 ? string.Empty : text[(colon + 1)..];
                if (value.StartsWith(' '))
                {
                    value = value[1..];
                }

                switch (field)
                {
                    case "event":
                        eventName = value;
                        break;
                    case "data":
                        if (hasData)
                        {
                            data.Append('\n');
                        }

                        data.Append(value);
                        hasData = true;
                        break;
                    case "id" when !value.Contains('\0', StringComparison.Ordinal):
                        id = value;
                        break;
                }
            }
        }
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Numerics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Mpp.Client.Protocol;
using Mpp.Client.Tempo.Charge;
using Mpp.Client.Tempo.Evm;
using Mpp.Client.Tempo.Sessions;
using Mpp.Client.Tempo.Transactions;

namespace Mpp.Client.Tempo;

/// <summary>
/// Tempo payment channels (sessions, protocol.md §3.3): opens a channel in the escrow on the first paid call of a scope,
/// pays each later call with a cumulative EIP-712 voucher, tops the deposit up, and closes channels cooperatively or,
/// when the server is gone, on chain (request-close, grace period, withdraw). One per process (a singleton).
/// </summary>
/// <remarks>
/// Per channel, vouchers are sequenced: one paid request is in flight at a time (the server only accepts a cumulative
/// amount above the last it accepted, so overlapping vouchers would arrive out of order and be refused), the amount
/// strictly increases and never exceeds the deposit, and the store holds the highest amount before the voucher leaves.
/// </remarks>
public sealed partial class TempoSessionManager : IDisposable, IAsyncDisposable
{
    private const string ZeroAddress = "0x0000000000000000000000000000000000000000";

    private readonly TempoOptions _tempo;
    private readonly TempoSessionOptions _options;
    private readonly IEvmSigner _signer;
    private readonly TempoRpcClient _rpc;
    private readonly HttpClient _http;
    private readonly IChannelStore _store;
    private readonly ISpendLedger _ledger;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<long, long> _chooseValidAfter;
    private readonly Func<byte[]> _newSalt;
    private readonly ConcurrentDictionary<ChannelKey, ChannelSlot> _live = new();
    private readonly ConcurrentDictionary<string, ChannelSlot> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<RouteKey, CachedChallenge> _routes = new();
    private readonly ConcurrentDictionary<string, SessionChannel> _parked = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<RouteKey, IPaymentSideChannel> _sideChannels = new();
    private readonly SemaphoreSlim _openGate = new(1, 1);
    private readonly SemaphoreSlim _loadGate = new(1, 1);
    private readonly HashSet<EvmAddress> _escrows;
    private volatile bool _loaded;
    private long _vouchersSigned;
    private long _vouchersRejected;

    /// <summary>Initializes the manager.</summary>
    /// <param name="tempo">Validated Tempo options (signer, RPC, chain pin).</param>
    /// <param name="options">Validated session options.</param>
    /// <param name="rpcHttpClient">An HttpClient for the chain RPC (without the payment handler).</param>
    /// <param name="serverHttpClient">An HttpClient for management requests to servers (top-up, close), without the payment handler.</param>
    /// <param name="store">The channel store.</param>
    /// <param name="ledger">The budget ledger.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="logger">The logger.</param>
    public TempoSessionManager(TempoOptions tempo, TempoSessionOptions options, HttpClient rpcHttpClient, HttpClient serverHttpClient, IChannelStore store, ISpendLedger ledger, TimeProvider timeProvider, ILogger<TempoSessionManager> logger)
        : this(tempo, options, rpcHttpClient, serverHttpClient, store, ledger, timeProvider, logger, TempoChargeMethod.RandomPastSecond, () => RandomNumberGenerator.GetBytes(32))
    {
    }

    internal TempoSessionManager(TempoOptions tempo, TempoSessionOptions options, HttpClient rpcHttpClient, HttpClient serverHttpClient, IChannelStore store, ISpendLedger ledger, TimeProvider timeProvider, ILogger logger, Func<long, long> chooseValidAfter, Func<byte[]> newSalt)
    {
        ArgumentNullException.ThrowIfNull(tempo);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rpcHttpClient);
        ArgumentNullException.ThrowIfNull(serverHttpClient);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _tempo = tempo;
        _options = options;
        _signer = tempo.Signer ?? throw new PaymentConfigurationException("Tempo: a Signer is required.");
        _rpc = new TempoRpcClient(rpcHttpClient, tempo.RpcUrl ?? throw new PaymentConfigurationException("Tempo: RpcUrl is required."), tempo.RpcTimeout, tempo.RpcRetries, timeProvider);
        _http = serverHttpClient;
        _store = store;
        _ledger = ledger;
        _time = timeProvider;
        _logger = logger;
        _chooseValidAfter = chooseValidAfter;
        _newSalt = newSalt;
        _escrows = [SessionRequest.CanonicalEscrow, .. options.AllowedEscrows.Select(EvmAddress.Parse)];
    }

    /// <summary>The session instruments (set by <c>AddTempoSessions()</c>); none when the manager is built by hand.</summary>
    internal SessionMetrics? Metrics { get; init; }

    /// <summary>Gets how many vouchers this manager has signed (open, voucher and close credentials).</summary>
    public long VouchersSigned => Interlocked.Read(ref _vouchersSigned);

    /// <summary>Gets how many voucher-carrying requests the servers refused (any 4xx). None is ever retried silently.</summary>
    public long VouchersRejected => Interlocked.Read(ref _vouchersRejected);

    /// <summary>Gets the channels in use by this process (open ones and those waiting to be closed or reconciled).</summary>
    /// <returns>A snapshot.</returns>
    public IReadOnlyList<SessionChannel> GetChannels()
        => [.. _byId.Values.Select(s => s.Channel), .. _parked.Values.Where(p => !_byId.ContainsKey(p.ChannelId))];

    /// <summary>
    /// Loads the store and checks each remembered channel against the chain: open channels become usable again (with the
    /// higher of the stored and the on-chain settled amount as the voucher floor), channels closed meanwhile settle the
    /// budget, opens that never landed release their deposit reservation.
    /// </summary>
    /// <param name="cancellationToken">Cancels the recovery.</param>
    /// <returns>The channels after recovery.</returns>
    public async Task<IReadOnlyList<SessionChannel>> RecoverAsync(CancellationToken cancellationToken = default)
    {
        await EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
        foreach (var parked in _parked.Values.ToList())
        {
            var parkedSlot = SlotFor(parked);
            parkedSlot.Evicted = true;
            if (!await LeaseAsync(parkedSlot, wait: false, cancellationToken).ConfigureAwait(false))
            {
                continue; // another process works on it
            }

            try
            {
                await ReconcileAsync(parkedSlot, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await ReturnLeaseAsync(parkedSlot).ConfigureAwait(false);
            }
        }

        foreach (var slot in _byId.Values.ToList())
        {
            await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (!await LeaseAsync(slot, wait: false, cancellationToken).ConfigureAwait(false))
                {
                    continue; // in use by another process
                }

                if (slot.Channel.State == SessionChannelState.Closed)
                {
                    _byId.TryRemove(slot.Channel.ChannelId, out _); // closed by another process meanwhile
                    continue;
                }

                var onChain = await ReadChannelAsync(slot, cancellationToken).ConfigureAwait(false);
                if (onChain.Deposit.IsZero)
                {
                    Evict(slot);
                    await ReconcileAsync(slot, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                var channel = slot.Channel;
                var floor = BigInteger.Max(channel.HighestSigned, onChain.Settled);
                if (floor != channel.HighestSigned || onChain.Deposit != channel.Deposit || onChain.CloseRequestedAt != channel.CloseRequestedAt)
                {
                    // The chain is the authority for deposit and settlement; a receipt never raises what we signed.
                    slot.Channel = channel with { HighestSigned = floor, Deposit = onChain.Deposit, CloseRequestedAt = onChain.CloseRequestedAt, State = onChain.CloseRequestedAt != 0 ? SessionChannelState.CloseRequested : channel.State };
                    await _store.SaveAsync(slot.Channel, cancellationToken).ConfigureAwait(false);
                    if (onChain.CloseRequestedAt != 0)
                    {
                        Evict(slot);
                        _parked[channel.ChannelId] = slot.Channel;
                    }
                }
            }
            finally
            {
                await ReturnLeaseAsync(slot).ConfigureAwait(false);
                slot.Gate.Release();
            }
        }

        return GetChannels();
    }

    /// <summary>
    /// Closes a channel cooperatively: waits for its in-flight request, sends the final voucher in a <c>close</c>
    /// credential, and reads the escrow's <c>ChannelClosed</c> event to learn the payee's settlement and the refund;
    /// the budget keeps the settlement and gets the refund back.
    /// </summary>
    /// <param name="channelId">The channel id.</param>
    /// <param name="cancellationToken">Cancels the close.</param>
    /// <returns>The close, as the chain recorded it.</returns>
    /// <exception cref="MppException">The server refused or did not answer; use <see cref="ForceCloseAsync"/>.</exception>
    public async Task<ChannelCloseResult> CloseAsync(string channelId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channelId);
        await EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
        if (!_byId.TryGetValue(channelId.ToLowerInvariant(), out var slot))
        {
            throw new ArgumentException($"No open channel {channelId} is held by this process.", nameof(channelId));
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.CloseTimeout);
        await slot.Gate.WaitAsync(timeout.Token).ConfigureAwait(false);
        try
        {
            await HoldLeaseAsync(slot, timeout.Token).ConfigureAwait(false);

            // The session challenge in use on the channel's route is echoed by the close (taken before eviction forgets it).
            var route = new RouteKey(slot.Channel.Scope, slot.Channel.Origin, slot.Channel.ResourcePath);
            var inUse = _routes.TryGetValue(route, out var cached) ? cached.Challenge : _routes.Values.FirstOrDefault(r => ReferenceEquals(r.Slot, slot))?.Challenge;
            Evict(slot);
            var channel = slot.Channel with { State = SessionChannelState.Closing };
            slot.Channel = channel;
            await _store.SaveAsync(channel, CancellationToken.None).ConfigureAwait(false);
            var signature = await SignVoucherAsync(slot, channel.HighestSigned, timeout.Token).ConfigureAwait(false);
            var payload = new JsonObject
            {
                ["action"] = "close",
                ["channelId"] = channel.ChannelId,
                ["descriptor"] = slot.Descriptor.ToJson(),
                ["cumulativeAmount"] = Text(channel.HighestSigned),
                ["signature"] = signature,
            };
            using var answer = await SendManagementAsync(route, slot, payload, timeout.Token, inUse).ConfigureAwait(false);
            if (!answer.IsSuccessStatusCode)
            {
                _parked[channel.ChannelId] = channel;
                throw new TempoSessionException(channel.ChannelId, $"The server answered HTTP {(int)answer.StatusCode} to the close of channel {channel.ChannelId}; the deposit stays locked until a close succeeds. ForceCloseAsync recovers it without the server.");
            }

            var receipt = answer.Headers.TryGetValues(MppHeaderNames.PaymentReceipt, out var values) && PaymentReceipt.TryParse(values.FirstOrDefault(), out var parsed) ? parsed : null;
            var txHash = receipt is not null && receipt.TryGetMember("txHash", out var hash) && hash.ValueKind == JsonValueKind.String ? hash.GetString() : null;
            if (txHash is null)
            {
                _parked[channel.ChannelId] = channel;
                throw new TempoSessionException(channel.ChannelId, $"The server accepted the close of channel {channel.ChannelId} but named no transaction; RecoverAsync checks the chain later.");
            }

            var closed = await ReadClosedEventAsync(txHash, slot, timeout.Token).ConfigureAwait(false);
            return await FinishCloseAsync(channel, closed, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await ReturnLeaseAsync(slot).ConfigureAwait(false);
            slot.Gate.Release();
        }
    }

    /// <summary>Closes every open channel of this process cooperatively; failures are returned, not thrown.</summary>
    /// <param name="cancellationToken">Cancels the closes.</param>
    /// <returns>One result per channel: the close, or the error.</returns>
    public async Task<IReadOnlyList<(string ChannelId, ChannelCloseResult? Result, Exception? Error)>> CloseAllAsync(CancellationToken cancellationToken = default)
    {
        await EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
        var results = new List<(string, ChannelCloseResult?, Exception?)>();
        foreach (var id in _byId.Keys.ToList())
        {
            try
            {
                results.Add((id, await CloseAsync(id, cancellationToken).ConfigureAwait(false), null));
            }
            catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                // One channel's failure (a gone side channel, a broken server) never keeps the others from closing.
                LogCloseFailed(_logger, ex, id);
                results.Add((id, null, ex));
            }
        }

        return results;
    }

    /// <summary>
    /// Starts a forced close without the server: sends <c>requestClose(descriptor)</c> to the escrow. The deposit can be
    /// withdrawn <see cref="Escrow.CloseGracePeriodSeconds">900 s</see> of chain time later with <see cref="WithdrawAsync"/>.
    /// </summary>
    /// <param name="channelId">The channel id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The chain time (unix seconds) from which the withdrawal is possible.</returns>
    public async Task<long> RequestCloseAsync(string channelId, CancellationToken cancellationToken = default)
    {
        var slot = await FindAnyAsync(channelId, cancellationToken).ConfigureAwait(false);
        await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await HoldLeaseAsync(slot, cancellationToken).ConfigureAwait(false);
            Evict(slot);
            var onChain = await ReadChannelAsync(slot, cancellationToken).ConfigureAwait(false);
            if (onChain.Deposit.IsZero)
            {
                throw new TempoSessionException(channelId, $"The channel {channelId} holds no deposit on chain (closed already, or never opened); RecoverAsync settles its record.");
            }

            if (onChain.CloseRequestedAt == 0)
            {
                await SendOwnTransactionAsync(slot, Escrow.RequestClose(slot.Descriptor), cancellationToken).ConfigureAwait(false);
                onChain = await ReadChannelAsync(slot, cancellationToken).ConfigureAwait(false);
            }

            slot.Channel = slot.Channel with { State = SessionChannelState.CloseRequested, CloseRequestedAt = onChain.CloseRequestedAt, Deposit = onChain.Deposit };
            await _store.SaveAsync(slot.Channel, CancellationToken.None).ConfigureAwait(false);
            _parked[slot.Channel.ChannelId] = slot.Channel;
            return onChain.CloseRequestedAt + Escrow.CloseGracePeriodSeconds;
        }
        finally
        {
            await ReturnLeaseAsync(slot).ConfigureAwait(false);
            slot.Gate.Release();
        }
    }

    /// <summary>Withdraws the unsettled deposit of a channel whose close was requested and whose grace period has passed on chain.</summary>
    /// <param name="channelId">The channel id.</param>
    /// <param name="cancellationToken">Cancels the withdrawal.</param>
    /// <returns>The close, as the chain recorded it.</returns>
    /// <exception cref="MppException">No close was requested, or the grace period has not passed on chain yet.</exception>
    public async Task<ChannelCloseResult> WithdrawAsync(string channelId, CancellationToken cancellationToken = default)
    {
        var slot = await FindAnyAsync(channelId, cancellationToken).ConfigureAwait(false);
        await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await HoldLeaseAsync(slot, cancellationToken).ConfigureAwait(false);
            var onChain = await ReadChannelAsync(slot, cancellationToken).ConfigureAwait(false);
            if (onChain.Deposit.IsZero)
            {
                throw new TempoSessionException(channelId, $"The channel {channelId} holds no deposit on chain; nothing to withdraw.");
            }

            var head = await ChainTimeAsync(cancellationToken).ConfigureAwait(false);
            if (onChain.CloseRequestedAt == 0 || head < onChain.CloseRequestedAt + Escrow.CloseGracePeriodSeconds)
            {
                throw new TempoSessionException(channelId, onChain.CloseRequestedAt == 0
                    ? $"No close was requested for channel {channelId}; call RequestCloseAsync first."
                    : $"The grace period of channel {channelId} ends at chain time {onChain.CloseRequestedAt + Escrow.CloseGracePeriodSeconds}; the chain is at {head}.");
            }

            var receipt = await SendOwnTransactionAsync(slot, Escrow.Withdraw(slot.Descriptor), cancellationToken).ConfigureAwait(false);
            var closed = Escrow.FindChannelClosed(receipt, EvmAddress.Parse(slot.Channel.Escrow), slot.Channel.ChannelId)
                ?? throw new TempoSessionException(channelId, $"The withdraw transaction of channel {channelId} emitted no ChannelClosed event.");
            return await FinishCloseAsync(slot.Channel, closed, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await ReturnLeaseAsync(slot).ConfigureAwait(false);
            slot.Gate.Release();
        }
    }

    /// <summary>Forced close in one call: request the close, wait out the grace period (by chain time, polling the chain), withdraw.</summary>
    /// <param name="channelId">The channel id.</param>
    /// <param name="pollInterval">How often to look at the chain while waiting; by default 30 seconds.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The close.</returns>
    public async Task<ChannelCloseResult> ForceCloseAsync(string channelId, TimeSpan? pollInterval = null, CancellationToken cancellationToken = default)
    {
        var readyAt = await RequestCloseAsync(channelId, cancellationToken).ConfigureAwait(false);
        var interval = pollInterval ?? TimeSpan.FromSeconds(30);
        while (true)
        {
            var head = await ChainTimeAsync(cancellationToken).ConfigureAwait(false);
            if (head >= readyAt)
            {
                return await WithdrawAsync(channelId, cancellationToken).ConfigureAwait(false);
            }

            var wait = TimeSpan.FromSeconds(Math.Min(readyAt - head, (long)Math.Ceiling(interval.TotalSeconds)));
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends a request for a server-sent-event stream billed per chunk through the client's payment handler (which opens
    /// or reuses a channel) and returns the stream; enumerating it answers the server's voucher requests.
    /// </summary>
    /// <param name="client">An HttpClient with <c>AddMppPayments()</c>.</param>
    /// <param name="request">The request (its <c>Accept</c> becomes <c>text/event-stream</c> when unset).</param>
    /// <param name="maxSpend">The most the stream may cost in whole tokens (the first unit included); <see langword="null"/> for no cap beyond the budget.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The stream; dispose it to end it early.</returns>
    /// <exception cref="TempoSessionException">The server answered without a stream, or the stream was not paid through a session.</exception>
    public async Task<PaidEventStream> StreamAsync(HttpClient client, HttpRequestMessage request, decimal? maxSpend = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Headers.Accept.Count == 0)
        {
            request.Headers.Accept.ParseAdd("text/event-stream");
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var details = response.GetPaymentDetails();
        if (!response.IsSuccessStatusCode || details?.Quote?.MethodState is not SessionTicket { Slot: { } slot, Context: { } context } || details.Challenge is null)
        {
            var status = (int)response.StatusCode;
            response.Dispose();
            throw new TempoSessionException(string.Empty, $"The stream request answered HTTP {status} {(details?.IsPaid == true ? "paid by another method" : "without a session payment")}; nothing to stream.");
        }

        return new PaidEventStream(this, client, response, slot, details.Challenge, context, details.Quote.Amount.Units, maxSpend is { } cap ? Units(cap) : null);
    }

    /// <summary>Releases the channel store (and with it the file locks on channels this process held).</summary>
    public void Dispose()
    {
        if (_store is IDisposable disposable)
        {
            disposable.Dispose();
        }

        _openGate.Dispose();
        _loadGate.Dispose();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    // ---------------------------------------------------------------- the payment path (used by TempoSessionMethod)

    internal async ValueTask<PaymentQuote> QuoteAsync(PaymentChallenge challenge, PaymentContext context, CancellationToken cancellationToken)
    {
        var request = SessionRequest.Read(challenge);
        if (_tempo.ChainId is { } pinned && pinned != request.ChainId)
        {
            throw new PaymentDeniedException("tempo.chain", $"The challenge is for chain {request.ChainId}; this client is pinned to chain {pinned}.");
        }

        if (!_escrows.Contains(request.Escrow))
        {
            throw new PaymentDeniedException("tempo.escrow", $"The escrow {request.Escrow} is not the canonical channel escrow and not in AllowedEscrows; deposits go only to a trusted escrow.");
        }

        if (_tempo.AllowedCurrencies.Count > 0 && !_tempo.AllowedCurrencies.Any(c => EvmAddress.Parse(c) == request.Currency))
        {
            throw new PaymentDeniedException("tempo.currency", $"The token {request.Currency} is not in AllowedCurrencies.");
        }

        await EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
        var asset = AssetId.Token(request.ChainId, request.Currency.Lower);
        var key = ChannelKey.For(context, request);
        var route = RouteKey.For(context);
        RememberSideChannel(route, context);
        var price = new AssetAmount(asset, request.Increment);
        if (!_live.ContainsKey(key) && _openGate.CurrentCount == 0)
        {
            // A channel is being opened: wait for it rather than budget a second deposit that would be released at once.
            await _openGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            _openGate.Release();
        }

        if (_live.TryGetValue(key, out var slot) || (slot = await AdoptAsync(key, cancellationToken).ConfigureAwait(false)) is not null)
        {
            return new PaymentQuote(challenge, price, [request.Recipient.ToString()], chainId: request.ChainId, prefunded: true)
            {
                MethodState = new SessionTicket(request, key, route, slot, Opening: false),
            };
        }

        var deposit = await ChooseDepositAsync(request, request.SuggestedDeposit, BigInteger.Zero, context, cancellationToken).ConfigureAwait(false);
        return new PaymentQuote(challenge, price, [request.Recipient.ToString()], new AssetAmount(asset, deposit), request.ChainId)
        {
            MethodState = new SessionTicket(request, key, route, null, Opening: true) { Deposit = deposit },
        };
    }

    internal async ValueTask<PaymentCredential> CreateCredentialAsync(PaymentQuote quote, PaymentContext context, CancellationToken cancellationToken)
    {
        var ticket = quote.MethodState as SessionTicket ?? throw new ArgumentException("The quote was not made by the Tempo session method.", nameof(quote));
        ticket.Context = context;
        if (ticket.Opening)
        {
            await _openGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            ticket.HoldsOpenGate = true;
            if (_live.TryGetValue(ticket.Key, out var opened))
            {
                // Another call opened a channel for this scope while we waited: pay from it; the deposit reservation is released at settlement.
                ReleaseOpenGate(ticket);
                ticket.Slot = opened;
                ticket.Opening = false;
                ticket.OpenSuperseded = true;
            }
        }

        try
        {
            if (ticket.Opening)
            {
                return await OpenAsync(quote.Challenge, ticket, context, cancellationToken).ConfigureAwait(false);
            }

            var slot = ticket.Slot!;
            if (!ticket.HoldsSlotGate)
            {
                await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                ticket.HoldsSlotGate = true;
            }

            if (!await LeaseAsync(slot, wait: true, cancellationToken).ConfigureAwait(false))
            {
                throw new PaymentDeniedException("tempo.channel-busy", $"The channel {slot.Channel.ChannelId} stayed leased by another process for LeaseWaitTimeout ({_options.LeaseWaitTimeout}); nothing was signed.");
            }

            if (slot.Evicted)
            {
                throw new PaymentDeniedException("tempo.session-closed", $"The channel {slot.Channel.ChannelId} was closed while this request waited for it; retry the request to open a new one.");
            }

            return await NextVoucherAsync(quote.Challenge, ticket, context, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelLeaseException ex)
        {
            // Another process took the channel over (this one's lease expired): nothing was signed; the next call opens or adopts another.
            if (ticket.Slot is { } lost)
            {
                lost.Leased = false;
                Evict(lost);
            }

            await ReleaseGatesAsync(ticket).ConfigureAwait(false);
            throw new PaymentDeniedException("tempo.channel-busy", ex.Message);
        }
        catch
        {
            await ReleaseGatesAsync(ticket).ConfigureAwait(false);
            throw;
        }
    }

    internal async ValueTask<PaymentQuote?> TryPrepayAsync(PaymentContext context, CancellationToken cancellationToken)
    {
        var route = RouteKey.For(context);
        if (!_routes.TryGetValue(route, out var cached))
        {
            return null;
        }

        RememberSideChannel(route, context);

        if (cached.Challenge.IsExpired(_time.GetUtcNow(), TimeSpan.FromSeconds(5)) || cached.Slot.Evicted)
        {
            _routes.TryRemove(new KeyValuePair<RouteKey, CachedChallenge>(cached.Route, cached));
            return null;
        }

        // The channel is held from here until the settlement, so this call's voucher is the next one the server sees.
        var slot = cached.Slot;
        await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        bool usable;
        try
        {
            usable = !slot.Evicted && await LeaseAsync(slot, wait: _options.Sharing == ChannelSharing.Shared, cancellationToken).ConfigureAwait(false) && !slot.Evicted;
        }
        catch
        {
            slot.Gate.Release();
            throw;
        }

        if (!usable)
        {
            await ReturnLeaseAsync(slot).ConfigureAwait(false);
            slot.Gate.Release();
            return null;
        }

        var asset = AssetId.Token(cached.Request.ChainId, cached.Request.Currency.Lower);
        var ticket = new SessionTicket(cached.Request, slot.Key, cached.Route, slot, Opening: false) { Context = context, HoldsSlotGate = true };
        return new PaymentQuote(cached.Challenge, new AssetAmount(asset, cached.Request.Increment), [cached.Request.Recipient.ToString()], chainId: cached.Request.ChainId, prefunded: true) { MethodState = ticket };
    }

    internal async ValueTask OnSettledAsync(PaymentSettlement settlement)
    {
        if (settlement.Quote.MethodState is not SessionTicket ticket)
        {
            return;
        }

        try
        {
            if (ticket.Opening)
            {
                await SettleOpenAsync(settlement, ticket).ConfigureAwait(false);
                return;
            }

            if (ticket.OpenSuperseded && settlement.Reservation is { } unused)
            {
                await _ledger.ReleaseAsync(unused, CancellationToken.None).ConfigureAwait(false);
            }

            var slot = ticket.Slot!;
            switch (settlement.Outcome)
            {
                case PaymentOutcome.Settled:
                    AbsorbReceipt(slot, settlement.Receipt);
                    Remember(ticket, settlement.Quote.Challenge);
                    break;
                case PaymentOutcome.Rejected:
                    CountRejectedVoucher(slot.Channel);
                    _routes.TryRemove(ticket.Route, out _);
                    LogVoucherRejected(_logger, slot.Channel.ChannelId, settlement.StatusCode ?? 0, settlement.Problem?.Type ?? "(no problem details)");
                    if (settlement.Problem?.Type is PaymentProblemTypes.SessionChannelNotFound or PaymentProblemTypes.SessionChannelFinalized)
                    {
                        // The server no longer knows the channel: stop using it; its deposit is recovered on chain (RecoverAsync / ForceCloseAsync).
                        Evict(slot);
                        slot.Channel = slot.Channel with { State = SessionChannelState.Closing };
                        _parked[slot.Channel.ChannelId] = slot.Channel;
                        await _store.SaveAsync(slot.Channel, CancellationToken.None).ConfigureAwait(false);
                    }

                    break;
                default:
                    break; // unknown or not sent: the signed amount is already the floor
            }
        }
        finally
        {
            await ReleaseGatesAsync(ticket).ConfigureAwait(false);
        }
    }

    internal void CountRejectedVoucher(SessionChannel channel)
    {
        Interlocked.Increment(ref _vouchersRejected);
        Metrics?.VoucherRejected(channel);
    }

    internal bool TryGetSlot(string channelId, out ChannelSlot slot) => _byId.TryGetValue(channelId, out slot!);

    /// <summary>
    /// Signs the next voucher of a streaming response (at least <paramref name="required"/>) and sends it with
    /// <paramref name="send"/> while still holding the channel, so no other request's voucher can overtake it.
    /// </summary>
    internal async ValueTask SendStreamVoucherAsync(ChannelSlot slot, BigInteger required, PaymentChallenge challenge, PaymentContext context, Func<string, BigInteger, Task> send, CancellationToken cancellationToken)
    {
        await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await HoldLeaseAsync(slot, cancellationToken).ConfigureAwait(false);
            var channel = slot.Channel;
            var next = BigInteger.Max(required, channel.HighestSigned);
            if (next > channel.Deposit)
            {
                await TopUpAsync(slot, SessionRequest.Read(challenge), challenge, next - channel.Deposit, context, cancellationToken).ConfigureAwait(false);
            }

            var signature = await SignPersistedAsync(slot, next, cancellationToken).ConfigureAwait(false);
            await send(signature, next).ConfigureAwait(false);
        }
        finally
        {
            await ReturnLeaseAsync(slot).ConfigureAwait(false);
            slot.Gate.Release();
        }
    }

    // ---------------------------------------------------------------- internals

    private async Task<PaymentCredential> OpenAsync(PaymentChallenge challenge, SessionTicket ticket, PaymentContext context, CancellationToken cancellationToken)
    {
        var request = ticket.Request;
        var deposit = ticket.Deposit;
        var salt = _newSalt();
        var payer = _signer.Address;
        var call = new TempoCall(request.Escrow, 0, Escrow.Open(request.Recipient, request.Operator, request.Currency, deposit, salt, payer));
        var (transaction, validBefore) = await BuildTransactionAsync(request.ChainId, request.FeeToken ?? request.Currency, request.FeePayer, call, cancellationToken).ConfigureAwait(false);
        var expiringNonceHash = Keccak.Hash([.. transaction.EncodeForSigning(), .. payer.ToBytes()]);
        var descriptor = new ChannelDescriptor(payer, request.RecipientText, request.OperatorText, request.CurrencyText, salt, payer, expiringNonceHash);
        var channelIdBytes = descriptor.ChannelId(request.Escrow, request.ChainId);
        var channelId = Hex.Encode(channelIdBytes);
        var first = request.Increment;
        if (first > deposit)
        {
            throw new PaymentDeniedException("tempo.deposit", $"One unit costs {first}, more than the deposit {deposit} this client may lock.");
        }

        var now = _time.GetUtcNow();
        var channel = new SessionChannel
        {
            ChannelId = channelId,
            Scope = ticket.Key.Scope,
            Origin = ticket.Key.Origin,
            ResourcePath = ticket.Route.Path,
            ChainId = request.ChainId,
            Escrow = request.Escrow.Lower,
            Payer = payer.ToString(),
            Payee = request.RecipientText,
            Operator = request.OperatorText,
            Token = request.CurrencyText,
            Salt = Hex.Encode(salt),
            AuthorizedSigner = payer.ToString(),
            ExpiringNonceHash = Hex.Encode(expiringNonceHash),
            Deposit = deposit,
            HighestSigned = first,
            State = SessionChannelState.Opening,
            PendingValidBefore = validBefore,
            CreatedAt = now,
            LastUsedAt = now,
        };
        var slot = new ChannelSlot(ticket.Key, descriptor, channelIdBytes, new Voucher(request.ChainId, request.Escrow), channel);
        await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        ticket.Slot = slot;
        ticket.HoldsSlotGate = true;

        // The record (with the voucher amount) is durable before the open leaves: a crash leaves a channel RecoverAsync can find.
        // A new channel is stored leased to this process.
        await _store.SaveAsync(channel, cancellationToken).ConfigureAwait(false);
        slot.Leased = true;
        var signature = await SignVoucherAsync(slot, first, cancellationToken).ConfigureAwait(false);
        var txSignature = await _signer.SignHashAsync(transaction.SigningHash(), cancellationToken).ConfigureAwait(false);
        // Members in the reference client's order, so the credential is byte-identical to mppx's.
        var payload = new JsonObject
        {
            ["action"] = "open",
            ["type"] = "transaction",
            ["channelId"] = channelId,
            ["transaction"] = Hex.Encode(transaction.Serialize(txSignature, payer)),
            ["signature"] = signature,
            ["descriptor"] = descriptor.ToJson(),
            ["cumulativeAmount"] = Text(first),
            ["authorizedSigner"] = payer.ToString(),
        };
        LogOpening(_logger, channelId, deposit.ToString(CultureInfo.InvariantCulture), context.Host);
        return new PaymentCredential(challenge, JsonSerializer.SerializeToElement(payload), Source(request.ChainId));
    }

    private async Task<PaymentCredential> NextVoucherAsync(PaymentChallenge challenge, SessionTicket ticket, PaymentContext context, CancellationToken cancellationToken)
    {
        var slot = ticket.Slot!;
        var request = ticket.Request;
        var next = slot.Channel.HighestSigned + request.Increment;
        if (next > slot.Channel.Deposit)
        {
            await TopUpAsync(slot, request, challenge, next - slot.Channel.Deposit, context, cancellationToken).ConfigureAwait(false);
        }

        var signature = await SignPersistedAsync(slot, next, cancellationToken).ConfigureAwait(false);
        return PaymentCredential.FromCanonicalPayload(challenge, slot.CanonicalVoucherPayload(Text(next), signature), Source(request.ChainId));
    }

    /// <summary>Persists <paramref name="cumulative"/> as the channel's highest amount, then signs it (in that order: design.md §4.4).</summary>
    private async ValueTask<string> SignPersistedAsync(ChannelSlot slot, BigInteger cumulative, CancellationToken cancellationToken)
    {
        var channel = slot.Channel;
        if (cumulative < channel.HighestSigned || cumulative > channel.Deposit)
        {
            throw new InvalidOperationException($"Voucher sequencing broke: {cumulative} is below the signed {channel.HighestSigned} or above the deposit {channel.Deposit}.");
        }

        if (cumulative > channel.HighestSigned)
        {
            slot.Channel = channel with { HighestSigned = cumulative, LastUsedAt = _time.GetUtcNow() };
            await _store.SaveAsync(slot.Channel, cancellationToken).ConfigureAwait(false);
        }

        return await SignVoucherAsync(slot, cumulative, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<string> SignVoucherAsync(ChannelSlot slot, BigInteger cumulative, CancellationToken cancellationToken)
    {
        var digest = slot.VoucherDomain.Digest(slot.ChannelIdBytes, cumulative);
        var signature = await _signer.SignHashAsync(digest, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _vouchersSigned);
        Metrics?.VoucherSigned(slot.Channel);
        return Hex.Encode(signature.ToRsv());
    }

    private async Task TopUpAsync(ChannelSlot slot, SessionRequest request, PaymentChallenge challenge, BigInteger shortfall, PaymentContext context, CancellationToken cancellationToken)
    {
        var channel = slot.Channel;
        var additional = await ChooseDepositAsync(request, request.SuggestedDeposit, channel.Deposit, context, cancellationToken).ConfigureAwait(false);
        additional = BigInteger.Max(additional, shortfall);
        if (channel.Deposit + additional > MaxDepositUnits)
        {
            throw new PaymentDeniedException("tempo.max-deposit", $"The channel {channel.ChannelId} holds {channel.Deposit}; topping up {additional} would pass MaxDeposit ({MaxDepositUnits}). Close it (CloseAsync) to start a new one.");
        }

        var asset = AssetId.Token(request.ChainId, request.Currency.Lower);
        var limit = context.FindLimit(asset) ?? throw new PaymentDeniedException("budget.no-limit", $"No budget limit is configured for {asset}, so no deposit is locked in it.");
        var reserved = await _ledger.TryReserveAsync(new SpendRequest(context.BudgetScope, context.Host, new AssetAmount(asset, additional), request.Increment, limit, "topUp:" + channel.ChannelId), cancellationToken).ConfigureAwait(false);
        if (!reserved.Succeeded)
        {
            throw new PaymentDeniedException(reserved.Rule, $"The channel {channel.ChannelId} needs a top-up of {additional}, which the budget refuses: {reserved.Reason}");
        }

        var call = new TempoCall(request.Escrow, 0, Escrow.TopUp(slot.Descriptor, additional));
        TempoTransaction transaction;
        long validBefore;
        try
        {
            (transaction, validBefore) = await BuildTransactionAsync(request.ChainId, request.FeeToken ?? request.Currency, request.FeePayer, call, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await _ledger.ReleaseAsync(reserved.Reservation, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        // The reservation belongs to the channel before the transaction leaves: a crash keeps it counted.
        slot.Channel = channel with { Reservations = [.. channel.Reservations, ChannelReservation.From(reserved.Reservation)], PendingValidBefore = validBefore };
        await _store.SaveAsync(slot.Channel, CancellationToken.None).ConfigureAwait(false);
        var txSignature = await _signer.SignHashAsync(transaction.SigningHash(), cancellationToken).ConfigureAwait(false);
        var payload = new JsonObject
        {
            ["action"] = "topUp",
            ["type"] = "transaction",
            ["channelId"] = channel.ChannelId,
            ["transaction"] = Hex.Encode(transaction.Serialize(txSignature, _signer.Address)),
            ["descriptor"] = slot.DescriptorJson(),
            ["additionalDeposit"] = Text(additional),
        };
        LogTopUp(_logger, channel.ChannelId, additional.ToString(CultureInfo.InvariantCulture));
        HttpResponseMessage? answer = null;
        try
        {
            answer = await SendManagementAsync(new RouteKey(channel.Scope, channel.Origin, context.RoutePath), slot, payload, cancellationToken, challenge).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Whatever failed (HTTP, or a side channel's MCP/JSON/disposed error), the transaction was handed over: the
            // chain says whether the deposit grew, so a second top-up is never signed for the same shortfall.
            LogTopUpUnanswered(_logger, ex, channel.ChannelId);
        }

        using (answer)
        {
            if (answer?.IsSuccessStatusCode == true)
            {
                slot.Channel = slot.Channel with { Deposit = channel.Deposit + additional };
                await _store.SaveAsync(slot.Channel, CancellationToken.None).ConfigureAwait(false);
                Metrics?.Deposit(channel, additional, "topUp");
                return;
            }
        }

        // Refused or unanswered: the chain says whether the deposit grew (the server may have broadcast the transaction).
        var onChain = await ReadChannelAsync(slot, CancellationToken.None).ConfigureAwait(false);
        if (onChain.Deposit >= channel.Deposit + additional)
        {
            slot.Channel = slot.Channel with { Deposit = onChain.Deposit };
            await _store.SaveAsync(slot.Channel, CancellationToken.None).ConfigureAwait(false);
            Metrics?.Deposit(channel, onChain.Deposit - channel.Deposit, "topUp");
            return;
        }

        throw new PaymentOutcomeUnknownException(
            $"The top-up of channel {channel.ChannelId} by {additional} was not confirmed (HTTP {(answer is null ? "no answer" : ((int)answer.StatusCode).ToString(CultureInfo.InvariantCulture))}); its reservation stays counted until RecoverAsync sees the chain.",
            Guid.Empty,
            challenge.Id,
            null);
    }

    private async Task SettleOpenAsync(PaymentSettlement settlement, SessionTicket ticket)
    {
        var slot = ticket.Slot;
        if (slot is null)
        {
            if (settlement.Reservation is { } nothingOpened)
            {
                await _ledger.ReleaseAsync(nothingOpened, CancellationToken.None).ConfigureAwait(false);
            }

            return;
        }

        var channel = slot.Channel;
        if (settlement.Reservation is { } reservation)
        {
            channel = channel with { Reservations = [.. channel.Reservations, ChannelReservation.From(reservation)] };
        }

        switch (settlement.Outcome)
        {
            case PaymentOutcome.Settled:
                slot.Channel = channel with { State = SessionChannelState.Open, PendingValidBefore = 0 };
                await _store.SaveAsync(slot.Channel, CancellationToken.None).ConfigureAwait(false);
                AbsorbReceipt(slot, settlement.Receipt);
                _live[slot.Key] = slot;
                _byId[channel.ChannelId] = slot;
                Remember(ticket, settlement.Quote.Challenge);
                LogOpened(_logger, channel.ChannelId);
                Metrics?.Deposit(channel, channel.Deposit, "open");
                break;
            case PaymentOutcome.NotSent:
                slot.Evicted = true;
                slot.Channel = channel with { State = SessionChannelState.Closed, SettledToPayee = 0, RefundedToPayer = 0 };
                await _store.SaveAsync(slot.Channel, CancellationToken.None).ConfigureAwait(false);
                break;
            default:
                // Refused or unanswered: the server may still have broadcast the open. Keep the deposit counted and let
                // RecoverAsync ask the chain (deposit > 0: usable; none after validBefore: release it).
                CountRejectedVoucher(channel);
                slot.Evicted = true;
                slot.Channel = channel;
                _parked[channel.ChannelId] = channel;
                await _store.SaveAsync(channel, CancellationToken.None).ConfigureAwait(false);
                LogOpenRefused(_logger, channel.ChannelId, settlement.StatusCode ?? 0, settlement.Problem?.Type ?? "(no problem details)");
                break;
        }
    }

    private async Task ReconcileAsync(ChannelSlot slot, CancellationToken cancellationToken)
    {
        var channel = slot.Channel;
        if (channel.State == SessionChannelState.Closed)
        {
            _parked.TryRemove(channel.ChannelId, out _);
            return;
        }

        var onChain = await ReadChannelAsync(slot, cancellationToken).ConfigureAwait(false);
        if (!onChain.Deposit.IsZero)
        {
            if (channel.State is SessionChannelState.Opening && onChain.CloseRequestedAt == 0)
            {
                // The open landed although the server refused or never answered: a usable channel.
                slot.Channel = channel with { State = SessionChannelState.Open, Deposit = onChain.Deposit, HighestSigned = BigInteger.Max(channel.HighestSigned, onChain.Settled), PendingValidBefore = 0 };
                await _store.SaveAsync(slot.Channel, cancellationToken).ConfigureAwait(false);
                _parked.TryRemove(channel.ChannelId, out _);
                if (_live.TryAdd(slot.Key, slot))
                {
                    slot.Evicted = false;
                    _byId[channel.ChannelId] = slot;
                }
            }

            return; // still locked: closing, close requested or abandoned by the server: ForceCloseAsync recovers it
        }

        if (channel.State == SessionChannelState.Opening)
        {
            if (await ChainTimeAsync(cancellationToken).ConfigureAwait(false) <= channel.PendingValidBefore)
            {
                return; // the open may still be included
            }

            // Nothing was paid: each reservation settles at zero (this also returns one a restart marked "unknown").
            foreach (var held in channel.Reservations)
            {
                await _ledger.CommitPartAsync(held.ToReservation(), BigInteger.Zero, CancellationToken.None).ConfigureAwait(false);
            }

            var never = channel with { State = SessionChannelState.Closed, SettledToPayee = 0, RefundedToPayer = 0 };
            await _store.SaveAsync(never, CancellationToken.None).ConfigureAwait(false);
            _parked.TryRemove(channel.ChannelId, out _);
            return;
        }

        // Closed meanwhile (by the server, or a withdrawal): find the close event for the split.
        var closed = await FindClosedEventAsync(slot, cancellationToken).ConfigureAwait(false);
        if (closed is not null)
        {
            await FinishCloseAsync(channel, closed, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task<ChannelCloseResult> FinishCloseAsync(SessionChannel channel, ChannelClosedEvent closed, CancellationToken cancellationToken)
    {
        if (closed.SettledToPayee > channel.HighestSigned)
        {
            // Impossible with an honest escrow (it checks our signature): say so loudly.
            LogSettlementAboveSigned(_logger, channel.ChannelId, closed.SettledToPayee.ToString(CultureInfo.InvariantCulture), channel.HighestSigned.ToString(CultureInfo.InvariantCulture));
        }

        // The settlement is spent, the refund comes back: fill the reservations in order.
        var remaining = closed.SettledToPayee;
        foreach (var held in channel.Reservations)
        {
            var spent = BigInteger.Min(remaining, held.Units);
            await _ledger.CommitPartAsync(held.ToReservation(), spent, cancellationToken).ConfigureAwait(false);
            remaining -= spent;
        }

        var final = channel with { State = SessionChannelState.Closed, CloseTransaction = closed.TransactionHash, SettledToPayee = closed.SettledToPayee, RefundedToPayer = closed.RefundedToPayer, Deposit = 0 };
        await _store.SaveAsync(final, cancellationToken).ConfigureAwait(false);
        _parked.TryRemove(channel.ChannelId, out _);
        _byId.TryRemove(channel.ChannelId, out _);
        LogClosed(_logger, channel.ChannelId, closed.SettledToPayee.ToString(CultureInfo.InvariantCulture), closed.RefundedToPayer.ToString(CultureInfo.InvariantCulture));
        Metrics?.Refund(channel, closed.RefundedToPayer);
        return new ChannelCloseResult(channel.ChannelId, closed.TransactionHash, closed.SettledToPayee, closed.RefundedToPayer);
    }

    private async Task<HttpResponseMessage> SendManagementAsync(RouteKey route, ChannelSlot slot, JsonObject payload, CancellationToken cancellationToken, PaymentChallenge? challenge = null)
    {
        challenge ??= _routes.TryGetValue(route, out var cached) ? cached.Challenge : null;
        var chainId = slot.Channel.ChainId;
        var uri = new Uri(route.Origin + route.Path);
        _sideChannels.TryGetValue(route, out var sideChannel);
        for (var attempt = 0; ; attempt++)
        {
            if (sideChannel is not null && challenge is not null)
            {
                // A route reached over JSON-RPC or MCP: the management credential goes back the same way.
                PaymentSideChannelAnswer sideAnswer;
                try
                {
                    sideAnswer = await sideChannel.SendAsync(new PaymentCredential(challenge, JsonSerializer.SerializeToElement(payload), Source(chainId)), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
                {
                    if (ex is ObjectDisposedException)
                    {
                        _sideChannels.TryRemove(new KeyValuePair<RouteKey, IPaymentSideChannel>(route, sideChannel));
                    }

                    // No answer over the side channel (its client failed or was disposed): the caller treats it as unanswered.
                    throw new TempoSessionException(
                        slot.Channel.ChannelId,
                        $"The {route.Origin} side channel gave no answer to the {payload["action"]} of channel {slot.Channel.ChannelId} ({ex.GetType().Name}). ForceCloseAsync recovers the deposit without the server.",
                        ex);
                }

                var fromSide = ToHttpAnswer(sideAnswer);
                if (sideAnswer.StatusCode != (int)HttpStatusCode.PaymentRequired || attempt > 0)
                {
                    if (sideAnswer.StatusCode is >= 400 and < 500)
                    {
                        CountRejectedVoucher(slot.Channel);
                    }

                    return fromSide;
                }

                CountRejectedVoucher(slot.Channel);
                var freshSide = sideAnswer.Challenges.FirstOrDefault(c => c is { Method: "tempo", Intent: "session" });
                if (freshSide is null)
                {
                    return fromSide;
                }

                fromSide.Dispose();
                challenge = freshSide;
                continue;
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent([]) };
            request.WithoutPayment();
            if (challenge is not null)
            {
                var credential = new PaymentCredential(challenge, JsonSerializer.SerializeToElement(payload), Source(chainId));
                request.Headers.TryAddWithoutValidation(credential.HeaderName, credential.ToHeaderValue());
            }

            var answer = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (answer.StatusCode != HttpStatusCode.PaymentRequired || attempt > 0)
            {
                if (challenge is not null && (int)answer.StatusCode is >= 400 and < 500)
                {
                    CountRejectedVoucher(slot.Channel);
                }

                return answer;
            }

            // Like the reference client: retry once with the session challenge of that 402.
            var fresh = PaymentChallenge.ParseAll(answer.Headers).Challenges.FirstOrDefault(c => c is { Method: "tempo", Intent: "session" });
            if (challenge is not null)
            {
                CountRejectedVoucher(slot.Channel);
            }

            if (fresh is null)
            {
                return answer;
            }

            answer.Dispose();
            challenge = fresh;
        }
    }

    /// <summary>Forgets the side channels a disposed client owned (they would keep it alive and fail anyway).</summary>
    internal void ForgetSideChannels(object owner)
    {
        foreach (var entry in _sideChannels)
        {
            if (entry.Value is IOwnedPaymentSideChannel owned && ReferenceEquals(owned.Owner, owner))
            {
                _sideChannels.TryRemove(entry);
            }
        }
    }

    private void RememberSideChannel(RouteKey route, PaymentContext context)
    {
        if (context.Operation?.SideChannel is { } sideChannel)
        {
            _sideChannels[route] = sideChannel;
        }
    }

    /// <summary>A side channel's answer in the HTTP form the management code reads (status and Payment-Receipt).</summary>
    private static HttpResponseMessage ToHttpAnswer(PaymentSideChannelAnswer answer)
    {
        var message = new HttpResponseMessage((HttpStatusCode)answer.StatusCode) { Content = new ByteArrayContent([]) };
        if (answer.Receipt is { } receipt)
        {
            message.Headers.TryAddWithoutValidation(MppHeaderNames.PaymentReceipt, receipt.ToHeaderValue());
        }

        foreach (var fresh in answer.Challenges)
        {
            message.Headers.TryAddWithoutValidation(MppHeaderNames.WwwAuthenticate, fresh.ToHeaderValue());
        }

        return message;
    }

    /// <summary>An escrow transaction: fees filled by the node, validity window from the chain head, fee token or sponsorship.</summary>
    private async Task<(TempoTransaction Transaction, long ValidBefore)> BuildTransactionAsync(long chainId, EvmAddress feeToken, bool sponsored, TempoCall call, CancellationToken cancellationToken)
    {
        await _rpc.EnsureChainAsync(chainId, cancellationToken).ConfigureAwait(false);
        var now = await ChainTimeAsync(cancellationToken).ConfigureAwait(false);
        var validBefore = now + 25;
        var validAfter = _chooseValidAfter(now);
        var fill = TempoTransaction.FillRequest(_signer.Address, [call], validBefore, validAfter);
        if (sponsored)
        {
            fill["feePayer"] = true;
        }
        else
        {
            fill["feeToken"] = feeToken.Lower;
        }

        var fees = await _rpc.FillAsync(fill, isCharge: false, cancellationToken).ConfigureAwait(false);
        var transaction = new TempoTransaction
        {
            ChainId = chainId,
            MaxPriorityFeePerGas = fees.MaxPriorityFeePerGas,
            MaxFeePerGas = fees.MaxFeePerGas,
            Gas = fees.Gas,
            Calls = [call],
            ValidBefore = validBefore,
            ValidAfter = validAfter,
            FeeToken = sponsored ? null : feeToken,
            Sponsored = sponsored,
        };
        return (transaction, validBefore);
    }

    /// <summary>A transaction the payer sends and pays for itself (request-close, withdraw): broadcast and wait for success.</summary>
    private async Task<JsonElement> SendOwnTransactionAsync(ChannelSlot slot, byte[] data, CancellationToken cancellationToken)
    {
        var channel = slot.Channel;
        // Never sponsored: the server co-signs only opens and top-ups; the fee is paid in the channel's token.
        var (transaction, _) = await BuildTransactionAsync(channel.ChainId, EvmAddress.Parse(channel.Token), sponsored: false, new TempoCall(EvmAddress.Parse(channel.Escrow), 0, data), cancellationToken).ConfigureAwait(false);
        var signature = await _signer.SignHashAsync(transaction.SigningHash(), cancellationToken).ConfigureAwait(false);
        var hash = await _rpc.SendRawTransactionAsync(transaction.Serialize(signature, _signer.Address), cancellationToken).ConfigureAwait(false);
        var receipt = await _rpc.WaitForReceiptAsync(hash, _tempo.ReceiptTimeout, cancellationToken).ConfigureAwait(false);
        if (!RpcAnswer.Succeeded(receipt))
        {
            throw new TempoSessionException(channel.ChannelId, $"The escrow transaction {hash} for channel {channel.ChannelId} reverted.");
        }

        return receipt;
    }

    private async Task<ChannelClosedEvent> ReadClosedEventAsync(string txHash, ChannelSlot slot, CancellationToken cancellationToken)
    {
        var receipt = await _rpc.WaitForReceiptAsync(txHash, _tempo.ReceiptTimeout, cancellationToken).ConfigureAwait(false);
        return Escrow.FindChannelClosed(receipt, EvmAddress.Parse(slot.Channel.Escrow), slot.Channel.ChannelId)
            ?? throw new TempoSessionException(slot.Channel.ChannelId, $"The close transaction {txHash} named by the server did not close channel {slot.Channel.ChannelId}.");
    }

    private async Task<ChannelClosedEvent?> FindClosedEventAsync(ChannelSlot slot, CancellationToken cancellationToken)
    {
        var filter = new JsonObject
        {
            ["address"] = slot.Channel.Escrow,
            ["fromBlock"] = "0x0",
            ["toBlock"] = "latest",
            ["topics"] = new JsonArray(Escrow.ChannelClosedTopic, slot.Channel.ChannelId),
        };
        foreach (var hash in await _rpc.LogTransactionHashesAsync(filter, cancellationToken).ConfigureAwait(false))
        {
            var receipt = await _rpc.WaitForReceiptAsync(hash, _tempo.ReceiptTimeout, cancellationToken).ConfigureAwait(false);
            if (Escrow.FindChannelClosed(receipt, EvmAddress.Parse(slot.Channel.Escrow), slot.Channel.ChannelId) is { } closed)
            {
                return closed;
            }
        }

        return null;
    }

    private async Task<ChannelOnChain> ReadChannelAsync(ChannelSlot slot, CancellationToken cancellationToken)
    {
        var call = new JsonObject { ["to"] = slot.Channel.Escrow, ["data"] = Hex.Encode(Escrow.GetChannel(slot.Descriptor)) };
        return Escrow.DecodeChannel(await _rpc.EthCallAsync(call, cancellationToken).ConfigureAwait(false));
    }

    private async Task<long> ChainTimeAsync(CancellationToken cancellationToken)
    {
        var head = await _rpc.LatestBlockTimestampAsync(cancellationToken).ConfigureAwait(false);

        // The node accepts validBefore within 30 s of its head: build from the head, never from a clock that may run ahead or behind it.
        return head;
    }

    private async ValueTask<BigInteger> ChooseDepositAsync(SessionRequest request, BigInteger? suggested, BigInteger alreadyLocked, PaymentContext context, CancellationToken cancellationToken)
    {
        var wanted = _options.Deposit is { } fixedDeposit ? Units(fixedDeposit) : suggested ?? Units(_options.DefaultDeposit);
        var deposit = BigInteger.Min(wanted, MaxDepositUnits - alreadyLocked);

        // Fit what the budget still allows, so a small budget opens a small channel instead of none.
        var asset = AssetId.Token(request.ChainId, request.Currency.Lower);
        if (context.FindLimit(asset) is { } limit && (limit.Total is not null || limit.PerHost is not null))
        {
            var summary = await _ledger.GetSummaryAsync(context.BudgetScope, asset, cancellationToken).ConfigureAwait(false);
            if (limit.Total is { } total)
            {
                deposit = BigInteger.Min(deposit, total - summary.Total);
            }

            if (limit.PerHost is { } perHost)
            {
                deposit = BigInteger.Min(deposit, perHost - summary.Total);
            }
        }

        return BigInteger.Max(deposit, request.Increment);
    }

    private BigInteger MaxDepositUnits => Units(_options.MaxDeposit);

    private static BigInteger Units(decimal tokens) => new(decimal.Truncate(tokens * 1_000_000m));

    private void Remember(SessionTicket ticket, PaymentChallenge challenge)
    {
        if (ticket.Slot is { Evicted: false } slot && challenge.Expires is not null)
        {
            _routes[ticket.Route] = new CachedChallenge(ticket.Route, challenge, ticket.Request, slot);
        }
    }

    private void Evict(ChannelSlot slot)
    {
        slot.Evicted = true;
        _live.TryRemove(new KeyValuePair<ChannelKey, ChannelSlot>(slot.Key, slot));
        foreach (var route in _routes.Where(r => ReferenceEquals(r.Value.Slot, slot)).ToList())
        {
            _routes.TryRemove(route);
        }
    }

    private void AbsorbReceipt(ChannelSlot slot, PaymentReceipt? receipt)
    {
        if (receipt is null || !receipt.TryGetMember("channelId", out var id) || !string.Equals(id.GetString(), slot.Channel.ChannelId, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var accepted = Amount(receipt, "acceptedCumulative");
        var spent = Amount(receipt, "spent");
        if (accepted is null || spent is null)
        {
            return;
        }

        if (accepted > slot.Channel.HighestSigned)
        {
            // A receipt never raises local authority: we cannot have authorized more than we signed.
            LogReceiptAboveSigned(_logger, slot.Channel.ChannelId, accepted.Value.ToString(CultureInfo.InvariantCulture), slot.Channel.HighestSigned.ToString(CultureInfo.InvariantCulture));
            return;
        }

        // Kept in memory only: the server's view, useful for display; the signed amount is the one that is durable.
        slot.Channel = slot.Channel with { Accepted = accepted.Value, Spent = spent.Value };
    }

    private static BigInteger? Amount(PaymentReceipt receipt, string name)
        => receipt.TryGetMember(name, out var value) && value.ValueKind == JsonValueKind.String && AssetAmount.TryParseUnits(value.GetString(), out var units) ? units : null;

    private async Task EnsureLoadedAsync(CancellationToken cancellationToken)
    {
        if (_loaded)
        {
            return;
        }

        await _loadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_loaded)
            {
                return;
            }

            foreach (var loaded in await _store.LoadAsync(cancellationToken).ConfigureAwait(false))
            {
                var channel = loaded;
                if (channel.Payer != _signer.Address.ToString() || channel.State == SessionChannelState.Closed)
                {
                    continue; // another key's channels are not ours to use
                }

                if (channel.State == SessionChannelState.Open)
                {
                    var slot = await TryUseStoredAsync(channel, cancellationToken).ConfigureAwait(false);
                    if (slot is null || ReferenceEquals(slot, ChannelSlot.Elsewhere))
                    {
                        continue; // another process holds it (Exclusive): it is not this process's to use
                    }

                    if (_live.TryAdd(slot.Key, slot))
                    {
                        _byId[channel.ChannelId] = slot;
                        continue;
                    }

                    await ReturnLeaseAsync(slot).ConfigureAwait(false);
                    channel = slot.Channel;
                }

                _parked[channel.ChannelId] = channel;
            }

            _loaded = true;
        }
        finally
        {
            _loadGate.Release();
        }
    }

    private async Task<ChannelSlot> FindAnyAsync(string channelId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channelId);
        await EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
        var id = channelId.ToLowerInvariant();
        if (_byId.TryGetValue(id, out var slot))
        {
            return slot;
        }

        if (_parked.TryGetValue(id, out var channel))
        {
            var parked = SlotFor(channel);
            _byId[id] = parked;
            parked.Evicted = true;
            return parked;
        }

        throw new ArgumentException($"No channel {channelId} is known to this process.", nameof(channelId));
    }

    private static ChannelSlot SlotFor(SessionChannel channel)
    {
        var descriptor = new ChannelDescriptor(EvmAddress.Parse(channel.Payer), channel.Payee, channel.Operator, channel.Token, Hex.Decode(channel.Salt), EvmAddress.Parse(channel.AuthorizedSigner), Hex.Decode(channel.ExpiringNonceHash));
        var escrow = EvmAddress.Parse(channel.Escrow);
        var id = descriptor.ChannelId(escrow, channel.ChainId);
        if (Hex.Encode(id) != channel.ChannelId)
        {
            throw new FormatException($"The stored channel {channel.ChannelId} does not match its own descriptor; the record is corrupt.");
        }

        var key = new ChannelKey(channel.Scope, channel.Origin, descriptor.Payee.Lower, descriptor.Token.Lower, escrow.Lower, channel.ChainId, descriptor.Operator.Lower);
        return new ChannelSlot(key, descriptor, id, new Voucher(channel.ChainId, escrow), channel);
    }

    private async ValueTask ReleaseGatesAsync(SessionTicket ticket)
    {
        if (ticket.HoldsSlotGate)
        {
            ticket.HoldsSlotGate = false;
            await ReturnLeaseAsync(ticket.Slot!).ConfigureAwait(false);
            ticket.Slot!.Gate.Release();
        }

        ReleaseOpenGate(ticket);
    }

    /// <summary>
    /// Holds the channel's lease before anything is signed or saved on it (another process may use the channel too), and takes
    /// the stored record: what another holder signed or deposited since is the floor here. Waits its turn when
    /// <paramref name="wait"/>, up to <see cref="TempoSessionOptions.LeaseWaitTimeout"/>.
    /// </summary>
    /// <returns>Whether the lease is held; a channel another process closed meanwhile is evicted.</returns>
    private async ValueTask<bool> LeaseAsync(ChannelSlot slot, bool wait, CancellationToken cancellationToken)
    {
        if (slot.Leased)
        {
            return true;
        }

        var started = _time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(2);
        while (true)
        {
            var stored = await _store.TryLeaseAsync(slot.Channel, wait, cancellationToken).ConfigureAwait(false);
            if (stored is not null)
            {
                slot.Leased = true;
                slot.Channel = stored.HighestSigned >= slot.Channel.HighestSigned ? stored : stored with { HighestSigned = slot.Channel.HighestSigned };
                if (stored.State != SessionChannelState.Open && !slot.Evicted)
                {
                    Evict(slot);
                    if (stored.State != SessionChannelState.Closed)
                    {
                        _parked[stored.ChannelId] = stored;
                    }
                }

                return true;
            }

            if (!wait || _time.GetElapsedTime(started) >= _options.LeaseWaitTimeout)
            {
                return false;
            }

            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 50));
        }
    }

    /// <summary>Like <see cref="LeaseAsync"/>, waiting; a channel still held elsewhere after the wait is an error.</summary>
    private async ValueTask HoldLeaseAsync(ChannelSlot slot, CancellationToken cancellationToken)
    {
        if (!await LeaseAsync(slot, wait: true, cancellationToken).ConfigureAwait(false))
        {
            throw new TempoSessionException(slot.Channel.ChannelId, $"The channel {slot.Channel.ChannelId} stayed leased by another process for LeaseWaitTimeout ({_options.LeaseWaitTimeout}); try again when that process is done with it.");
        }
    }

    /// <summary>Gives the lease back unless this process keeps the channel (Exclusive sharing, a live channel).</summary>
    private async ValueTask ReturnLeaseAsync(ChannelSlot slot)
    {
        if (!slot.Leased || (_options.Sharing == ChannelSharing.Exclusive && !slot.Evicted && _live.TryGetValue(slot.Key, out var live) && ReferenceEquals(live, slot)))
        {
            return;
        }

        slot.Leased = false;
        try
        {
            await _store.ReleaseLeaseAsync(slot.Channel.ChannelId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (MppException ex)
        {
            LogLeaseReleaseFailed(_logger, ex, slot.Channel.ChannelId); // the lease expires by itself
        }
    }

    /// <summary>
    /// A stored open channel made usable here: with Exclusive sharing only if this process can lease it (else
    /// <see cref="ChannelSlot.Elsewhere"/>), with Shared sharing always (leased per request).
    /// </summary>
    private async ValueTask<ChannelSlot?> TryUseStoredAsync(SessionChannel channel, CancellationToken cancellationToken)
    {
        var slot = SlotFor(channel);
        if (_options.Sharing == ChannelSharing.Exclusive && !await LeaseAsync(slot, wait: false, cancellationToken).ConfigureAwait(false))
        {
            return ChannelSlot.Elsewhere;
        }

        if (slot.Channel.State != SessionChannelState.Open)
        {
            await ReturnLeaseAsync(slot).ConfigureAwait(false);
            return null;
        }

        return slot;
    }

    /// <summary>
    /// Before a new channel is opened for a scope: an open one in the store that another process opened (Shared) or gave up,
    /// or whose holder died (Exclusive, once the lease has expired), serves instead, at its stored high-water mark.
    /// </summary>
    private async ValueTask<ChannelSlot?> AdoptAsync(ChannelKey key, CancellationToken cancellationToken)
    {
        var payer = _signer.Address.ToString();
        foreach (var channel in await _store.LoadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (channel.State != SessionChannelState.Open || channel.Payer != payer || _byId.ContainsKey(channel.ChannelId) || SlotFor(channel).Key != key)
            {
                continue;
            }

            var slot = await TryUseStoredAsync(channel, cancellationToken).ConfigureAwait(false);
            if (slot is null || ReferenceEquals(slot, ChannelSlot.Elsewhere))
            {
                continue;
            }

            if (_live.TryAdd(key, slot))
            {
                _byId[channel.ChannelId] = slot;
                return slot;
            }

            await ReturnLeaseAsync(slot).ConfigureAwait(false);
            return _live.TryGetValue(key, out var other) ? other : null;
        }

        return null;
    }

    private void ReleaseOpenGate(SessionTicket ticket)
    {
        if (ticket.HoldsOpenGate)
        {
            ticket.HoldsOpenGate = false;
            _openGate.Release();
        }
    }

    private string Source(long chainId) => $"did:pkh:eip155:{chainId.ToString(CultureInfo.InvariantCulture)}:{_signer.Address}";

    private static string Text(BigInteger value) => value.ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(2000, LogLevel.Information, "Opening session channel {ChannelId} with a deposit of {Deposit} at {Host}")]
    private static partial void LogOpening(ILogger logger, string channelId, string deposit, string host);

    [LoggerMessage(2001, LogLevel.Information, "Session channel {ChannelId} is open")]
    private static partial void LogOpened(ILogger logger, string channelId);

    [LoggerMessage(2002, LogLevel.Warning, "The open of session channel {ChannelId} was not confirmed (HTTP {Status}, {Problem}); its deposit stays counted until RecoverAsync checks the chain")]
    private static partial void LogOpenRefused(ILogger logger, string channelId, int status, string problem);

    [LoggerMessage(2003, LogLevel.Warning, "A voucher for session channel {ChannelId} was refused (HTTP {Status}, {Problem})")]
    private static partial void LogVoucherRejected(ILogger logger, string channelId, int status, string problem);

    [LoggerMessage(2004, LogLevel.Information, "Topping up session channel {ChannelId} by {Amount}")]
    private static partial void LogTopUp(ILogger logger, string channelId, string amount);

    [LoggerMessage(2005, LogLevel.Warning, "The top-up of session channel {ChannelId} got no answer; checking the chain")]
    private static partial void LogTopUpUnanswered(ILogger logger, Exception exception, string channelId);

    [LoggerMessage(2006, LogLevel.Information, "Session channel {ChannelId} closed: {Settled} to the payee, {Refunded} refunded")]
    private static partial void LogClosed(ILogger logger, string channelId, string settled, string refunded);

    [LoggerMessage(2007, LogLevel.Warning, "Closing session channel {ChannelId} failed")]
    private static partial void LogCloseFailed(ILogger logger, Exception exception, string channelId);

    [LoggerMessage(2008, LogLevel.Error, "Session channel {ChannelId} settled {Settled} on chain, above the {Signed} this client signed")]
    private static partial void LogSettlementAboveSigned(ILogger logger, string channelId, string settled, string signed);

    [LoggerMessage(2010, LogLevel.Warning, "Giving up the lease on session channel {ChannelId} failed; it expires by itself")]
    private static partial void LogLeaseReleaseFailed(ILogger logger, Exception exception, string channelId);

    [LoggerMessage(2009, LogLevel.Warning, "A receipt for session channel {ChannelId} claims {Accepted} accepted, above the {Signed} signed; ignored")]
    private static partial void LogReceiptAboveSigned(ILogger logger, string channelId, string accepted, string signed);
}

/// <summary>How a channel closed, as the escrow's <c>ChannelClosed</c> event recorded it.</summary>
/// <param name="ChannelId">The channel id.</param>
/// <param name="TransactionHash">The closing transaction.</param>
/// <param name="SettledToPayee">What the payee received in total.</param>
/// <param name="RefundedToPayer">What came back to the payer.</param>
public sealed record ChannelCloseResult(string ChannelId, string TransactionHash, BigInteger SettledToPayee, BigInteger RefundedToPayer);

/// <summary>What identifies "the same channel": who pays whom, in what, through which escrow, for which budget and server.</summary>
internal readonly record struct ChannelKey(string Scope, string Origin, string Payee, string Token, string Escrow, long ChainId, string Operator)
{
    public static ChannelKey For(PaymentContext context, SessionRequest request)
        => new(context.BudgetScope, context.RequestUri.GetLeftPart(UriPartial.Authority), request.Recipient.Lower, request.Currency.Lower, request.Escrow.Lower, request.ChainId, request.Operator.Lower);
}

/// <summary>A route: origin and path (query excluded), per budget scope.</summary>
internal readonly record struct RouteKey(string Scope, string Origin, string Path)
{
    public static RouteKey For(PaymentContext context) => new(context.BudgetScope, context.RequestUri.GetLeftPart(UriPartial.Authority), context.RoutePath);
}

internal sealed record CachedChallenge(RouteKey Route, PaymentChallenge Challenge, SessionRequest Request, ChannelSlot Slot);

/// <summary>A live channel: its gate (one voucher-carrying request at a time) and its current record.</summary>
internal sealed class ChannelSlot(ChannelKey key, ChannelDescriptor descriptor, byte[] channelIdBytes, Voucher voucherDomain, SessionChannel channel)
{
    private JsonObject? _descriptorJson;
    private byte[]? _canonicalDescriptor;

    /// <summary>Marks a stored channel that another process holds.</summary>
    public static readonly ChannelSlot Elsewhere = new(default, null!, [], null!, null!);

    public ChannelKey Key { get; } = key;

    public ChannelDescriptor Descriptor { get; } = descriptor;

    public byte[] ChannelIdBytes { get; } = channelIdBytes;

    public Voucher VoucherDomain { get; } = voucherDomain;

    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Gets or sets whether this process holds the channel's lease in the store; changed only by the holder of <see cref="Gate"/>.</summary>
    public bool Leased { get; set; }

    /// <summary>Gets or sets the record; changed only by the holder of <see cref="Gate"/>.</summary>
    public SessionChannel Channel { get; set; } = channel;

    public volatile bool Evicted;

    public JsonObject DescriptorJson() => (JsonObject)(_descriptorJson ??= Descriptor.ToJson()).DeepClone();

    /// <summary>
    /// The canonical JSON of a voucher credential's payload, written directly (members in JCS order: action, channelId,
    /// cumulativeAmount, descriptor, signature), equal byte for byte to canonicalizing the payload object.
    /// </summary>
    public byte[] CanonicalVoucherPayload(string cumulativeAmount, string signature)
    {
        var descriptor = _canonicalDescriptor ??= CanonicalJson.SerializeToUtf8Bytes(JsonSerializer.SerializeToElement(DescriptorJson()));
        using var output = new PooledBufferWriter(512);
        output.Write("{\"action\":\"voucher\",\"channelId\":"u8);
        CanonicalJson.WriteString(output, Channel.ChannelId);
        output.Write(",\"cumulativeAmount\":"u8);
        CanonicalJson.WriteString(output, cumulativeAmount);
        output.Write(",\"descriptor\":"u8);
        output.Write(descriptor);
        output.Write(",\"signature\":"u8);
        CanonicalJson.WriteString(output, signature);
        output.Write((byte)'}');
        return output.WrittenSpan.ToArray();
    }
}

/// <summary>What the session method keeps with a quote: the channel and the gates the call holds.</summary>
internal sealed class SessionTicket(SessionRequest request, ChannelKey key, RouteKey route, ChannelSlot? slot, bool Opening)
{
    public SessionRequest Request { get; } = request;

    public ChannelKey Key { get; } = key;

    public RouteKey Route { get; } = route;

    public ChannelSlot? Slot { get; set; } = slot;

    public bool Opening { get; set; } = Opening;

    public bool OpenSuperseded { get; set; }

    public BigInteger Deposit { get; init; }

    public bool HoldsSlotGate { get; set; }

    public bool HoldsOpenGate { get; set; }

    public PaymentContext? Context { get; set; }
}

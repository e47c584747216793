using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Evm;
using Mpp.Client.Tempo.Sessions;
using Mpp.Client.Testing.Chain;
using EscrowAbi = Mpp.Client.Tempo.Sessions.Escrow;

namespace Mpp.Client.Testing;

/// <summary>A snapshot of one payment channel in the test ledger's escrow, with the test server's session accounting.</summary>
/// <param name="ChannelId">The channel id (lower-case hex).</param>
/// <param name="Payer">The payer.</param>
/// <param name="Payee">The payee.</param>
/// <param name="Token">The token.</param>
/// <param name="AuthorizedSigner">The voucher signer named at open.</param>
/// <param name="Deposit">Everything deposited (open and top-ups), in base units; kept after the close.</param>
/// <param name="Settled">What the payee has received on chain so far, in base units.</param>
/// <param name="AcceptedCumulative">The highest voucher amount the server accepted.</param>
/// <param name="Spent">What the server has charged against the vouchers (units × price).</param>
/// <param name="Units">How many units the server has charged.</param>
/// <param name="CloseRequestedAt">The chain time of a forced-close request, or 0.</param>
/// <param name="IsClosed">Whether the channel is closed (cooperatively or by withdrawal).</param>
/// <param name="RefundedToPayer">What went back to the payer at the close.</param>
/// <param name="CloseTransaction">The closing transaction, once closed.</param>
public sealed record TestChannel(
    string ChannelId,
    string Payer,
    string Payee,
    string Token,
    string AuthorizedSigner,
    BigInteger Deposit,
    BigInteger Settled,
    BigInteger AcceptedCumulative,
    BigInteger Spent,
    long Units,
    long CloseRequestedAt,
    bool IsClosed,
    BigInteger RefundedToPayer,
    string? CloseTransaction);

/// <summary>A charge the test server verified and settled on its ledger.</summary>
/// <param name="TransactionHash">The settling transaction.</param>
/// <param name="ChallengeId">The challenge it paid.</param>
/// <param name="Payer">The sender.</param>
/// <param name="Recipient">The recipient.</param>
/// <param name="Token">The token.</param>
/// <param name="Amount">The amount in base units.</param>
public sealed record TestPayment(string TransactionHash, string ChallengeId, string Payer, string Recipient, string Token, BigInteger Amount);

/// <summary>A development account of the test ledger: its key is test data, never a real key.</summary>
/// <param name="PrivateKey">The private key as 0x hex.</param>
/// <param name="Address">The address (EIP-55).</param>
public sealed record TestDevAccount(string PrivateKey, string Address)
{
    /// <summary>Creates a signer for the account's key (for <c>TempoOptions.Signer</c>).</summary>
    /// <returns>A new signer; dispose it when done.</returns>
    public PrivateKeySigner CreateSigner() => PrivateKeySigner.FromHex(PrivateKey);

    /// <summary>Returns the address only: the key is never printed.</summary>
    /// <returns>A description.</returns>
    public override string ToString() => $"TestDevAccount({Address})";
}

/// <summary>
/// The test server's in-memory Tempo chain: TIP-20 balances, the TIP-1034 channel escrow, transactions with receipts
/// and logs. Gas is free (fees are neither checked against a balance nor charged). Time is the server's
/// <see cref="TimeProvider"/>. Thread-safe. It emulates what MppClient needs; it is not a Tempo node.
/// </summary>
public sealed class TestTempoLedger
{
    internal static readonly string ChannelOpenedTopic = Topic("ChannelOpened(bytes32,address,address,address,address,address,bytes32,bytes32,uint96)");
    internal static readonly string TopUpTopic = Topic("TopUp(bytes32,address,address,uint96,uint96)");
    internal static readonly string CloseRequestedTopic = Topic("CloseRequested(bytes32,address,address,uint256)");
    internal static readonly string CloseRequestCancelledTopic = Topic("CloseRequestCancelled(bytes32,address,address)");
    internal static readonly string ChannelClosedTopic = Topic("ChannelClosed(bytes32,address,address,uint96,uint96)");
    private static readonly byte[] BalanceOfSelector = Abi.Selector("balanceOf(address)");

    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private Dictionary<(EvmAddress Token, EvmAddress Holder), BigInteger> _balances = [];
    private readonly Dictionary<string, ChannelRecord> _channels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TransactionRecord> _transactions = new(StringComparer.Ordinal);
    private readonly List<TestPayment> _payments = [];
    private long _blockNumber = 1;
    private long _synthetic;

    internal TestTempoLedger(TimeProvider time, long chainId, EvmAddress escrow, EvmAddress defaultToken)
    {
        _time = time;
        ChainId = chainId;
        EscrowAddress = escrow;
        DefaultTokenAddress = defaultToken;
    }

    /// <summary>Gets the chain id.</summary>
    public long ChainId { get; }

    /// <summary>Gets the default token (pathUSD-like, 6 decimals).</summary>
    public string DefaultToken => DefaultTokenAddress.Lower;

    /// <summary>Gets the channel escrow address.</summary>
    public string Escrow => EscrowAddress.Lower;

    /// <summary>Gets the chain time (unix seconds): the server's clock.</summary>
    public long ChainTime => _time.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>Gets the current block number (one block per transaction).</summary>
    public long BlockNumber
    {
        get
        {
            lock (_gate)
            {
                return _blockNumber;
            }
        }
    }

    /// <summary>Gets the channels, open and closed.</summary>
    public IReadOnlyList<TestChannel> Channels
    {
        get
        {
            lock (_gate)
            {
                return [.. _channels.Values.Select(c => c.Snapshot())];
            }
        }
    }

    /// <summary>Gets the charges the server settled, in order.</summary>
    public IReadOnlyList<TestPayment> Payments
    {
        get
        {
            lock (_gate)
            {
                return [.. _payments];
            }
        }
    }

    /// <summary>Gets how many transactions the ledger has executed (reverted ones included).</summary>
    public int TransactionCount
    {
        get
        {
            lock (_gate)
            {
                return _transactions.Count;
            }
        }
    }

    internal EvmAddress EscrowAddress { get; }

    internal EvmAddress DefaultTokenAddress { get; }

    internal TimeProvider Time => _time;

    /// <summary>Gets a balance in base units.</summary>
    /// <param name="address">The holder.</param>
    /// <param name="token">The token; the default token when <see langword="null"/>.</param>
    /// <returns>The balance.</returns>
    public BigInteger BalanceOf(string address, string? token = null)
    {
        var key = (token is null ? DefaultTokenAddress : EvmAddress.Parse(token), EvmAddress.Parse(address));
        lock (_gate)
        {
            return _balances.GetValueOrDefault(key);
        }
    }

    /// <summary>Adds tokens to an address (a faucet).</summary>
    /// <param name="address">The holder.</param>
    /// <param name="amount">Whole tokens (6 decimals).</param>
    /// <param name="token">The token; the default token when <see langword="null"/>.</param>
    public void Fund(string address, decimal amount, string? token = null) => FundUnits(address, ToUnits(amount), token);

    /// <summary>Adds base units to an address (a faucet).</summary>
    /// <param name="address">The holder.</param>
    /// <param name="units">Base units.</param>
    /// <param name="token">The token; the default token when <see langword="null"/>.</param>
    public void FundUnits(string address, BigInteger units, string? token = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(units.Sign, nameof(units));
        var key = (token is null ? DefaultTokenAddress : EvmAddress.Parse(token), EvmAddress.Parse(address));
        lock (_gate)
        {
            _balances[key] = _balances.GetValueOrDefault(key) + units;
        }
    }

    /// <summary>Creates a new random development account holding <paramref name="amount"/> of the default token.</summary>
    /// <param name="amount">Whole tokens.</param>
    /// <returns>The account.</returns>
    public TestDevAccount CreateFundedAccount(decimal amount = 100m)
    {
        var key = Hex.Encode(RandomNumberGenerator.GetBytes(32));
        using var signer = PrivateKeySigner.FromHex(key);
        var account = new TestDevAccount(key, signer.Address.ToString());
        Fund(account.Address, amount);
        return account;
    }

    /// <summary>Finds a channel by id.</summary>
    /// <param name="channelId">The channel id.</param>
    /// <returns>The channel, or <see langword="null"/>.</returns>
    public TestChannel? FindChannel(string channelId)
    {
        ArgumentNullException.ThrowIfNull(channelId);
        lock (_gate)
        {
            return _channels.TryGetValue(channelId.ToLowerInvariant(), out var channel) ? channel.Snapshot() : null;
        }
    }

    internal static BigInteger ToUnits(decimal tokens)
    {
        if (tokens < 0 || decimal.Round(tokens, 6) != tokens)
        {
            throw new ArgumentOutOfRangeException(nameof(tokens), tokens, "An amount of tokens is non-negative with at most 6 decimals.");
        }

        return new BigInteger(tokens * 1_000_000m);
    }

    internal static string Text(BigInteger value) => value.ToString(CultureInfo.InvariantCulture);

    // ------------------------------------------------------------------ execution

    /// <summary>Validates and executes a client's transaction; a failing call reverts all of it (status 0x0, still recorded).</summary>
    /// <exception cref="TestChainException">The transaction is not acceptable at all (wrong chain, expired, replayed).</exception>
    internal TransactionRecord Execute(SignedTempoTransaction tx)
    {
        var now = ChainTime;
        lock (_gate)
        {
            if (_transactions.ContainsKey(tx.Hash))
            {
                throw new TestChainException("transaction already known (replay)");
            }

            if (tx.ChainId != ChainId)
            {
                throw new TestChainException($"wrong chain id {tx.ChainId}; this chain is {ChainId}");
            }

            if (tx.NonceKey != Tempo.Transactions.TempoTransaction.ExpiringNonceKey || !tx.Nonce.IsZero)
            {
                throw new TestChainException("the test chain accepts expiring-nonce transactions only (nonceKey 2^256-1, nonce 0)");
            }

            if (tx.ValidBefore <= now || tx.ValidBefore > now + 30)
            {
                throw new TestChainException($"validBefore {tx.ValidBefore} is outside (now, now + 30 s] at chain time {now}");
            }

            if (tx.ValidAfter > now)
            {
                throw new TestChainException($"validAfter {tx.ValidAfter} is in the future (chain time {now})");
            }

            var balances = new Dictionary<(EvmAddress, EvmAddress), BigInteger>(_balances);
            var channels = _channels.ToDictionary(c => c.Key, c => c.Value.Clone(), StringComparer.Ordinal);
            var logs = new List<LogRecord>();
            string? revert = null;
            try
            {
                foreach (var call in tx.Calls)
                {
                    ApplyCall(tx, call.To, call.Value, call.Data, now, logs);
                }
            }
            catch (TestRevertException ex)
            {
                revert = ex.Message;
                _balances = balances;
                _channels.Clear();
                foreach (var (id, channel) in channels)
                {
                    _channels[id] = channel;
                }

                logs.Clear();
            }

            return Record(tx.Hash, tx.Sender, logs, revert);
        }
    }

    /// <summary>Closes a channel as its payee (the server): pays <paramref name="capture"/> − settled to the payee and refunds the rest.</summary>
    internal TransactionRecord CloseByPayee(string channelId, BigInteger capture)
    {
        lock (_gate)
        {
            var channel = _channels[channelId];
            if (channel.Closed || capture < channel.Settled || capture > channel.Deposit)
            {
                throw new InvalidOperationException($"Cannot close channel {channelId} capturing {capture} (settled {channel.Settled}, deposit {channel.Deposit}, closed {channel.Closed}).");
            }

            var logs = new List<LogRecord>();
            var hash = Hex.Encode(Keccak.Hash($"mpp-test-close|{channelId}|{Interlocked.Increment(ref _synthetic)}"));
            Move(channel.Token, EscrowAddress, channel.Payee, capture - channel.Settled);
            var refund = channel.Deposit - capture;
            Move(channel.Token, EscrowAddress, channel.Payer, refund);
            channel.Settled = capture;
            channel.Closed = true;
            channel.Refunded = refund;
            channel.CloseTransaction = hash;
            logs.Add(ChannelLog(ChannelClosedTopic, channel, EvmWords.WordHex(capture) + EvmWords.WordHex(refund)[2..]));
            return Record(hash, channel.Payee, logs, null);
        }
    }

    internal void RecordPayment(TestPayment payment)
    {
        lock (_gate)
        {
            _payments.Add(payment);
        }
    }

    /// <summary>Runs <paramref name="action"/> on a channel's record under the ledger's lock.</summary>
    internal T WithChannel<T>(string channelId, Func<ChannelRecord?, T> action)
    {
        lock (_gate)
        {
            return action(_channels.GetValueOrDefault(channelId.ToLowerInvariant()));
        }
    }

    internal TransactionRecord? FindTransaction(string hash)
    {
        lock (_gate)
        {
            return _transactions.GetValueOrDefault(hash.ToLowerInvariant());
        }
    }

    internal IReadOnlyList<LogRecord> AllLogs()
    {
        lock (_gate)
        {
            return [.. _transactions.Values.OrderBy(t => t.BlockNumber).SelectMany(t => t.Logs)];
        }
    }

    /// <summary>A read-only call: TIP-20 <c>balanceOf</c>, escrow <c>getChannel</c>.</summary>
    internal byte[] Call(EvmAddress to, byte[] data)
    {
        if (data.Length < 4)
        {
            throw new TestRevertException("no selector");
        }

        var selector = data.AsSpan(0, 4);
        var args = data.AsSpan(4);
        lock (_gate)
        {
            if (to == EscrowAddress && selector.SequenceEqual(EscrowAbi.GetChannelSelector))
            {
                var descriptor = ReadDescriptor(args, 0);
                var id = Hex.Encode(descriptor.ChannelId(EscrowAddress, ChainId));
                var channel = _channels.GetValueOrDefault(id);
                var open = channel is { Closed: false };
                return Abi.Encode([.. descriptor.AbiFields(), Abi.Uint(open ? channel!.Settled : 0, 96), Abi.Uint(open ? channel!.Deposit : 0, 96), Abi.Uint(open ? channel!.CloseRequestedAt : 0, 64)]);
            }

            if (selector.SequenceEqual(BalanceOfSelector))
            {
                return Abi.Word(_balances.GetValueOrDefault((to, EvmWords.Address(args, 0))));
            }
        }

        throw new TestRevertException($"the test chain does not know this call on {to}");
    }

    private TransactionRecord Record(string hash, EvmAddress from, List<LogRecord> logs, string? revert)
    {
        var block = ++_blockNumber;
        var indexed = logs.Select((l, i) => l with { TransactionHash = hash, BlockNumber = block, LogIndex = i }).ToList();
        var record = new TransactionRecord(hash, from, block, revert is null, indexed, revert);
        _transactions[hash] = record;
        return record;
    }

    private void ApplyCall(SignedTempoTransaction tx, EvmAddress to, BigInteger value, byte[] data, long now, List<LogRecord> logs)
    {
        if (!value.IsZero)
        {
            throw new TestRevertException("calls carry no native value on Tempo");
        }

        if (data.Length < 4)
        {
            throw new TestRevertException("a call without a selector");
        }

        var selector = data.AsSpan(0, 4);
        var args = data.AsSpan(4);
        var sender = tx.Sender;
        try
        {
            if (selector.SequenceEqual(Abi.TransferSelector) && args.Length == 64)
            {
                var recipient = EvmWords.Address(args, 0);
                var amount = EvmWords.Uint(args, 1);
                Move(to, sender, recipient, amount);
                logs.Add(new LogRecord(to, [Hex.Encode(Abi.TransferTopic), EvmWords.AddressTopic(sender), EvmWords.AddressTopic(recipient)], EvmWords.WordHex(amount)));
                return;
            }

            if (selector.SequenceEqual(Abi.TransferWithMemoSelector) && args.Length == 96)
            {
                var recipient = EvmWords.Address(args, 0);
                var amount = EvmWords.Uint(args, 1);
                var memo = EvmWords.Bytes32(args, 2);
                Move(to, sender, recipient, amount);
                logs.Add(new LogRecord(to, [Hex.Encode(Abi.TransferTopic), EvmWords.AddressTopic(sender), EvmWords.AddressTopic(recipient)], EvmWords.WordHex(amount)));
                logs.Add(new LogRecord(to, [Hex.Encode(Abi.TransferWithMemoTopic), EvmWords.AddressTopic(sender), EvmWords.AddressTopic(recipient), Hex.Encode(memo)], EvmWords.WordHex(amount)));
                return;
            }

            if (to == EscrowAddress)
            {
                ApplyEscrowCall(tx, selector, args, now, logs);
                return;
            }
        }
        catch (FormatException ex)
        {
            throw new TestRevertException("malformed calldata: " + ex.Message);
        }

        throw new TestRevertException($"the test chain does not know selector {Hex.Encode(selector)} on {to}");
    }

    private void ApplyEscrowCall(SignedTempoTransaction tx, ReadOnlySpan<byte> selector, ReadOnlySpan<byte> args, long now, List<LogRecord> logs)
    {
        var sender = tx.Sender;
        if (selector.SequenceEqual(EscrowAbi.OpenSelector))
        {
            if (args.Length != 6 * 32)
            {
                throw new TestRevertException("open takes six words");
            }

            var payee = EvmWords.Address(args, 0);
            var @operator = EvmWords.Address(args, 1);
            var token = EvmWords.Address(args, 2);
            var deposit = EvmWords.Uint(args, 3);
            var salt = EvmWords.Bytes32(args, 4);
            var signer = EvmWords.Address(args, 5);
            if (deposit.IsZero || deposit > Voucher.MaxAmount)
            {
                throw new TestRevertException("ZeroDeposit or a deposit above uint96");
            }

            if (payee == default(EvmAddress))
            {
                throw new TestRevertException("InvalidPayee");
            }

            var descriptor = new ChannelDescriptor(sender, payee.Lower, @operator.Lower, token.Lower, salt, signer, tx.ExpiringNonceHash());
            var id = Hex.Encode(descriptor.ChannelId(EscrowAddress, ChainId));
            if (_channels.ContainsKey(id))
            {
                throw new TestRevertException("ChannelAlreadyExists");
            }

            Move(token, sender, EscrowAddress, deposit);
            var channel = new ChannelRecord(id, descriptor) { Deposit = deposit, TotalDeposited = deposit };
            _channels[id] = channel;
            logs.Add(ChannelLog(ChannelOpenedTopic, channel, string.Concat(
                EvmWords.AddressTopic(@operator), EvmWords.AddressTopic(token)[2..], EvmWords.AddressTopic(signer)[2..], Hex.Encode(salt)[2..], Hex.Encode(descriptor.ExpiringNonceHash)[2..], EvmWords.WordHex(deposit)[2..])));
            return;
        }

        if (args.Length < 7 * 32)
        {
            throw new TestRevertException("the escrow call needs a descriptor");
        }

        var existing = FindOwnChannel(ReadDescriptor(args, 0), sender);
        if (selector.SequenceEqual(EscrowAbi.TopUpSelector) && args.Length == 8 * 32)
        {
            var additional = EvmWords.Uint(args, 7);
            if (additional.IsZero || existing.Deposit + additional > Voucher.MaxAmount)
            {
                throw new TestRevertException("ZeroDeposit or DepositOverflow");
            }

            Move(existing.Token, sender, EscrowAddress, additional);
            if (existing.CloseRequestedAt != 0)
            {
                existing.CloseRequestedAt = 0;
                logs.Add(ChannelLog(CloseRequestCancelledTopic, existing, "0x"));
            }

            existing.Deposit += additional;
            existing.TotalDeposited += additional;
            logs.Add(ChannelLog(TopUpTopic, existing, EvmWords.WordHex(additional) + EvmWords.WordHex(existing.Deposit)[2..]));
            return;
        }

        if (selector.SequenceEqual(EscrowAbi.RequestCloseSelector) && args.Length == 7 * 32)
        {
            if (existing.CloseRequestedAt == 0)
            {
                existing.CloseRequestedAt = now;
                logs.Add(ChannelLog(CloseRequestedTopic, existing, EvmWords.WordHex(now + EscrowAbi.CloseGracePeriodSeconds)));
            }

            return;
        }

        if (selector.SequenceEqual(EscrowAbi.WithdrawSelector) && args.Length == 7 * 32)
        {
            if (existing.CloseRequestedAt == 0 || now < existing.CloseRequestedAt + EscrowAbi.CloseGracePeriodSeconds)
            {
                throw new TestRevertException("CloseNotReady");
            }

            var refund = existing.Deposit - existing.Settled;
            Move(existing.Token, EscrowAddress, existing.Payer, refund);
            existing.Closed = true;
            existing.Refunded = refund;
            existing.CloseTransaction = tx.Hash;
            logs.Add(ChannelLog(ChannelClosedTopic, existing, EvmWords.WordHex(existing.Settled) + EvmWords.WordHex(refund)[2..]));
            return;
        }

        throw new TestRevertException($"the test escrow does not know selector {Hex.Encode(selector)} (settle and close are done by the server)");
    }

    private ChannelRecord FindOwnChannel(ChannelDescriptor descriptor, EvmAddress sender)
    {
        var id = Hex.Encode(descriptor.ChannelId(EscrowAddress, ChainId));
        if (!_channels.TryGetValue(id, out var channel) || channel.Closed)
        {
            throw new TestRevertException("ChannelNotFound");
        }

        return channel.Payer != sender ? throw new TestRevertException("NotPayer") : channel;
    }

    private static ChannelDescriptor ReadDescriptor(ReadOnlySpan<byte> args, int first)
        => new(
            EvmWords.Address(args, first),
            EvmWords.Address(args, first + 1).Lower,
            EvmWords.Address(args, first + 2).Lower,
            EvmWords.Address(args, first + 3).Lower,
            EvmWords.Bytes32(args, first + 4),
            EvmWords.Address(args, first + 5),
            EvmWords.Bytes32(args, first + 6));

    private void Move(EvmAddress token, EvmAddress from, EvmAddress to, BigInteger amount)
    {
        if (amount.Sign < 0)
        {
            throw new TestRevertException("negative amount");
        }

        var fromBalance = _balances.GetValueOrDefault((token, from));
        if (fromBalance < amount)
        {
            throw new TestRevertException($"insufficient balance: {from} holds {fromBalance} of {token}, {amount} needed");
        }

        _balances[(token, from)] = fromBalance - amount;
        _balances[(token, to)] = _balances.GetValueOrDefault((token, to)) + amount;
    }

    private LogRecord ChannelLog(string topic, ChannelRecord channel, string data)
        => new(EscrowAddress, [topic, channel.Id, EvmWords.AddressTopic(channel.Payer), EvmWords.AddressTopic(channel.Payee)], data);

    private static string Topic(string signature) => Hex.Encode(Keccak.Hash(signature));
}

/// <summary>A channel's mutable record (guarded by the ledger's lock).</summary>
internal sealed class ChannelRecord(string id, ChannelDescriptor descriptor)
{
    public string Id { get; } = id;

    public ChannelDescriptor Descriptor { get; } = descriptor;

    public EvmAddress Payer => Descriptor.Payer;

    public EvmAddress Payee => Descriptor.Payee;

    public EvmAddress Token => Descriptor.Token;

    /// <summary>Gets the voucher signer: the authorized signer, or the payer when that is zero.</summary>
    public EvmAddress VoucherSigner => Descriptor.AuthorizedSigner == default(EvmAddress) ? Descriptor.Payer : Descriptor.AuthorizedSigner;

    public BigInteger Deposit { get; set; }

    public BigInteger TotalDeposited { get; set; }

    public BigInteger Settled { get; set; }

    public long CloseRequestedAt { get; set; }

    public bool Closed { get; set; }

    public BigInteger Refunded { get; set; }

    public string? CloseTransaction { get; set; }

    public BigInteger Accepted { get; set; }

    public BigInteger Spent { get; set; }

    public long Units { get; set; }

    /// <summary>Completed and replaced whenever the accepted amount changes (SSE streams wait on it).</summary>
    public TaskCompletionSource Changed { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ChannelRecord Clone() => (ChannelRecord)MemberwiseClone();

    public TestChannel Snapshot() => new(Id, Payer.ToString(), Payee.ToString(), Token.Lower, Descriptor.AuthorizedSigner.ToString(), TotalDeposited, Settled, Accepted, Spent, Units, CloseRequestedAt, Closed, Refunded, CloseTransaction);
}

/// <summary>An executed transaction.</summary>
internal sealed record TransactionRecord(string Hash, EvmAddress From, long BlockNumber, bool Succeeded, IReadOnlyList<LogRecord> Logs, string? RevertReason);

/// <summary>One event log.</summary>
internal sealed record LogRecord(EvmAddress Address, IReadOnlyList<string> Topics, string Data)
{
    public string TransactionHash { get; init; } = string.Empty;

    public long BlockNumber { get; init; }

    public int LogIndex { get; init; }
}

/// <summary>A transaction the test chain refuses outright (not included).</summary>
internal sealed class TestChainException(string message) : Exception(message);

/// <summary>A call that reverts (the transaction is included with status 0x0 and no effects).</summary>
internal sealed class TestRevertException(string message) : Exception(message);

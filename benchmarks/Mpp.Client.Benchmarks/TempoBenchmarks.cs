using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Evm;
using Mpp.Client.Tempo.Sessions;
using Mpp.Client.Tempo.Transactions;

namespace Mpp.Client.Benchmarks;

/// <summary>Signing and recovery, the Tempo method's CPU: a bare signature, the EIP-712 voucher (the bench's sign-voucher), a charge transaction, recovery.</summary>
[MemoryDiagnoser]
[MedianColumn]
public class TempoBenchmarks
{
    private PrivateKeySigner _signer = null!;
    private Voucher _voucher = null!;
    private Eip712 _general = null!;
    private JsonElement _domain;
    private JsonElement _message;
    private TempoTransaction _transaction = null!;
    private byte[] _channelId = null!;
    private byte[] _digest = null!;
    private EvmSignature _signature = null!;
    private long _amount;
    private byte[] _key = null!;

    [GlobalSetup]
    public void Setup()
    {
        _key = Hex.Decode("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
        _signer = PrivateKeySigner.FromHex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
        var escrow = EvmAddress.Parse("0x4d50500000000000000000000000000000000000");
        _voucher = new Voucher(1337, escrow);
        _channelId = Hex.Decode("0x" + string.Concat(Enumerable.Repeat("ab", 32)));
        using var types = JsonDocument.Parse("""{"Voucher":[{"name":"channelId","type":"bytes32"},{"name":"cumulativeAmount","type":"uint96"}]}""");
        _general = Eip712.FromJson(types.RootElement.Clone());
        _domain = JsonDocument.Parse("""{"name":"TIP20 Channel Reserve","version":"1","chainId":1337,"verifyingContract":"0x4d50500000000000000000000000000000000000"}""").RootElement.Clone();
        _message = JsonDocument.Parse($$"""{"channelId":"{{Hex.Encode(_channelId)}}","cumulativeAmount":"2000"}""").RootElement.Clone();
        var payee = EvmAddress.Parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
        _transaction = new TempoTransaction
        {
            ChainId = 1337,
            MaxPriorityFeePerGas = 1_000_000_000,
            MaxFeePerGas = 24_000_000_000,
            Gas = 539_000,
            Calls = [new TempoCall(EvmAddress.Parse(TempoAssets.PathUsdAddress), 0, Abi.TransferWithMemo(payee, 10_000, new byte[32]))],
            ValidBefore = 1_767_225_625,
            ValidAfter = 1_249_857_884,
            FeeToken = EvmAddress.Parse(TempoAssets.PathUsdAddress),
        };
        _digest = _voucher.Digest(_channelId, 2000);
        _signature = _signer.SignHashAsync(_digest, default).AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _signer.Dispose();

    [Benchmark(Description = "secp256k1 signature of a 32-byte hash (RFC 6979, low-s, recovery id)")]
    public (byte[] R, byte[] S, int YParity) SignHash() => Secp256k1.Sign(_digest, _key);

    [Benchmark(Description = "EIP-712 voucher: hash + sign (65-byte rsv)")]
    public async Task<byte[]> SignVoucher() => (await _signer.SignHashAsync(_voucher.Digest(_channelId, ++_amount), default)).ToRsv();

    [Benchmark(Description = "EIP-712 voucher through the general JSON encoder: hash + sign")]
    public async Task<byte[]> SignVoucherGeneral() => (await _signer.SignHashAsync(_general.Digest(_domain, "Voucher", _message), default)).ToRsv();

    [Benchmark(Description = "Tempo charge transaction: encode + hash + sign + serialize")]
    public async Task<byte[]> SignTransaction() => _transaction.Serialize(await _signer.SignHashAsync(_transaction.SigningHash(), default), _signer.Address);

    [Benchmark(Description = "Recover the signer's address")]
    public EvmAddress Recover() => _signature.RecoverAddress(_digest);
}

using BenchmarkDotNet.Attributes;
using Mpp.Client.Tempo;
using Mpp.Client.Tempo.Evm;
using Mpp.Client.Tempo.Sessions;
using Mpp.Client.Tempo.Transactions;

namespace Mpp.Client.Benchmarks;

/// <summary>Signing and recovery, the Tempo method's CPU: a bare signature (ours on NBitcoin.Secp256k1, and Nethereum's default path), the EIP-712 voucher (the bench's sign-voucher) by our digest and by Nethereum's encoder, a charge transaction, recovery.</summary>
[MemoryDiagnoser]
[MedianColumn]
public class TempoBenchmarks
{
    private PrivateKeySigner _signer = null!;
    private Voucher _voucher = null!;
    private Nethereum.Signer.EthECKey _nethereumKey = null!;
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
        _nethereumKey = new Nethereum.Signer.EthECKey(_key, isPrivate: true);
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
    public async Task<EvmSignature> SignHash() => await _signer.SignHashAsync(_digest, default);

    [Benchmark(Description = "The same through Nethereum's EthECKey default path (BouncyCastle, recovery id by trial)")]
    public Nethereum.Signer.EthECDSASignature SignHashNethereumDefault() => _nethereumKey.SignAndCalculateV(_digest);

    [Benchmark(Description = "EIP-712 voucher: hash + sign (65-byte rsv)")]
    public async Task<byte[]> SignVoucher() => (await _signer.SignHashAsync(_voucher.Digest(_channelId, ++_amount), default)).ToRsv();

    [Benchmark(Description = "EIP-712 voucher through Nethereum's typed-data encoder: hash + sign")]
    public async Task<byte[]> SignVoucherNethereumEncoder()
        => (await _signer.SignHashAsync(Keccak.Hash(Nethereum.ABI.EIP712.Eip712TypedDataEncoder.Current.EncodeTypedDataRaw(_voucher.TypedData(_channelId, ++_amount))), default)).ToRsv();

    [Benchmark(Description = "Tempo charge transaction: encode + hash + sign + serialize")]
    public async Task<byte[]> SignTransaction() => _transaction.Serialize(await _signer.SignHashAsync(_transaction.SigningHash(), default), _signer.Address);

    [Benchmark(Description = "Recover the signer's address")]
    public EvmAddress Recover() => _signature.RecoverAddress(_digest);
}

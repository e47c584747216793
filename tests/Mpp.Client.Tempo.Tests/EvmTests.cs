using Mpp.Client.Tempo.Charge;
using Mpp.Client.Tempo.Evm;
using Nethereum.RLP;

namespace Mpp.Client.Tempo.Tests;

/// <summary>The EVM layer against external vectors.</summary>
public sealed class EvmTests
{
    private const string DevKey0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    [TestCase("", "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")]
    [TestCase("mpp", "0xef1ed712", Description = "the attribution memo tag (first 4 bytes)")]
    public void Keccak_is_the_original_keccak_not_sha3(string input, string expectedPrefix)
    {
        Assert.That(Hex.Encode(Keccak.Hash(input)), Does.StartWith(expectedPrefix));
    }

    // EIP-55 specification examples.
    [TestCase("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")]
    [TestCase("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359")]
    [TestCase("0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB")]
    [TestCase("0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb")]
    public void Addresses_print_with_the_eip55_checksum_and_a_wrong_checksum_is_refused(string address)
    {
        Assert.That(EvmAddress.Parse(address.ToLowerInvariant()).ToString(), Is.EqualTo(address));
        Assert.That(EvmAddress.Parse(address.ToUpperInvariant().Replace("0X", "0x", StringComparison.Ordinal)).ToString(), Is.EqualTo(address));
        var broken = address[..^1] + (char.IsUpper(address[^1]) ? char.ToLowerInvariant(address[^1]) : char.ToUpperInvariant(address[^1]));
        Assert.That(EvmAddress.TryParse(broken, out _), Is.EqualTo(!char.IsLetter(address[^1])));
    }

    [Test]
    public void The_well_known_dev_key_has_the_well_known_address_and_signatures_recover_to_it()
    {
        using var signer = PrivateKeySigner.FromHex(DevKey0);
        var hash = Keccak.Hash("anything");

        var signature = signer.SignHashAsync(hash, default).AsTask().Result;

        Assert.That(signer.Address.ToString(), Is.EqualTo("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"));
        Assert.That(signature.RecoverAddress(hash), Is.EqualTo(signer.Address));
        Assert.That(signer.ToString(), Does.Not.Contain("ac0974"));
    }

    [Test]
    public void A_disposed_signer_zeroes_its_key_and_refuses_to_sign()
    {
        var signer = PrivateKeySigner.FromHex(DevKey0);
        signer.Dispose();

        Assert.Throws<ObjectDisposedException>(() => signer.SignHashAsync(new byte[32], default).AsTask().GetAwaiter().GetResult());
    }

    [TestCase("")]
    [TestCase("0x1234")]
    [TestCase("zz0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")]
    [TestCase("0x0000000000000000000000000000000000000000000000000000000000000000")]
    public void An_invalid_key_is_refused_without_echoing_it(string key)
    {
        var ex = Assert.Catch<ArgumentException>(() => PrivateKeySigner.FromHex(key));

        Assert.That(ex!.Message, Does.Not.Contain("bec39a17"));
    }

    [Test]
    public void Signatures_are_low_s_and_recover_for_many_keys()
    {
        var halfN = System.Numerics.BigInteger.Parse("7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0", System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 1; i <= 50; i++)
        {
            var key = Keccak.Hash("key " + i);
            using var signer = PrivateKeySigner.FromHex(Hex.Encode(key));
            var hash = Keccak.Hash("message " + i);
            var signature = signer.SignHashAsync(hash, default).AsTask().Result;
            Assert.That(new System.Numerics.BigInteger(signature.S.Span, isUnsigned: true, isBigEndian: true), Is.LessThanOrEqualTo(halfN));
            Assert.That(signature.RecoverAddress(hash), Is.EqualTo(signer.Address));
            Assert.That(EvmSignature.FromRsv(signature.ToRsv()).RecoverAddress(hash), Is.EqualTo(signer.Address));
        }
    }

    // The EIP-712 "Mail" example (ethereum/EIPs assets/eip-712/Example.js), key keccak("cow"), hashed by Nethereum's encoder.
    [Test]
    public void The_eip712_mail_example_hashes_through_nethereum_and_signs_exactly()
    {
        const string Json = """
        {"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"},{"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}],
                  "Person":[{"name":"name","type":"string"},{"name":"wallet","type":"address"}],
                  "Mail":[{"name":"from","type":"Person"},{"name":"to","type":"Person"},{"name":"contents","type":"string"}]},
         "primaryType":"Mail",
         "domain":{"name":"Ether Mail","version":"1","chainId":1,"verifyingContract":"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
         "message":{"from":{"name":"Cow","wallet":"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},"to":{"name":"Bob","wallet":"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},"contents":"Hello, Bob!"}}
        """;
        using var signer = PrivateKeySigner.FromHex(Hex.Encode(Keccak.Hash("cow")));
        var hashes = Nethereum.ABI.EIP712.Eip712TypedDataEncoder.Current.CalculateTypedDataHashes(Json);

        var signature = signer.SignHashAsync(hashes.TypedDataHash, default).AsTask().Result;

        Assert.Multiple(() =>
        {
            Assert.That(signer.Address.ToString(), Is.EqualTo("0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"));
            Assert.That(Hex.Encode(hashes.DomainHash), Is.EqualTo("0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f"));
            Assert.That(Hex.Encode(hashes.MessageHash), Is.EqualTo("0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e"));
            Assert.That(Hex.Encode(hashes.TypedDataHash), Is.EqualTo("0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"));
            Assert.That(signature.YParity + 27, Is.EqualTo(28));
            Assert.That(Hex.Encode(signature.R.Span), Is.EqualTo("0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d"));
            Assert.That(Hex.Encode(signature.S.Span), Is.EqualTo("0x07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562"));
        });
    }

    [Test]
    public void The_reference_session_voucher_hashes_and_signs_exactly_through_nethereums_encoder_and_ours()
    {
        var vector = Vectors.Load("session-voucher.json").GetProperty("voucher");
        var message = vector.GetProperty("message");
        var voucher = new Sessions.Voucher(vector.GetProperty("domain").GetProperty("chainId").GetInt64(), EvmAddress.Parse(vector.GetProperty("domain").GetProperty("verifyingContract").GetString()!));
        var channelId = Hex.Decode(message.GetProperty("channelId").GetString()!);
        var amount = System.Numerics.BigInteger.Parse(message.GetProperty("cumulativeAmount").ToString(), System.Globalization.CultureInfo.InvariantCulture);
        using var signer = PrivateKeySigner.FromHex(DevKey0);

        var nethereum = Nethereum.ABI.EIP712.Eip712TypedDataEncoder.Current.CalculateTypedDataHashes(voucher.TypedData(channelId, amount));
        var ours = voucher.Digest(channelId, amount);

        Assert.That(Hex.Encode(nethereum.DomainHash), Is.EqualTo(vector.GetProperty("domainSeparator").GetString()));
        Assert.That(Hex.Encode(voucher.DomainSeparator), Is.EqualTo(vector.GetProperty("domainSeparator").GetString()));
        Assert.That(Hex.Encode(nethereum.TypedDataHash), Is.EqualTo(vector.GetProperty("digest").GetString()));
        Assert.That(Hex.Encode(ours), Is.EqualTo(vector.GetProperty("digest").GetString()));
        Assert.That(Hex.Encode(signer.SignHashAsync(ours, default).AsTask().Result.ToRsv()), Is.EqualTo(vector.GetProperty("signature").GetString()));
    }

    [Test]
    public void The_specialised_voucher_hash_equals_nethereums_encoder_for_many_amounts_and_channels()
    {
        var random = new Random(12);
        var channelId = new byte[32];
        foreach (var chainId in new long[] { 1, 1337, 4217, 42431, long.MaxValue })
        {
            var voucher = new Sessions.Voucher(chainId, EvmAddress.FromBytes(Keccak.Hash("escrow " + chainId).AsSpan(12)));
            foreach (var amount in new[] { System.Numerics.BigInteger.Zero, System.Numerics.BigInteger.One, 255, 256, 1_000_000, Sessions.Voucher.MaxAmount })
            {
                random.NextBytes(channelId);
                var expected = Nethereum.ABI.EIP712.Eip712TypedDataEncoder.Current.CalculateTypedDataHashes(voucher.TypedData(channelId, amount)).TypedDataHash;
                Assert.That(voucher.Digest(channelId, amount), Is.EqualTo(expected), $"chain {chainId}, amount {amount}");
            }
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => new Sessions.Voucher(1, default).Digest(new byte[32], Sessions.Voucher.MaxAmount + 1));
    }

    // protocol.md §3.2.4: mppx src/tempo/Proof.conformance.test.ts, digest re-computed independently.
    [Test]
    public void The_zero_amount_proof_is_mppx_v3_exactly()
    {
        using var signer = PrivateKeySigner.FromHex("0x" + string.Concat(Enumerable.Repeat("01", 32)));
        var typed = ZeroAmountProof.TypedData(42431, signer.Address, "kM9xPqWvT2nJrHsY4aDfEb", "api.example.com");

        var digest = ZeroAmountProof.Digest(typed);

        Assert.That(signer.Address.ToString(), Is.EqualTo("0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1"));
        Assert.That(Hex.Encode(digest), Is.EqualTo("0x3860a700a55e02ad3c2dc047e92489feceecbdb0a801d948e1d9f0b61ea9bc3f"));
        Assert.That(Hex.Encode(signer.SignHashAsync(digest, default).AsTask().Result.ToRsv()), Is.EqualTo("0x53f5d64d9f995e841b4212639b2e17e508e96752e10316df3814a16443dcbdb626c082190a4c3ecc3148101eb443d15bd83b579380b1be735a9c99f0df36c9fe1b"));
    }

    [Test]
    public void The_attribution_memo_matches_the_derived_vector_and_the_reference_clients()
    {
        Assert.That(Hex.Encode(AttributionMemo.Create("api.example.com", "kM9xPqWvT2nJrHsY4aDfEb")), Is.EqualTo("0xef1ed712011ece072f76bd8b82350e000000000000000000001128fb265e760d"));
        var charge = Vectors.Load("charge.json");
        Assert.That(Hex.Encode(AttributionMemo.Create("interop.local", charge.GetProperty("challenge").GetProperty("parsed").GetProperty("id").GetString()!)),
            Is.EqualTo(charge.GetProperty("attributionMemo").GetProperty("value").GetString()));
    }

    [TestCase(0, "80")]
    [TestCase(127, "7f")]
    [TestCase(128, "8180")]
    [TestCase(1024, "820400")]
    public void Rlp_integers_are_minimal(long value, string hex)
    {
        Assert.That(Convert.ToHexString(Transactions.TempoTransaction.Integer(value)).ToLowerInvariant(), Is.EqualTo(hex));
    }

    [Test]
    public void Rlp_integers_up_to_the_expiring_nonce_key_are_minimal_big_endian()
    {
        Assert.That(Transactions.TempoTransaction.Integer(Transactions.TempoTransaction.ExpiringNonceKey), Is.EqualTo(new byte[] { 0xa0 }.Concat(Enumerable.Repeat((byte)0xff, 32)).ToArray()));
        Assert.That(Transactions.TempoTransaction.Integer(long.MaxValue), Is.EqualTo(new byte[] { 0x88, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Transactions.TempoTransaction.Integer(-1));
    }
}

/// <summary>More external vectors: EIP-155's own example transaction, RLP-encoded by Nethereum.RLP and signed by our signer.</summary>
public sealed class EvmVectorTests
{
    // EIP-155 "Example": nonce 9, 20 gwei, 21000 gas, to 0x3535…35, 1 ether, chain 1, key 0x4646…46.
    [Test]
    public void The_eip155_example_transaction_signs_exactly()
    {
        using var signer = PrivateKeySigner.FromHex("0x" + string.Concat(Enumerable.Repeat("46", 32)));
        var to = Evm.Hex.Decode("0x" + string.Concat(Enumerable.Repeat("35", 20)));
        byte[][] fields = [Integer(9), Integer(20_000_000_000), Integer(21000), RLP.EncodeElement(to), Integer(System.Numerics.BigInteger.Pow(10, 18)), RLP.EncodeElement([])];
        var signingData = RLP.EncodeList([.. fields, Integer(1), Integer(0), Integer(0)]);
        var hash = Evm.Keccak.Hash(signingData);

        var signature = signer.SignHashAsync(hash, default).AsTask().Result;
        var signed = RLP.EncodeList([.. fields, Integer(35 + 2 + signature.YParity), RLP.EncodeElement(signature.R.ToArray()), RLP.EncodeElement(signature.S.ToArray())]);

        Assert.That(Evm.Hex.Encode(signingData), Is.EqualTo("0xec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080"));
        Assert.That(Evm.Hex.Encode(hash), Is.EqualTo("0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"));
        Assert.That(Evm.Hex.Encode(signed), Is.EqualTo("0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"));
    }

    private static byte[] Integer(System.Numerics.BigInteger value) => Transactions.TempoTransaction.Integer(value);
}

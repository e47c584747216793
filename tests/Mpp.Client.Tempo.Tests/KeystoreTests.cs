using System.Text.Json.Nodes;
using Mpp.Client.Tempo.Evm;
using Nethereum.KeyStore;
using Nethereum.KeyStore.Crypto;
using Nethereum.KeyStore.Model;
using Nethereum.Signer;

namespace Mpp.Client.Tempo.Tests;

/// <summary>Web3 Secret Storage keystores: files made by other tools open, ours open elsewhere, and every failure is typed.</summary>
public sealed class KeystoreTests
{
    private const string SpecPassword = "testpassword";
    private const string SpecKey = "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";

    /// <summary>Cheap scrypt costs for round trips (the default, N = 2^18, is tested once).</summary>
    private static readonly ScryptParams Cheap = new() { Dklen = 32, N = 1024, R = 8, P = 1 };

    [TestCase("keystore-scrypt.json")]
    [TestCase("keystore-pbkdf2.json")]
    public void The_web3_secret_storage_spec_vectors_open_with_their_password_to_their_key(string file)
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "Vectors", file);

        using var signer = PrivateKeySigner.FromKeystore(path, SpecPassword);

        Assert.That(signer.Address.ToString(), Is.EqualTo(new EthECKey(SpecKey).GetPublicAddress()), "the address Nethereum derives from the spec's key");
    }

    [Test]
    public void A_wrong_passphrase_is_a_typed_error_that_never_repeats_it()
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "Vectors", "keystore-scrypt.json");

        var ex = Assert.Throws<KeystoreException>(() => PrivateKeySigner.FromKeystore(path, "not-the-password"));

        Assert.That(ex!.Error, Is.EqualTo(KeystoreError.WrongPassword));
        Assert.That(ex.Message, Does.Not.Contain("not-the-password"));
    }

    [Test]
    public void Our_keystore_round_trips_and_nethereums_own_reader_gets_the_same_key_back()
    {
        using var signer = PrivateKeySigner.FromHex("0x" + SpecKey);

        var json = signer.ToKeystoreJson("correct horse", Cheap);

        using var reopened = PrivateKeySigner.FromKeystoreJson(json, "correct horse");
        Assert.That(reopened.Address, Is.EqualTo(signer.Address));
        Assert.That(Convert.ToHexStringLower(new KeyStoreService().DecryptKeyStoreFromJson("correct horse", json)), Is.EqualTo(SpecKey));
        Assert.That(json, Does.Not.Contain(SpecKey));
        var root = JsonNode.Parse(json)!;
        Assert.That((root["version"]!.GetValue<int>(), root["crypto"]!["kdf"]!.GetValue<string>(), root["crypto"]!["cipher"]!.GetValue<string>()), Is.EqualTo((3, "scrypt", "aes-128-ctr")));
        Assert.That(root["address"]!.GetValue<string>(), Is.EqualTo(signer.Address.Lower[2..]));
    }

    [Test]
    public void The_default_keystore_uses_scrypt_with_n_2_to_the_18()
    {
        using var signer = PrivateKeySigner.Generate();

        var json = signer.ToKeystoreJson("pass");

        Assert.That(JsonNode.Parse(json)!["crypto"]!["kdfparams"]!["n"]!.GetValue<int>(), Is.EqualTo(262144));
        using var reopened = PrivateKeySigner.FromKeystoreJson(json, "pass");
        Assert.That(reopened.Address, Is.EqualTo(signer.Address));
    }

    [TestCase("not json", TestName = "Not JSON")]
    [TestCase("[]", TestName = "Not an object")]
    [TestCase("""{"version":2,"crypto":{}}""", TestName = "Version 2")]
    [TestCase("""{"version":3}""", TestName = "No crypto")]
    [TestCase("""{"version":3,"crypto":{"cipher":"aes-256-gcm"}}""", TestName = "Another cipher")]
    [TestCase("""{"version":3,"crypto":{"cipher":"aes-128-ctr","ciphertext":"zz","mac":"00","cipherparams":{"iv":"00000000000000000000000000000000"},"kdf":"scrypt","kdfparams":{"dklen":32,"n":1024,"r":8,"p":1,"salt":"00"}}}""", TestName = "Ciphertext not hex")]
    [TestCase("""{"version":3,"crypto":{"cipher":"aes-128-ctr","ciphertext":"00","mac":"00","cipherparams":{"iv":"00000000000000000000000000000000"},"kdf":"argon2","kdfparams":{"dklen":32,"salt":"00"}}}""", TestName = "Another kdf")]
    [TestCase("""{"version":3,"crypto":{"cipher":"aes-128-ctr","ciphertext":"00","mac":"00","cipherparams":{"iv":"00000000000000000000000000000000"},"kdf":"scrypt","kdfparams":{"dklen":32,"n":1073741824,"r":8,"p":1,"salt":"00"}}}""", TestName = "An scrypt cost that would take 128 GiB")]
    [TestCase("""{"version":3,"crypto":{"cipher":"aes-128-ctr","ciphertext":"00","mac":"00","cipherparams":{"iv":"00000000000000000000000000000000"},"kdf":"pbkdf2","kdfparams":{"dklen":32,"c":2000000000,"prf":"hmac-sha256","salt":"00"}}}""", TestName = "Two billion PBKDF2 rounds")]
    [TestCase("""{"version":3,"crypto":{"cipher":"aes-128-ctr","ciphertext":"00","mac":"00","cipherparams":{"iv":"00"},"kdf":"scrypt","kdfparams":{"dklen":32,"n":1024,"r":8,"p":1,"salt":"00"}}}""", TestName = "A short IV")]
    public void A_corrupt_or_unsafe_keystore_is_a_typed_error_before_any_key_derivation(string json)
    {
        var ex = Assert.Throws<KeystoreException>(() => PrivateKeySigner.FromKeystoreJson(json, "pass"));

        Assert.That(ex!.Error, Is.EqualTo(KeystoreError.Corrupt));
    }

    [TestCase(16)]
    [TestCase(31)]
    [TestCase(33)]
    public void A_keystore_holding_a_secret_of_the_wrong_length_is_refused(int length)
    {
        var json = HandMadeKeystore(Enumerable.Range(1, length).Select(i => (byte)i).ToArray(), "pass");

        var ex = Assert.Throws<KeystoreException>(() => PrivateKeySigner.FromKeystoreJson(json, "pass"));

        Assert.That(ex!.Error, Is.EqualTo(KeystoreError.InvalidKey));
        Assert.That(ex.Message, Does.Contain("32 bytes"));
    }

    [Test]
    public void A_keystore_holding_zero_or_n_is_refused()
    {
        var n = Convert.FromHexString("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");
        Assert.That(Assert.Throws<KeystoreException>(() => PrivateKeySigner.FromKeystoreJson(HandMadeKeystore(new byte[32], "pass"), "pass"))!.Error, Is.EqualTo(KeystoreError.InvalidKey));
        Assert.That(Assert.Throws<KeystoreException>(() => PrivateKeySigner.FromKeystoreJson(HandMadeKeystore(n, "pass"), "pass"))!.Error, Is.EqualTo(KeystoreError.InvalidKey));
    }

    [Test]
    public void A_keystore_whose_address_is_not_its_key_s_is_refused()
    {
        using var signer = PrivateKeySigner.FromHex("0x" + SpecKey);
        var json = JsonNode.Parse(signer.ToKeystoreJson("pass", Cheap))!;
        json["address"] = "70997970c51812dc3a010c7d01b50e0d17dc79c8";

        var ex = Assert.Throws<KeystoreException>(() => PrivateKeySigner.FromKeystoreJson(json.ToJsonString(), "pass"));

        Assert.That(ex!.Error, Is.EqualTo(KeystoreError.Corrupt));
    }

    [Test]
    public void A_missing_file_is_unreadable()
    {
        var ex = Assert.Throws<KeystoreException>(() => PrivateKeySigner.FromKeystore(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N")), "pass"));

        Assert.That(ex!.Error, Is.EqualTo(KeystoreError.Unreadable));
    }

    [Test]
    public void A_disposed_signer_cannot_export_a_keystore()
    {
        var signer = PrivateKeySigner.Generate();
        signer.Dispose();

        Assert.Throws<ObjectDisposedException>(() => signer.ToKeystoreJson("pass", Cheap));
    }

    /// <summary>A keystore around any secret, built with Nethereum's own primitives (its writer insists on 32 bytes).</summary>
    private static string HandMadeKeystore(byte[] secret, string password)
    {
        var crypto = new KeyStoreCrypto();
        var salt = Keccak.Hash("salt")[..16];
        var iv = Keccak.Hash("iv")[..16];
        var derived = crypto.GenerateDerivedScryptKey(crypto.GetPasswordAsBytes(password), salt, Cheap.N, Cheap.R, Cheap.P, Cheap.Dklen);
        var cipherText = crypto.GenerateAesCtrCipher(iv, crypto.GenerateCipherKey(derived), secret);
        var mac = crypto.GenerateMac(derived, cipherText);
        return new JsonObject
        {
            ["version"] = 3,
            ["id"] = Guid.NewGuid().ToString(),
            ["crypto"] = new JsonObject
            {
                ["cipher"] = "aes-128-ctr",
                ["ciphertext"] = Convert.ToHexStringLower(cipherText),
                ["cipherparams"] = new JsonObject { ["iv"] = Convert.ToHexStringLower(iv) },
                ["kdf"] = "scrypt",
                ["kdfparams"] = new JsonObject { ["dklen"] = 32, ["n"] = Cheap.N, ["r"] = Cheap.R, ["p"] = Cheap.P, ["salt"] = Convert.ToHexStringLower(salt) },
                ["mac"] = Convert.ToHexStringLower(mac),
            },
        }.ToJsonString();
    }
}

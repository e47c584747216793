using System.Text;
using Mpp.Client.Protocol;

namespace Mpp.Client.Tests.Protocol;

public sealed class Base64UrlCodecTests
{
    // RFC 4648 §10 test vectors, without padding.
    [TestCase("", "")]
    [TestCase("f", "Zg")]
    [TestCase("fo", "Zm8")]
    [TestCase("foo", "Zm9v")]
    [TestCase("foob", "Zm9vYg")]
    [TestCase("fooba", "Zm9vYmE")]
    [TestCase("foobar", "Zm9vYmFy")]
    [TestCase(">>>???", "Pj4-Pz8_")]
    public void Encoding_is_unpadded_and_url_safe_and_decoding_reverses_it(string text, string encoded)
    {
        Assert.That(Base64UrlCodec.EncodeUtf8(text), Is.EqualTo(encoded));
        Assert.That(Base64UrlCodec.DecodeUtf8(encoded), Is.EqualTo(text));
    }

    [TestCase("Zg==", "f")]
    [TestCase("Zm8=", "fo")]
    [TestCase("Pj4+Pz8/", ">>>???")]
    public void Decoding_accepts_padding_and_the_standard_alphabet(string encoded, string text)
    {
        Assert.That(Base64UrlCodec.DecodeUtf8(encoded), Is.EqualTo(text));
    }

    [TestCase("not-valid!!!")]
    [TestCase("Zm9v Yg")]
    [TestCase("Zm9v\nYg")]
    [TestCase("Z")]
    [TestCase("Zm9vY")]
    [TestCase("Zg=")]
    [TestCase("Z=g")]
    [TestCase("Zg===")]
    [TestCase("Zm9v\u00e9")]
    public void Decoding_rejects_anything_outside_the_alphabet_or_of_impossible_length(string encoded)
    {
        var ex = Assert.Throws<MppProtocolException>(() => Base64UrlCodec.Decode(encoded));

        Assert.That(ex!.Kind, Is.EqualTo(MppProtocolErrorKind.Encoding));
    }

    [Test]
    public void Decoding_text_rejects_bytes_that_are_not_utf8()
    {
        var ex = Assert.Throws<MppProtocolException>(() => Base64UrlCodec.DecodeUtf8("_w"));

        Assert.That(ex!.Message, Does.Contain("UTF-8"));
    }

    [Test]
    public void Encoding_text_with_a_lone_surrogate_is_an_encoding_error()
    {
        var ex = Assert.Throws<MppProtocolException>(() => Base64UrlCodec.EncodeUtf8("a\ud800b"));

        Assert.That(ex!.Kind, Is.EqualTo(MppProtocolErrorKind.Encoding));
    }

    [Test]
    public void Every_byte_value_round_trips_at_every_length()
    {
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        for (var length = 0; length <= bytes.Length; length++)
        {
            var slice = bytes.AsSpan(0, length).ToArray();
            var encoded = Base64UrlCodec.Encode(slice);
            Assert.That(encoded, Does.Not.Contain("=").And.Not.Contain("+").And.Not.Contain("/"));
            Assert.That(encoded, Is.EqualTo(Convert.ToBase64String(slice).TrimEnd('=').Replace('+', '-').Replace('/', '_')));
            Assert.That(Base64UrlCodec.Decode(encoded), Is.EqualTo(slice));
        }
    }

    [Test]
    public void Long_inputs_are_encoded_without_a_size_limit()
    {
        var text = new string('x', 10_000);

        Assert.That(Encoding.UTF8.GetString(Base64UrlCodec.Decode(Base64UrlCodec.EncodeUtf8(text))), Is.EqualTo(text));
    }
}

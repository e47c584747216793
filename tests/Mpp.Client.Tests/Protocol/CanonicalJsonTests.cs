using Mpp.Client.Protocol;
using Mpp.Client.Tests.Vectors;

namespace Mpp.Client.Tests.Protocol;

public sealed class CanonicalJsonTests
{
    [Test]
    public void Members_are_sorted_by_utf16_code_units_as_rfc_8785_shows()
    {
        // RFC 8785 §3.2.3: the sorted order differs from code-point order for "\ud83d\ude00" vs "\ufb33".
        var json = ReferenceVectors.Json("{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\",\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":\"Control\",\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}");

        var canonical = CanonicalJson.Serialize(json);

        Assert.That(canonical, Is.EqualTo("{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\",\"\ud83d\ude00\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"));
    }

    [Test]
    public void Upper_case_sorts_before_lower_case()
    {
        Assert.That(CanonicalJson.Serialize(ReferenceVectors.Json("""{"amount":"1","Currency":"USD","ZONE":"eu","network":{"chainId":1,"Layer":"L2"}}""")),
            Is.EqualTo("""{"Currency":"USD","ZONE":"eu","amount":"1","network":{"Layer":"L2","chainId":1}}"""));
    }

    [TestCase("333333333.33333329", "333333333.3333333")]
    [TestCase("1E30", "1e+30")]
    [TestCase("4.50", "4.5")]
    [TestCase("2e-3", "0.002")]
    [TestCase("0.000000000000000000000000001", "1e-27")]
    [TestCase("-0", "0")]
    [TestCase("1e21", "1e+21")]
    [TestCase("1e20", "100000000000000000000")]
    [TestCase("1e-7", "1e-7")]
    [TestCase("1e-6", "0.000001")]
    [TestCase("123e-2", "1.23")]
    [TestCase("-1.5e-9", "-1.5e-9")]
    [TestCase("1337", "1337")]
    [TestCase("9007199254740993", "9007199254740992")]
    [TestCase("5e-324", "5e-324")]
    [TestCase("1.7976931348623157e308", "1.7976931348623157e+308")]
    public void Numbers_use_the_ecmascript_shortest_form(string input, string expected)
    {
        Assert.That(CanonicalJson.Serialize(ReferenceVectors.Json(input)), Is.EqualTo(expected));
    }

    [Test]
    public void A_number_outside_the_double_range_is_refused()
    {
        Assert.Throws<MppProtocolException>(() => CanonicalJson.Serialize(ReferenceVectors.Json("1e400")));
    }

    [Test]
    public void Strings_escape_only_what_json_requires_and_keep_html_and_non_ascii_raw()
    {
        var json = ReferenceVectors.Json("\"<a href='x'>&</a> caf\\u00e9 \\u2615 \\\" \\\\ \\/ \\b\\f\\n\\r\\t \\u0001 \\u001f \\u007f\"");

        Assert.That(CanonicalJson.Serialize(json), Is.EqualTo("\"<a href='x'>&</a> caf\u00e9 \u2615 \\\" \\\\ / \\b\\f\\n\\r\\t \\u0001 \\u001f \u007f\""));
    }

    [Test]
    public void A_lone_surrogate_is_refused()
    {
        Assert.Throws<MppProtocolException>(() => CanonicalJson.Serialize(ReferenceVectors.Json("\"\\ud800\"")));
    }

    [Test]
    public void A_repeated_member_is_refused()
    {
        var ex = Assert.Throws<MppProtocolException>(() => CanonicalJson.Serialize(ReferenceVectors.Json("""{"a":1,"a":2}""")));

        Assert.That(ex!.Parameter, Is.EqualTo("a"));
    }

    [Test]
    public void The_cross_sdk_request_vector_encodes_exactly()
    {
        var request = ReferenceVectors.Json("""{"recipient":"0x1234567890abcdef1234567890abcdef12345678","amount":"1000000","currency":"0x20c0000000000000000000000000000000000000"}""");

        Assert.That(CanonicalJson.SerializeToBase64Url(request),
            Is.EqualTo("eyJhbW91bnQiOiIxMDAwMDAwIiwiY3VycmVuY3kiOiIweDIwYzAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAiLCJyZWNpcGllbnQiOiIweDEyMzQ1Njc4OTBhYmNkZWYxMjM0NTY3ODkwYWJjZGVmMTIzNDU2NzgifQ"));
    }

    [Test]
    public void Arrays_keep_their_order_and_literals_are_written_plainly()
    {
        Assert.That(CanonicalJson.Serialize(ReferenceVectors.Json("""[ 3, "b", {"z":null,"a":[true,false]}, [] ]""")),
            Is.EqualTo("""[3,"b",{"a":[true,false],"z":null},[]]"""));
    }
}

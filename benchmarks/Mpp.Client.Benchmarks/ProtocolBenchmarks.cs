using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Mpp.Client.Protocol;

namespace Mpp.Client.Benchmarks;

/// <summary>The protocol core's hot operations on the reference server's own values.</summary>
[MemoryDiagnoser]
[MedianColumn]
public class ProtocolBenchmarks
{
    // The WWW-Authenticate value of shared/interop/vectors/charge.json (mppx 0.11.0, deterministic vector).
    private const string ChargeChallenge = "Payment id=\"kFKeFpZU3MvhNaqtmz-5YoHG7aDe4MRSNJbZLVwLSCY\", realm=\"interop.local\", method=\"tempo\", intent=\"charge\", request=\"eyJhbW91bnQiOiIxMDAwMCIsImN1cnJlbmN5IjoiMHgyMGMwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwIiwibWV0aG9kRGV0YWlscyI6eyJjaGFpbklkIjoxMzM3fSwicmVjaXBpZW50IjoiMHg3MDk5Nzk3MEM1MTgxMmRjM0EwMTBDN2QwMWI1MGUwZDE3ZGM3OUM4In0\", description=\"interop charge\", expires=\"2026-01-01T00:05:00.000Z\"";

    // A signed 0x76 transaction of the same size as the vector's payload (the bytes do not matter to encoding).
    private static readonly string Signature = "0x76f9" + new string('a', 560);

    private PaymentChallenge _challenge = null!;
    private JsonElement _payload;
    private string[] _headers = null!;

    [GlobalSetup]
    public void Setup()
    {
        _challenge = PaymentChallenge.Parse(ChargeChallenge);
        _payload = JsonDocument.Parse($$"""{"signature":"{{Signature}}","type":"transaction"}""").RootElement.Clone();
        _headers = [ChargeChallenge];
    }

    [Benchmark(Description = "Parse one charge challenge")]
    public PaymentChallenge ParseChallenge() => PaymentChallenge.Parse(ChargeChallenge);

    [Benchmark(Description = "ParseAll over the response's values")]
    public int ParseAllChallenges() => PaymentChallenge.ParseAll(_headers).Challenges.Count;

    [Benchmark(Description = "Encode a charge credential")]
    public string EncodeCredential() => new PaymentCredential(_challenge, _payload, "did:pkh:eip155:1337:0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266").ToHeaderValue();
}

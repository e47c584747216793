using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Mpp.Client.Testing;

/// <summary>Source-generated JSON metadata for what the kit serializes.</summary>
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(JsonNode))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(long))]
internal sealed partial class TestingJsonContext : JsonSerializerContext;

using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;

namespace Mpp.Client.Tempo.Evm;

/// <summary>
/// EIP-712 typed-data hashing, general: nested structs, arrays (dynamic and fixed), <c>bytes</c>,
/// <c>string</c>, every <c>uintN</c>/<c>intN</c> (range-checked) and <c>bytesN</c>, dependencies in ordinal
/// order, and the domain type inferred from the fields present as viem does (an explicit
/// <c>EIP712Domain</c> in <c>types</c> wins). Values come as JSON, the form wallets exchange.
/// </summary>
internal sealed class Eip712
{
    private static readonly string[] DomainFieldOrder = ["name", "version", "chainId", "verifyingContract", "salt"];
    private static readonly Dictionary<string, string> DomainFieldTypes = new(StringComparer.Ordinal)
    {
        ["name"] = "string", ["version"] = "string", ["chainId"] = "uint256", ["verifyingContract"] = "address", ["salt"] = "bytes32",
    };

    private readonly Dictionary<string, IReadOnlyList<(string Name, string Type)>> _types;

    public Eip712(Dictionary<string, IReadOnlyList<(string Name, string Type)>> types) => _types = types;

    /// <summary>Reads <c>types</c> in the JSON form (<c>{"Mail":[{"name":"from","type":"Person"}, …]}</c>).</summary>
    public static Eip712 FromJson(JsonElement types)
    {
        var result = new Dictionary<string, IReadOnlyList<(string, string)>>(StringComparer.Ordinal);
        foreach (var type in types.EnumerateObject())
        {
            result[type.Name] = [.. type.Value.EnumerateArray().Select(f => (f.GetProperty("name").GetString()!, f.GetProperty("type").GetString()!))];
        }

        return new Eip712(result);
    }

    /// <summary>The digest to sign: <c>keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(message))</c>.</summary>
    public byte[] Digest(JsonElement domain, string primaryType, JsonElement message)
    {
        var buffer = new byte[66];
        buffer[0] = 0x19;
        buffer[1] = 0x01;
        DomainSeparator(domain).CopyTo(buffer, 2);
        HashStruct(primaryType, message).CopyTo(buffer, 34);
        return Keccak.Hash(buffer);
    }

    public byte[] DomainSeparator(JsonElement domain)
    {
        if (_types.ContainsKey("EIP712Domain"))
        {
            return HashStruct("EIP712Domain", domain);
        }

        // No explicit domain type: the fields present, in canonical order.
        var fields = DomainFieldOrder.Where(f => domain.TryGetProperty(f, out _)).Select(f => (f, DomainFieldTypes[f])).ToList();
        var withDomain = new Dictionary<string, IReadOnlyList<(string, string)>>(_types, StringComparer.Ordinal) { ["EIP712Domain"] = fields };
        return new Eip712(withDomain).HashStruct("EIP712Domain", domain);
    }

    public string EncodeType(string primaryType)
    {
        var dependencies = new SortedSet<string>(StringComparer.Ordinal);
        CollectDependencies(primaryType, dependencies);
        dependencies.Remove(primaryType);
        var sb = new StringBuilder();
        foreach (var type in new[] { primaryType }.Concat(dependencies))
        {
            sb.Append(type).Append('(').AppendJoin(',', Fields(type).Select(f => f.Type + " " + f.Name)).Append(')');
        }

        return sb.ToString();
    }

    public byte[] TypeHash(string primaryType) => Keccak.Hash(EncodeType(primaryType));

    public byte[] HashStruct(string type, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"EIP-712: a {type} must be a JSON object.");
        }

        var fields = Fields(type);
        var encoded = new byte[32 * (fields.Count + 1)];
        TypeHash(type).CopyTo(encoded, 0);
        for (var i = 0; i < fields.Count; i++)
        {
            var (name, fieldType) = fields[i];
            if (!value.TryGetProperty(name, out var fieldValue))
            {
                throw new FormatException($"EIP-712: {type}.{name} is missing.");
            }

            EncodeValue(fieldType, fieldValue).CopyTo(encoded, 32 * (i + 1));
        }

        return Keccak.Hash(encoded);
    }

    private IReadOnlyList<(string Name, string Type)> Fields(string type)
        => _types.TryGetValue(type, out var fields) ? fields : throw new FormatException($"EIP-712: the type '{type}' is not defined.");

    private void CollectDependencies(string type, SortedSet<string> found)
    {
        var baseType = BaseType(type);
        if (!_types.TryGetValue(baseType, out var fields) || !found.Add(baseType))
        {
            return;
        }

        foreach (var (_, fieldType) in fields)
        {
            CollectDependencies(fieldType, found);
        }
    }

    private static string BaseType(string type) => type.IndexOf('[', StringComparison.Ordinal) is var i and >= 0 ? type[..i] : type;

    private byte[] EncodeValue(string type, JsonElement value)
    {
        if (type.EndsWith(']'))
        {
            var open = type.LastIndexOf('[');
            var elementType = type[..open];
            var lengthText = type[(open + 1)..^1];
            if (value.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException($"EIP-712: a {type} must be a JSON array.");
            }

            if (lengthText.Length > 0 && value.GetArrayLength() != int.Parse(lengthText, CultureInfo.InvariantCulture))
            {
                throw new FormatException($"EIP-712: a {type} must have {lengthText} elements.");
            }

            var parts = value.EnumerateArray().Select(e => EncodeValue(elementType, e)).ToArray();
            return Keccak.Hash(parts.SelectMany(p => p).ToArray());
        }

        if (_types.ContainsKey(type))
        {
            return HashStruct(type, value);
        }

        switch (type)
        {
            case "address":
                return Abi.AddressWord(EvmAddress.Parse(value.GetString() ?? throw new FormatException("EIP-712: an address must be a string.")));
            case "bool":
                return Hex.Word(value.ValueKind switch
                {
                    JsonValueKind.True => 1,
                    JsonValueKind.False => 0,
                    _ => throw new FormatException("EIP-712: a bool must be true or false."),
                });
            case "string":
                return Keccak.Hash(value.GetString() ?? throw new FormatException("EIP-712: a string must be a JSON string."));
            case "bytes":
                return Keccak.Hash(Hex.Decode(value.GetString() ?? throw new FormatException("EIP-712: bytes must be a hex string.")));
        }

        if (type.StartsWith("bytes", StringComparison.Ordinal) && int.TryParse(type.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var size) && size is >= 1 and <= 32)
        {
            var bytes = Hex.Decode(value.GetString() ?? throw new FormatException($"EIP-712: a {type} must be a hex string."));
            if (bytes.Length > size)
            {
                throw new FormatException($"EIP-712: a {type} holds at most {size} bytes; got {bytes.Length}.");
            }

            var word = new byte[32];
            bytes.CopyTo(word, 0); // bytesN is right-padded
            return word;
        }

        var signed = type.StartsWith("int", StringComparison.Ordinal);
        if ((signed || type.StartsWith("uint", StringComparison.Ordinal)) &&
            int.TryParse(type.AsSpan(signed ? 3 : 4), NumberStyles.None, CultureInfo.InvariantCulture, out var bits) && bits is >= 8 and <= 256 && bits % 8 == 0)
        {
            var number = ReadInteger(value, type);
            var min = signed ? -(BigInteger.One << (bits - 1)) : BigInteger.Zero;
            var max = signed ? (BigInteger.One << (bits - 1)) - 1 : (BigInteger.One << bits) - 1;
            if (number < min || number > max)
            {
                throw new FormatException($"EIP-712: {number} is out of range for {type}.");
            }

            return Hex.Word(number.Sign < 0 ? (BigInteger.One << 256) + number : number);
        }

        throw new FormatException($"EIP-712: the type '{type}' is not supported.");
    }

    private static BigInteger ReadInteger(JsonElement value, string type)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Number when value.TryGetInt64(out var small):
                return small;
            case JsonValueKind.Number:
                return BigInteger.Parse(value.GetRawText(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            case JsonValueKind.String:
                var text = value.GetString()!;
                if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
                {
                    return Hex.DecodeQuantity(text.ToLowerInvariant().Replace("0X", "0x", StringComparison.Ordinal));
                }

                if (BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
                {
                    return parsed;
                }

                break;
        }

        throw new FormatException($"EIP-712: a {type} must be an integer (number, decimal string or 0x hex).");
    }
}

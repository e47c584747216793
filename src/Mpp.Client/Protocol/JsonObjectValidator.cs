using System.Buffers;
using System.Text.Json;

namespace Mpp.Client.Protocol;

/// <summary>
/// Checks, without building a document, that UTF-8 bytes hold exactly one JSON object with no member
/// name repeated inside any object. Duplicate members are refused because two parsers may disagree on
/// which copy wins, and an amount must mean the same thing to the server and to us.
/// </summary>
internal static class JsonObjectValidator
{
    private const int MaxDepth = 64;

    public static void ValidateObject(ReadOnlySpan<byte> utf8, string parameter)
    {
        // Utf8JsonReader checks structure but leaves unescaped string bytes to be validated when read.
        if (!System.Text.Unicode.Utf8.IsValid(utf8))
        {
            throw MppProtocolException.Parse($"The '{parameter}' value is not valid UTF-8.", parameter);
        }

        // Small documents (every real challenge request) are checked in stack memory; larger ones rent.
        byte[]? rentedNames = null;
        int[]? rentedRanges = null;
        var names = utf8.Length <= 1024 ? stackalloc byte[1024] : (rentedNames = ArrayPool<byte>.Shared.Rent(utf8.Length));
        var ranges = (Span<int>)stackalloc int[128];
        Span<int> frames = stackalloc int[(MaxDepth + 2) * 2];
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw MppProtocolException.Parse($"The '{parameter}' value must be a JSON object.", parameter);
            }

            // A frame is (first range index, first name byte) of the object being read; arrays push (-1, names used).
            var top = 0;
            var rangeCount = 0;
            var namesUsed = 0;
            frames[0] = 0;
            frames[1] = 0;
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        top++;
                        frames[top * 2] = rangeCount;
                        frames[(top * 2) + 1] = namesUsed;
                        break;
                    case JsonTokenType.StartArray:
                        top++;
                        frames[top * 2] = -1;
                        frames[(top * 2) + 1] = namesUsed;
                        break;
                    case JsonTokenType.EndObject:
                        if (frames[top * 2] >= 0)
                        {
                            rangeCount = frames[top * 2];
                        }

                        namesUsed = frames[(top * 2) + 1];
                        top--;
                        break;
                    case JsonTokenType.EndArray:
                        namesUsed = frames[(top * 2) + 1];
                        top--;
                        break;
                    case JsonTokenType.PropertyName:
                        var length = reader.CopyString(names.Slice(namesUsed));
                        var name = names.Slice(namesUsed, length);
                        for (var r = frames[top * 2]; r < rangeCount; r++)
                        {
                            if (name.SequenceEqual(names.Slice(ranges[r * 2], ranges[(r * 2) + 1])))
                            {
                                throw MppProtocolException.Parse(
                                    $"The '{parameter}' JSON repeats the member name '{System.Text.Encoding.UTF8.GetString(name)}'.",
                                    parameter);
                            }
                        }

                        if ((rangeCount + 1) * 2 > ranges.Length)
                        {
                            var grown = ArrayPool<int>.Shared.Rent(ranges.Length * 2);
                            ranges[..(rangeCount * 2)].CopyTo(grown);
                            if (rentedRanges is not null)
                            {
                                ArrayPool<int>.Shared.Return(rentedRanges);
                            }

                            rentedRanges = grown;
                            ranges = grown;
                        }

                        ranges[rangeCount * 2] = namesUsed;
                        ranges[(rangeCount * 2) + 1] = length;
                        rangeCount++;
                        namesUsed += length;
                        break;
                    case JsonTokenType.String when reader.ValueIsEscaped:
                        // Unescape into scratch space only to refuse escaped lone surrogates now, not later in a payment method.
                        reader.CopyString(names.Slice(namesUsed));
                        break;
                }
            }
        }
        catch (JsonException ex)
        {
            throw MppProtocolException.Parse($"The '{parameter}' value is not valid JSON (byte {ex.BytePositionInLine}).", parameter);
        }
        catch (InvalidOperationException)
        {
            // Thrown by CopyString for escapes that do not form valid UTF-16 (a lone surrogate).
            throw MppProtocolException.Parse($"The '{parameter}' JSON holds an invalid \\u escape (a lone surrogate).", parameter);
        }
        finally
        {
            if (rentedNames is not null)
            {
                ArrayPool<byte>.Shared.Return(rentedNames);
            }

            if (rentedRanges is not null)
            {
                ArrayPool<int>.Shared.Return(rentedRanges);
            }
        }
    }
}

using System.Buffers;
using System.Text.Json;

namespace Mpp.Client.Protocol;

/// <summary>
/// Checks, without building a document, that UTF-8 bytes hold exactly one JSON object with no member
/// name repeated inside any object. Duplicate members are refused because two parsers may disagree on
/// which copy wins, and an amount must mean the same thing to the server and to us.
/// </summary>
/// <remarks>
/// Linear in the input: an object's first <see cref="LinearScanMembers"/> names are compared one by one (no
/// allocation, the common case); past that the object's names go into a hash set, so an object with thousands
/// of members costs thousands of lookups, not millions of comparisons.
/// </remarks>
internal static class JsonObjectValidator
{
    private const int MaxDepth = 64;
    private const int LinearScanMembers = 16;

    /// <summary>
    /// Name comparisons and hash lookups done by validations on this thread, summed; the property tests read it
    /// to check that the work grows linearly with the input. One write per validation.
    /// </summary>
    [ThreadStatic]
    private static long t_work;

    internal static long WorkDone => t_work;

    /// <summary>Whether <paramref name="utf8"/> passes <see cref="ValidateObject"/>.</summary>
    public static bool IsValidObject(ReadOnlySpan<byte> utf8)
    {
        try
        {
            ValidateObject(utf8, "json");
            return true;
        }
        catch (MppProtocolException)
        {
            return false;
        }
    }

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
        HashSet<string>?[]? sets = null; // per depth, once an object there has many members
        long work = 0;
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
                        sets?[top]?.Clear();
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

                        sets?[top]?.Clear();

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
                        var first = frames[top * 2];
                        var set = sets?[top];
                        if (set is { Count: > 0 })
                        {
                            work++;
                            if (!set.Add(System.Text.Encoding.UTF8.GetString(name)))
                            {
                                throw Repeated(parameter, name);
                            }
                        }
                        else if (rangeCount - first < LinearScanMembers)
                        {
                            work += rangeCount - first;
                            for (var r = first; r < rangeCount; r++)
                            {
                                if (name.SequenceEqual(names.Slice(ranges[r * 2], ranges[(r * 2) + 1])))
                                {
                                    throw Repeated(parameter, name);
                                }
                            }
                        }
                        else
                        {
                            // Many members: every name of this object so far (all distinct) goes into a set, then this one.
                            sets ??= new HashSet<string>?[MaxDepth + 2];
                            set = sets[top] ??= new HashSet<string>(StringComparer.Ordinal);
                            for (var r = first; r < rangeCount; r++)
                            {
                                set.Add(System.Text.Encoding.UTF8.GetString(names.Slice(ranges[r * 2], ranges[(r * 2) + 1])));
                            }

                            work += (rangeCount - first) + 1;
                            if (!set.Add(System.Text.Encoding.UTF8.GetString(name)))
                            {
                                throw Repeated(parameter, name);
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
            t_work += work;
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

    private static MppProtocolException Repeated(string parameter, ReadOnlySpan<byte> name)
        => MppProtocolException.Parse($"The '{parameter}' JSON repeats the member name '{System.Text.Encoding.UTF8.GetString(name)}'.", parameter);
}

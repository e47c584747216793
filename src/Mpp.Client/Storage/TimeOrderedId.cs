namespace Mpp.Client;

/// <summary>
/// Ids for reservations and journal entries that sort by creation time (RFC 9562 UUID version 7): a durable store keyed by
/// them appends at the end of its index instead of writing into random pages of an ever larger one.
/// </summary>
internal static class TimeOrderedId
{
    /// <summary>A new version 7 id: <paramref name="now"/> in milliseconds, then 74 random bits.</summary>
    /// <param name="now">The creation time (from the services' <see cref="TimeProvider"/>).</param>
    /// <returns>The id.</returns>
    public static Guid New(DateTimeOffset now)
    {
#if NET9_0_OR_GREATER
        return Guid.CreateVersion7(now);
#else
        Span<byte> random = stackalloc byte[10];
        System.Security.Cryptography.RandomNumberGenerator.Fill(random);
        return FromParts(now.ToUnixTimeMilliseconds(), random);
#endif
    }

    /// <summary>The version 7 id of <paramref name="unixMilliseconds"/> with the 10 bytes of <paramref name="random"/> (of which 74 bits are kept).</summary>
    /// <param name="unixMilliseconds">The time, in milliseconds since 1970 (48 bits are kept).</param>
    /// <param name="random">10 random bytes.</param>
    /// <returns>The id.</returns>
    internal static Guid FromParts(long unixMilliseconds, ReadOnlySpan<byte> random)
    {
        Span<byte> bytes = stackalloc byte[16];
        for (var i = 0; i < 6; i++)
        {
            bytes[i] = (byte)(unixMilliseconds >> (40 - (8 * i)));
        }

        random[..10].CopyTo(bytes[6..]);
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F)); // version 7
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F)); // the RFC 9562 variant
        return new Guid(bytes, bigEndian: true);
    }
}

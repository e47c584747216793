namespace Mpp.Client;

/// <summary>
/// Makes a request body replayable before the first send, within a bound, without copying bodies that
/// already live in memory. A body that cannot be made replayable is sent once, as is, and never resent.
/// </summary>
internal static class RequestBody
{
    public static ValueTask<bool> MakeReplayableAsync(HttpContent? content, long maxBytes, CancellationToken cancellationToken)
    {
        if (content is null or ByteArrayContent or ReadOnlyMemoryContent)
        {
            return ValueTask.FromResult(true); // in memory (StringContent, FormUrlEncodedContent…): serialized afresh each send
        }

        if (content.Headers.ContentLength is { } length && length > maxBytes)
        {
            return ValueTask.FromResult(false);
        }

        if (HasUnboundedStream(content))
        {
            return ValueTask.FromResult(false); // buffering might stop half-way through a one-shot stream and ruin the request
        }

        return LoadAsync(content, maxBytes, cancellationToken);
    }

    private static async ValueTask<bool> LoadAsync(HttpContent content, long maxBytes, CancellationToken cancellationToken)
    {
        try
        {
#if NET9_0_OR_GREATER
            await content.LoadIntoBufferAsync(maxBytes, cancellationToken).ConfigureAwait(false);
#else
            cancellationToken.ThrowIfCancellationRequested();
            await content.LoadIntoBufferAsync(maxBytes).ConfigureAwait(false);
#endif
            return true;
        }
        catch (HttpRequestException)
        {
            return false; // over the bound; such contents (JSON, multipart of in-memory parts) still serialize for the one send
        }
    }

    private static bool HasUnboundedStream(HttpContent content) => content switch
    {
        StreamContent stream => stream.Headers.ContentLength is null,
        MultipartContent multipart => multipart.Any(HasUnboundedStream),
        _ => false,
    };
}

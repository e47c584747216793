using System.Text.Json;
using Mpp.Client.Protocol;

namespace Mpp.Client.Mcp;

/// <summary>
/// Sits in the MCP client's HttpClient and keeps a copy of the JSON-RPC payment errors (<c>-32042</c>, <c>-32043</c>,
/// <c>-32602</c>, <c>-32603</c>) in the answers to a paid call's POSTs, whatever the MCP SDK does with them. MCP C# SDK
/// 2.3.1 reads a <c>-32042</c> error as URL elicitation (the same code) and, when its data has no <c>elicitations</c>,
/// fails with a <see cref="JsonException"/> that carries none of the challenges; this handler is how they are still read.
/// Only answers to calls made by <see cref="PaidMcpClient"/> are observed (an ambient marker set per call); the bytes
/// pass through unchanged.
/// </summary>
internal sealed class McpPaymentCaptureHandler : DelegatingHandler
{
    private static readonly AsyncLocal<PaymentErrorCapture?> Current = new();

    public McpPaymentCaptureHandler(HttpMessageHandler inner)
        : base(inner)
    {
    }

    /// <summary>Observes the POST answers of the calling flow until disposed.</summary>
    public static PaymentErrorCapture Begin()
    {
        var capture = new PaymentErrorCapture();
        Current.Value = capture;
        return capture;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var capture = Current.Value;
        if (capture is null || capture.IsEnded || request.Method != HttpMethod.Post || response.Content is null)
        {
            return response;
        }

        var inner = response.Content;
        var stream = await inner.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var observed = new StreamContent(new ObservingStream(stream, capture));
        foreach (var header in inner.Headers)
        {
            observed.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        response.Content = observed;
        return response;
    }

    /// <summary>The bytes of one paid call's answers (bounded), read back for payment errors when the SDK throws.</summary>
    internal sealed class PaymentErrorCapture : IDisposable
    {
        private const int MaxBytes = 1024 * 1024;
        private readonly MemoryStream _bytes = new();
        private readonly object _gate = new();

        public bool IsEnded { get; private set; }

        public void Append(ReadOnlySpan<byte> data)
        {
            lock (_gate)
            {
                if (!IsEnded && _bytes.Length + data.Length <= MaxBytes)
                {
                    _bytes.Write(data);
                }
            }
        }

        /// <summary>The last JSON-RPC payment error seen (a whole JSON body, or an SSE <c>data:</c> event), if any.</summary>
        public bool TryGetError(out int code, out JsonElement? data)
        {
            byte[] captured;
            lock (_gate)
            {
                captured = _bytes.ToArray();
            }

            code = 0;
            data = null;
            var found = false;
            foreach (var bytes in Messages(captured))
            {
                if (!JsonObjectValidator.IsValidObject(bytes))
                {
                    continue; // not one JSON-RPC message we can read unambiguously
                }

                try
                {
                    using var document = JsonDocument.Parse(bytes);
                    if (document.RootElement.ValueKind == JsonValueKind.Object &&
                        document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object &&
                        error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out var value))
                    {
                        code = value;
                        data = error.TryGetProperty("data", out var d) ? d.Clone() : null;
                        found = true;
                    }
                }
                catch (JsonException)
                {
                    // not a JSON-RPC message (or cut off): skipped
                }
            }

            return found;
        }

        public void Dispose()
        {
            lock (_gate)
            {
                IsEnded = true;
                _bytes.Dispose();
            }
        }

        /// <summary>
        /// The JSON-RPC messages of the bytes, kept as bytes (so text that is not UTF-8 is refused, not replaced): the whole
        /// body when it is JSON, or each SSE event's data (its <c>data:</c> lines joined by LF).
        /// </summary>
        private static IEnumerable<byte[]> Messages(byte[] bytes)
        {
            var start = 0;
            while (start < bytes.Length && bytes[start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                start++;
            }

            if (start < bytes.Length && bytes[start] is (byte)'{' or (byte)'[')
            {
                yield return bytes[start..];
                yield break;
            }

            using var data = new MemoryStream();
            for (var lineStart = 0; lineStart <= bytes.Length;)
            {
                var newline = Array.IndexOf(bytes, (byte)'\n', lineStart);
                var lineEnd = newline < 0 ? bytes.Length : newline;
                var line = bytes.AsMemory(lineStart, lineEnd - lineStart);
                if (line.Length > 0 && line.Span[^1] == (byte)'\r')
                {
                    line = line[..^1];
                }

                if (line.Length == 0)
                {
                    if (data.Length > 0)
                    {
                        yield return data.ToArray();
                        data.SetLength(0);
                    }
                }
                else if (line.Span.StartsWith("data:"u8))
                {
                    if (data.Length > 0)
                    {
                        data.WriteByte((byte)'\n');
                    }

                    var value = line[5..];
                    data.Write(value.Length > 0 && value.Span[0] == (byte)' ' ? value.Span[1..] : value.Span);
                }

                if (newline < 0)
                {
                    break;
                }

                lineStart = newline + 1;
            }

            if (data.Length > 0)
            {
                yield return data.ToArray();
            }
        }
    }

    /// <summary>A read-through stream that copies what is read into the capture.</summary>
    private sealed class ObservingStream(Stream inner, PaymentErrorCapture capture) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            capture.Append(buffer.AsSpan(offset, read));
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            capture.Append(buffer.Span[..read]);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

using System.Text;
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
            string text;
            lock (_gate)
            {
                text = Encoding.UTF8.GetString(_bytes.GetBuffer(), 0, (int)_bytes.Length);
            }

            code = 0;
            data = null;
            var found = false;
            foreach (var candidate in Messages(text))
            {
                var bytes = Encoding.UTF8.GetBytes(candidate);
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

        private static IEnumerable<string> Messages(string text)
        {
            var trimmed = text.TrimStart();
            if (trimmed.StartsWith('{') || trimmed.StartsWith('['))
            {
                yield return trimmed;
                yield break;
            }

            // SSE: an event's data is its data: lines joined by LF.
            var data = new StringBuilder();
            foreach (var raw in text.Split('\n'))
            {
                var line = raw.TrimEnd('\r');
                if (line.Length == 0)
                {
                    if (data.Length > 0)
                    {
                        yield return data.ToString();
                        data.Clear();
                    }

                    continue;
                }

                if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    if (data.Length > 0)
                    {
                        data.Append('\n');
                    }

                    data.Append(line.AsSpan(line.Length > 5 && line[5] == ' ' ? 6 : 5));
                }
            }

            if (data.Length > 0)
            {
                yield return data.ToString();
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

using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Mpp.Client.Testing.Http;

/// <summary>
/// An <see cref="HttpMessageHandler"/> that runs the test server's pipeline in process, without sockets: the request
/// becomes an <see cref="HttpContext"/>, the response body streams through a pipe (so SSE works), and an aborted
/// response surfaces as an <see cref="HttpRequestException"/>, like a dropped connection.
/// </summary>
internal sealed class InMemoryHttpHandler(Func<HttpContext, Task> pipeline) : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.RequestUri ?? throw new InvalidOperationException("The request has no URI.");
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var context = new DefaultHttpContext();
        var http = context.Request;
        http.Method = request.Method.Method;
        http.Scheme = uri.Scheme;
        http.Host = new HostString(uri.Authority);
        http.Path = PathString.FromUriComponent(uri);
        http.QueryString = QueryString.FromUriComponent(uri);
        foreach (var header in request.Headers.Concat(request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>()))
        {
            http.Headers.Append(header.Key, header.Value.ToArray());
        }

        http.Body = new MemoryStream(body);
        http.ContentLength = body.Length;

        var pipe = new Pipe();
        var lifetime = new Lifetime(cancellationToken);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        context.Features.Set<IHttpRequestLifetimeFeature>(lifetime);
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(new StartSignallingStream(pipe.Writer.AsStream(), started)));
        _ = Task.Run(
            async () =>
            {
                Exception? failure = null;
                try
                {
                    await pipeline(context).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
                {
                    failure = ex;
                }
                finally
                {
                    started.TrySetResult();
                    await pipe.Writer.CompleteAsync(lifetime.IsAborted ? new IOException("The test server dropped the connection.") : failure).ConfigureAwait(false);
                }
            },
            CancellationToken.None);

        await Task.WhenAny(started.Task, lifetime.Aborted).ConfigureAwait(false);
        if (lifetime.IsAborted)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new HttpRequestException(HttpRequestError.ResponseEnded, "The test server dropped the connection without answering.");
        }

        var response = new HttpResponseMessage((HttpStatusCode)context.Response.StatusCode)
        {
            RequestMessage = request,
            Content = new StreamContent(new AbortOnDisposeStream(pipe.Reader.AsStream(), lifetime)),
        };
        foreach (var header in context.Response.Headers)
        {
            if (!response.Headers.TryAddWithoutValidation(header.Key, (IEnumerable<string?>)header.Value))
            {
                response.Content.Headers.TryAddWithoutValidation(header.Key, (IEnumerable<string?>)header.Value);
            }
        }

        if (context.Response.ContentType is { } contentType && response.Content.Headers.ContentType is null)
        {
            response.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        return response;
    }

    /// <summary>Request abortion: by the server (<see cref="Abort"/>), by the client's token, or when the client disposes the response.</summary>
    private sealed class Lifetime : IHttpRequestLifetimeFeature
    {
        private readonly CancellationTokenSource _source;
        private readonly TaskCompletionSource _aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Lifetime(CancellationToken clientToken)
        {
            _source = CancellationTokenSource.CreateLinkedTokenSource(clientToken);
            _source.Token.Register(() => _aborted.TrySetResult());
            RequestAborted = _source.Token;
        }

        public CancellationToken RequestAborted { get; set; }

        public Task Aborted => _aborted.Task;

        public bool IsAborted => _aborted.Task.IsCompleted;

        public void Abort()
        {
            try
            {
                _source.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>Signals that the response has started (headers are final) on the first write or flush.</summary>
    private sealed class StartSignallingStream(Stream inner, TaskCompletionSource started) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            started.TrySetResult();
            await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            started.TrySetResult();
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <summary>The response body as the client reads it; disposing it ends the request on the server side, like closing a connection.</summary>
    private sealed class AbortOnDisposeStream(Stream inner, Lifetime lifetime) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                lifetime.Abort();
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

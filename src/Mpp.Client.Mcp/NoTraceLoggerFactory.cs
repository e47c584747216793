using Microsoft.Extensions.Logging;

namespace Mpp.Client.Mcp;

/// <summary>
/// The logger factory handed to the MCP SDK: the application's, without <see cref="LogLevel.Trace"/>. At that level the SDK
/// logs whole JSON-RPC messages, and a paid call's <c>params._meta</c> carries its credential (a bearer token). Does not own
/// the wrapped factory.
/// </summary>
internal sealed class NoTraceLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new NoTraceLogger(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose()
    {
        // The application owns the wrapped factory.
    }

    private sealed class NoTraceLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel > LogLevel.Trace && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel > LogLevel.Trace)
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mpp.Cli.Tests;

/// <summary>Runs the tool in process with its own home, environment and captured output.</summary>
internal sealed class CliTestHost : IDisposable
{
    public CliTestHost() => Home = Directory.CreateTempSubdirectory("mpp-cli-test-").FullName;

    public string Home { get; }

    public Dictionary<string, string> Variables { get; } = [];

    public Func<HttpMessageHandler>? PrimaryHandler { get; set; }

    /// <summary>Plays the terminal's no-echo prompt (null: stdin is not a terminal, as in CI).</summary>
    public Func<string, string?>? ReadSecret { get; set; }

    public async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var variables = new Dictionary<string, string>(Variables) { ["MPP_HOME"] = Home };
        var environment = new CliEnvironment(output, error, name => variables.GetValueOrDefault(name), Home, interactive: false) { PrimaryHandler = PrimaryHandler, ReadSecret = ReadSecret };
        var code = await MppCli.RunAsync(args, environment, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }

    public void Dispose() => Directory.Delete(Home, recursive: true);
}

/// <summary>A plain Kestrel server on 127.0.0.1 for routes that need no payment logic.</summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackServer(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    public static async Task<LoopbackServer> StartAsync(Action<WebApplication> routes)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(System.Net.IPAddress.Loopback, 0));
        var app = builder.Build();
        routes(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LoopbackServer(app, new Uri(address + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Mpp.Client.Tempo.Sessions;

/// <summary>
/// Recovers remembered channels when the host starts and, when <see cref="TempoSessionOptions.CloseOnShutdown"/> is set,
/// closes the open ones cooperatively when it stops, so deposits do not stay locked after the agent exits. Channels shared by
/// a fleet (<see cref="ChannelSharing.Shared"/>) outlive any one agent and are not closed here.
/// </summary>
internal sealed class SessionShutdownService(TempoSessionManager manager, IOptions<TempoSessionOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (options.Value.CloseOnShutdown && options.Value.Sharing == ChannelSharing.Exclusive)
        {
            await manager.CloseAllAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}

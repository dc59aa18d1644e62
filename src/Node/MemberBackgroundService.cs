using Microsoft.Extensions.Hosting;

namespace Cairn.Node;

/// <summary>
/// The member's periodic duties outside the request path: publishing its attributes once, and
/// the require-leader monitor (one check per election timeout).
/// </summary>
internal sealed class MemberBackgroundService(Member member) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var publish = member.PublishAttributesAsync(stoppingToken);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(member.Config.ElectionTimeoutMs));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
                member.CheckLeader();
        }
        catch (OperationCanceledException)
        {
        }

        try
        {
            await publish.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}

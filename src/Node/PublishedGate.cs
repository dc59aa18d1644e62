using Microsoft.AspNetCore.Http;

namespace Cairn.Node;

/// <summary>
/// Holds client requests until this member's attributes are in the replicated member list, as
/// etcd's client listeners serve only after ReadyNotify. A fresh member waits for its publish to
/// commit; a restarted one passes as soon as it has replayed its log. Without the gate, a client
/// could read `member list` from a member that is not yet listed with its client URLs.
/// </summary>
internal static class PublishedGate
{
    /// <summary>
    /// The request middleware. A request that gives up (client cancel) or arrives while the member
    /// stops is aborted: there is no gRPC answer that would be truer than none.
    /// </summary>
    public static Func<HttpContext, RequestDelegate, Task> Middleware(Member member, CancellationToken stopping) =>
        async (context, next) =>
        {
            if (!member.Published.IsCompleted)
            {
                using var waiting = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
                try
                {
                    await member.Published.WaitAsync(waiting.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    context.Abort();
                    return;
                }
            }

            await next(context).ConfigureAwait(false);
        };
}

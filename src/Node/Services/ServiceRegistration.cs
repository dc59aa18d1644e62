using Cairn.Grpc;
using Cairn.Node.Auth;
using Google.Protobuf;

namespace Cairn.Node.Services;

/// <summary>
/// Registers a unary etcd method with the checks every etcd method shares: WithRequireLeader
/// (metadata <c>hasleader: true</c> on a member without a leader → Unavailable "etcdserver: no leader"),
/// and the caller's auth token (metadata <c>token</c>) made known to the member for the call.
/// </summary>
internal static class ServiceRegistration
{
    /// <summary>The metadata key etcd's WithRequireLeader sets.</summary>
    public const string RequireLeaderKey = "hasleader";

    /// <summary>Adds a unary method whose handler needs only the request and the call's token.</summary>
    public static void Unary<TReq, TResp>(
        GrpcServiceRegistry registry, Member member, string path, MessageParser<TReq> parser,
        Func<TReq, CancellationToken, Task<TResp>> handler)
        where TReq : class, IMessage<TReq>
        where TResp : class, IMessage<TResp>
    {
        registry.AddUnary<TReq, TResp>(path, parser, async (request, context) =>
        {
            LearnerGuard.CheckRequest(member, request);
            member.CheckRequireLeader(context.GetHeader(RequireLeaderKey));
            CallToken.Set(context.GetHeader(CallToken.MetadataKey));
            return await handler(request, context.CancellationToken).ConfigureAwait(false);
        });
    }

    /// <summary>Adds a unary method answered synchronously from local state.</summary>
    public static void Unary<TReq, TResp>(
        GrpcServiceRegistry registry, Member member, string path, MessageParser<TReq> parser,
        Func<TReq, TResp> handler)
        where TReq : class, IMessage<TReq>
        where TResp : class, IMessage<TResp> =>
        Unary<TReq, TResp>(registry, member, path, parser, (request, _) => Task.FromResult(handler(request)));
}

using System.Globalization;
using Cairn.Grpc;
using Cairn.Protocol;
using Etcdserverpb;
using Microsoft.AspNetCore.Http;

namespace Cairn.Node;

/// <summary>
/// etcd 3.4's restrictions on a learner member's client API (its v3rpc interceptors): while this
/// member is a learner in the replicated member list, only Maintenance.Status and a serializable
/// KV.Range are served; every other unary call and every stream (Watch, LeaseKeepAlive,
/// Snapshot) is refused with Unavailable "etcdserver: rpc not supported for learner". A learner
/// neither votes nor counts towards a quorum, so anything linearizable or written through it would
/// only add a hop; Unavailable makes clients move on to another endpoint.
/// </summary>
/// <remarks>
/// Two halves, because one decision needs the request body: <see cref="Middleware"/> refuses by
/// path before anything is read (so it also covers services added later, e.g. Auth, as etcd's
/// interceptor covers every service), and lets Range through to the handler, where
/// <see cref="CheckRequest"/> refuses a Range that is not serializable.
/// </remarks>
internal static class LearnerGuard
{
    /// <summary>etcd's ErrGPRCNotSupportedForLearner message.</summary>
    public const string NotSupportedMessage = "etcdserver: rpc not supported for learner";

    private const string StatusPath = "/etcdserverpb.Maintenance/Status";
    private const string RangePath = "/etcdserverpb.KV/Range";

    /// <summary>etcd's ErrGPRCNotSupportedForLearner (code Unavailable).</summary>
    public static RpcException NotSupported() => new(StatusCode.Unavailable, NotSupportedMessage);

    /// <summary>
    /// The request middleware: on a learner, a registered method other than Status and Range gets
    /// the error as a trailers-only gRPC response. Unknown paths and non-gRPC requests pass through
    /// (the gRPC server answers them as it would on any member).
    /// </summary>
    public static Func<HttpContext, RequestDelegate, Task> Middleware(Member member, GrpcServiceRegistry registry) =>
        (context, next) =>
        {
            var path = context.Request.Path.Value ?? string.Empty;
            if (!member.IsLearner || path is StatusPath or RangePath
                || !GrpcProtocol.IsGrpcContentType(context.Request.ContentType) || !registry.Paths.Contains(path))
            {
                return next(context);
            }

            var response = context.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = GrpcProtocol.ContentType;
            response.Headers[GrpcProtocol.StatusHeader] = ((int)StatusCode.Unavailable).ToString(CultureInfo.InvariantCulture);
            response.Headers[GrpcProtocol.MessageHeader] = GrpcStatusMessage.Encode(NotSupportedMessage);
            return response.CompleteAsync();
        };

    /// <summary>The per-request half: on a learner, a Range must be serializable (etcd's isRPCSupportedForLearner).</summary>
    public static void CheckRequest(Member member, object request)
    {
        if (request is RangeRequest { Serializable: false } && member.IsLearner)
            throw NotSupported();
    }
}

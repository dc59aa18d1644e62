namespace Cairn.Grpc;

/// <summary>A registered method: its path and how to run one call of it.</summary>
internal abstract class GrpcMethod
{
    protected GrpcMethod(string path) => Path = path;

    /// <summary>The full path, <c>/package.Service/Method</c>.</summary>
    public string Path { get; }

    /// <summary>Reads the request(s), runs the handler, writes the response(s). Status is the caller's job.</summary>
    public abstract Task InvokeAsync(GrpcServerCall call);
}

using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;

namespace Cairn.Api.Tests;

/// <summary>Hand-built gRPC requests over h2c, with no framing code from Cairn.Grpc.</summary>
public static class RawHttp
{
    public static HttpClient CreateClient() => new(new SocketsHttpHandler { EnableMultipleHttp2Connections = true })
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(20),
    };

    public static byte[] Frame(byte[] payload, byte flag = 0, uint? length = null)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), length ?? (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    public static byte[] Frame(IMessage message) => Frame(message.ToByteArray());

    public sealed record Result(HttpStatusCode HttpStatus, HttpResponseHeaders Headers, byte[] Body, HttpResponseHeaders Trailers)
    {
        /// <summary>grpc-status from trailers or, for trailers-only responses, the headers.</summary>
        public int? GrpcStatus => Get("grpc-status") is { } s ? int.Parse(s) : null;

        public string? GrpcMessage => Get("grpc-message");

        public bool TrailersOnly => Headers.Contains("grpc-status");

        private string? Get(string name) =>
            Trailers.TryGetValues(name, out var t) ? t.First()
            : Headers.TryGetValues(name, out var h) ? h.First() : null;
    }

    public static async Task<Result> PostAsync(HttpClient client, Uri address, string path, byte[] body,
        string contentType = "application/grpc", IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, path))
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        foreach (var (k, v) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(k, v);
        }
        using var response = await client.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return new Result(response.StatusCode, response.Headers, bytes, response.TrailingHeaders);
    }
}

using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Node.Auth;

/// <summary>The header of any etcd response message (its field "header"), created if missing.</summary>
internal static class ResponseHeaders
{
    /// <summary>The response's header; every Auth response has one at field 1.</summary>
    public static ResponseHeader Of(IMessage response)
    {
        var field = response.Descriptor.FindFieldByName("header")
            ?? throw new ArgumentException($"{response.Descriptor.Name} has no header", nameof(response));
        if (field.Accessor.GetValue(response) is ResponseHeader header)
            return header;
        header = new ResponseHeader();
        field.Accessor.SetValue(response, header);
        return header;
    }
}

using System.Text.RegularExpressions;

namespace Cairn.IntegrationTests.Differential;

/// <summary>
/// The only parts of etcdctl's output that may differ between two correct members, replaced by placeholders before
/// transcripts are compared. Everything else, revisions included, must match byte for byte. Keep this list short:
/// each rule hides a class of bugs.
/// </summary>
public static partial class Masking
{
    /// <summary>
    /// Applies every rule to one stream (stdout or stderr) of one etcdctl invocation.
    /// <list type="number">
    /// <item>JSON (<c>-w json</c>) response headers: <c>"cluster_id":N</c>, <c>"member_id":N</c>, <c>"raft_term":N</c>
    /// (numbers only: a quoted or missing value is not masked and shows up as a difference).</item>
    /// <item><c>-w fields</c> headers: lines <c>"ClusterID" : N</c>, <c>"MemberID" : N</c>, <c>"RaftTerm" : N</c>.</item>
    /// <item>The client library's own log line on stderr for a failed request
    /// (<c>{"level":"warn","ts":"…","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-&lt;uuid&gt;/127.0.0.1:&lt;port&gt;",…,"error":"rpc error: code = … desc = …"}</c>):
    /// its timestamp and the random client id in its target only. The level, caller, message, attempt and error,
    /// with its gRPC code, still have to match.</item>
    /// <item>Not a mask but a substitution of a harness input: the member's own client endpoint
    /// (<paramref name="endpoint"/>, <c>127.0.0.1:&lt;port the harness picked&gt;</c>), wherever etcdctl echoes
    /// it (the log line's target, <c>endpoint hashkv</c>), becomes <c>&lt;endpoint&gt;</c>.</item>
    /// </list>
    /// </summary>
    public static string Apply(string text, string? endpoint = null)
    {
        if (!string.IsNullOrEmpty(endpoint))
            text = text.Replace(endpoint, "<endpoint>", StringComparison.Ordinal);
        text = JsonIds().Replace(text, "\"$1\":<masked>");
        text = FieldsIds().Replace(text, "\"$1\" : <masked>");
        text = ClientLogLine().Replace(text, m =>
        {
            var line = ClientLogTimestamp().Replace(m.Value, "\"ts\":\"<masked>\"", 1);
            return ClientLogTarget().Replace(line, "\"target\":\"endpoint://client-<masked>/", 1);
        });
        return text;
    }

    [GeneratedRegex("\"(cluster_id|member_id|raft_term)\":[0-9]+")]
    private static partial Regex JsonIds();

    [GeneratedRegex("^\"(ClusterID|MemberID|RaftTerm)\" : [0-9]+$", RegexOptions.Multiline)]
    private static partial Regex FieldsIds();

    [GeneratedRegex("^\\{\"level\":\"[a-z]+\",\"ts\":\"[^\"]*\",\"caller\":\"clientv3/[^\"]*\".*$", RegexOptions.Multiline)]
    private static partial Regex ClientLogLine();

    [GeneratedRegex("\"ts\":\"[^\"]*\"")]
    private static partial Regex ClientLogTimestamp();

    [GeneratedRegex("\"target\":\"endpoint://client-[0-9a-f-]+/")]
    private static partial Regex ClientLogTarget();
}

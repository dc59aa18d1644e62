using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Cairn.IntegrationTests.Infrastructure;

namespace Cairn.IntegrationTests.Differential;

/// <summary>
/// Tests of the differential harness itself: the case format, the masking, the diff, and - against two real etcd
/// members - that a correct member compares equal (masking is enough and the cases are deterministic) and that a
/// different transcript is caught.
/// </summary>
public sealed partial class HarnessSelfTests
{
    /// <summary>Cases run against two fresh etcd members; together they use every output format and every kind of step.</summary>
    public static TheoryData<string, string> OracleCases => new()
    {
        { "put.txt", "put --prev-kv" },
        { "range.txt", "sort with --limit" },
        { "txn.txt", "txn output as json" },
        { "txn.txt", "txn -i value compare succeeds" },
        { "compaction.txt", "compaction then reads around it" },
        { "watch.txt", "watch sees a txn as events of one revision" },
        { "watch.txt", "watch output as fields" },
        { "watch.txt", "watch below the compaction is canceled" },
        { "limits.txt", "txn with 129 operations is refused" },
        { "del.txt", "del --prev-kv" },
    };

    [Theory, MemberData(nameof(OracleCases))]
    public async Task EtcdAgreesWithItself(string file, string name)
    {
        var testCase = CaseCatalog.Get(file, name);
        var (first, second) = await DifferentialHarness.RunPairAsync(() => new EtcdProcess(), () => new EtcdProcess(), testCase);
        Assert.Null(DifferentialHarness.Compare(testCase, first, "etcd #1", second, "etcd #2"));
    }

    [Fact]
    public async Task AlteredTranscriptIsCaught()
    {
        var testCase = CaseCatalog.Get("get.txt", "get after several updates (versions and revisions)");
        var (first, second) = await DifferentialHarness.RunPairAsync(() => new EtcdProcess(), () => new EtcdProcess(), testCase);
        Assert.Null(DifferentialHarness.Compare(testCase, first, "etcd #1", second, "etcd #2"));

        // Change one revision in the second transcript, as a member that got mod_revision wrong would.
        var index = second.Lines.ToList().FindIndex(l => l.Contains("\"mod_revision\":5", StringComparison.Ordinal));
        Assert.True(index >= 0, "expected a JSON line with mod_revision 5:\n" + second);
        var original = second.Lines[index];
        var altered = original.Replace("\"mod_revision\":5", "\"mod_revision\":4", StringComparison.Ordinal);
        second.ReplaceLine(index, altered);

        var failure = DifferentialHarness.Compare(testCase, first, "etcd", second, "altered");
        Assert.NotNull(failure);
        Assert.Contains("\n-" + original + "\n", failure, StringComparison.Ordinal);
        Assert.Contains("\n+" + altered + "\n", failure, StringComparison.Ordinal);
        Assert.Contains("@@ -", failure, StringComparison.Ordinal);
        Assert.Contains("$ etcdctl get k -w json", failure, StringComparison.Ordinal);

        // An extra line (say, an unexpected stderr message) is caught too.
        second.ReplaceLine(index, original);
        Assert.Null(DifferentialHarness.Compare(testCase, first, "etcd", second, "restored"));
        second.AddRaw("err| something else");
        Assert.NotNull(DifferentialHarness.Compare(testCase, first, "etcd", second, "extended"));
    }

    [Fact]
    public async Task TwoEtcdMembersReallyDifferInTheMaskedIds()
    {
        // Without masking, the ids differ: the masking is needed, and the equal transcripts above are not an accident.
        await using var a = await EtcdProcess.StartNewAsync();
        await using var b = await EtcdProcess.StartNewAsync();
        var ra = await a.Etcdctl.RunAsync(["get", "k", "-w", "json"]);
        var rb = await b.Etcdctl.RunAsync(["get", "k", "-w", "json"]);
        Assert.True(ra.Succeeded, ra.StderrText);
        Assert.True(rb.Succeeded, rb.StderrText);
        Assert.NotEqual(ClusterId().Match(ra.StdoutText).Value, ClusterId().Match(rb.StdoutText).Value);
        Assert.NotEqual(MemberId().Match(ra.StdoutText).Value, MemberId().Match(rb.StdoutText).Value);
        Assert.Equal(Masking.Apply(ra.StdoutText), Masking.Apply(rb.StdoutText));
    }

    [Fact]
    public void ListensOnSeesOnlyTheOwnersSockets()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        if (MemberProcess.ListensOn(Environment.ProcessId, port) is not { } mine)
            return; // no /proc on this OS: the harness falls back to a TCP connect
        Assert.True(mine);
        Assert.False(MemberProcess.ListensOn(Environment.ProcessId, FreePort.Next()));
        if (Environment.ProcessId != 1)
            Assert.NotEqual(true, MemberProcess.ListensOn(1, port)); // another process: not the owner
    }

    [Fact]
    public void EveryCaseFileHasATestClass()
    {
        var covered = typeof(EtcdVsCairn).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(EtcdVsCairn)) && !t.IsAbstract)
            .Select(CaseCatalog.FileOf)
            .ToList();
        Assert.Equal(covered.Count, covered.Distinct().Count());
        Assert.Equal(CaseCatalog.FileNames(), covered.Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public void CaseFilesParseAndHaveEnoughCases()
    {
        var total = CaseCatalog.FileNames().Sum(f => CaseCatalog.Load(f).Count);
        Assert.True(total >= 60, $"only {total} cases");
    }

    [Fact]
    public void ParserHandlesQuotesHeredocsRepeatAndHead()
    {
        const string text = """
            # comment
            === first case
            put "a key" 'lit\n' x"y"z ""
            put k < repeat 3 ab
            txn -i <<EOF
            value("k") = "v"
            @repeat 2 put k{i} v

            EOF
            watch --rev 1 --prefix "" | head 6
            put "\x01\t\"\\" "\n"

            === second
            get "<" '|' "<<EOF"
            """;
        var cases = CaseFile.Parse("x.txt", text);
        Assert.Equal(["first case", "second"], cases.Select(c => c.Name));
        var s = cases[0].Steps;
        Assert.Equal(["put", "a key", "lit\\n", "xyz", ""], s[0].Args);
        Assert.Null(s[0].Stdin);
        Assert.Equal(["put", "k"], s[1].Args);
        Assert.Equal("ababab", Encoding.UTF8.GetString(s[1].Stdin!));
        Assert.Equal(["txn", "-i"], s[2].Args);
        Assert.Equal("value(\"k\") = \"v\"\nput k1 v\nput k2 v\n\n", Encoding.UTF8.GetString(s[2].Stdin!));
        Assert.Equal(["watch", "--rev", "1", "--prefix", ""], s[3].Args);
        Assert.Equal(6, s[3].HeadLines);
        Assert.Equal(["put", "\u0001\t\"\\", "\n"], s[4].Args);
        Assert.Equal(3, s[0].Line);
        Assert.Equal(["get", "<", "|", "<<EOF"], cases[1].Steps[0].Args);
    }

    [Theory]
    [InlineData("put a 1", "before the first")]
    [InlineData("=== a\n=== b\nget a", "no commands")]
    [InlineData("=== a\nget a\n=== a\nget b", "duplicate case name")]
    [InlineData("=== a\nwatch --rev 1 a", "watch never ends")]
    [InlineData("=== a\ntxn <<EOF\nput a 1\n", "not closed")]
    [InlineData("=== a\nput \"a", "unterminated")]
    [InlineData("=== a\nput \"\\x00\" v", "\\xNN")]
    [InlineData("=== a\nget a | tail 3", "| head N")]
    [InlineData("=== a\nput a < cat file", "< repeat N text")]
    public void ParserRejectsMistakes(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => CaseFile.Parse("bad.txt", text));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("bad.txt:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MaskingHidesOnlyTheIds()
    {
        const string json = """{"header":{"cluster_id":14841639068965178418,"member_id":10276657743932975437,"revision":12,"raft_term":2},"kvs":[{"key":"YQ==","create_revision":2,"mod_revision":12,"version":3,"value":"MQ=="}],"count":1}""";
        Assert.Equal(
            """{"header":{"cluster_id":<masked>,"member_id":<masked>,"revision":12,"raft_term":<masked>},"kvs":[{"key":"YQ==","create_revision":2,"mod_revision":12,"version":3,"value":"MQ=="}],"count":1}""",
            Masking.Apply(json));

        const string fields = "\"ClusterID\" : 1\n\"MemberID\" : 22\n\"Revision\" : 3\n\"RaftTerm\" : 4\n\"Key\" : \"ClusterID\"\n\"Value\" : \"\\\"MemberID\\\" : 5\"\n";
        Assert.Equal(
            "\"ClusterID\" : <masked>\n\"MemberID\" : <masked>\n\"Revision\" : 3\n\"RaftTerm\" : <masked>\n\"Key\" : \"ClusterID\"\n\"Value\" : \"\\\"MemberID\\\" : 5\"\n",
            Masking.Apply(fields));

        const string log = """{"level":"warn","ts":"2026-11-22T02:31:58.114Z","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-fd36748d-9330-4bcb-8053-ffb74cbb687e/127.0.0.1:23790","attempt":0,"error":"rpc error: code = InvalidArgument desc = etcdserver: key is not provided"}""";
        Assert.Equal(
            """{"level":"warn","ts":"<masked>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<masked>/<endpoint>","attempt":0,"error":"rpc error: code = InvalidArgument desc = etcdserver: key is not provided"}""",
            Masking.Apply(log + "\nError: etcdserver: key is not provided\n", "127.0.0.1:23790").Split('\n')[0]);

        // The member's own endpoint, and only that one, is replaced.
        Assert.Equal(
            """[{"Endpoint":"<endpoint>","HashKV":{"hash":1},"other":"127.0.0.1:2379"}]""",
            Masking.Apply("""[{"Endpoint":"127.0.0.1:23790","HashKV":{"hash":1},"other":"127.0.0.1:2379"}]""", "127.0.0.1:23790"));

        // Not masked: values that merely look like ids, quoted ids, simple output.
        foreach (var untouched in new[] { "\"cluster_id\":\"1\"", "cluster_id:1", "ClusterID : 1", "a\n1\n", "\"ts\":\"x\"", "{\"ts\":\"2026\",\"target\":\"endpoint://client-1/127.0.0.1:1\"}", "127.0.0.1:1" })
            Assert.Equal(untouched, Masking.Apply(untouched));
    }

    [Fact]
    public void TranscriptRendersBytesAndLongLinesExactly()
    {
        var t = new Transcript("test");
        var step = new CaseStep(["get", "k"], null, null, "get k", 7);
        var big = new string('x', 3000);
        t.Add(step, new CommandResult(Encoding.UTF8.GetBytes($"k\u0001\n{big}\nπ"), [0xff, (byte)'\n'], 1, CommandEnd.Exited));
        Assert.Equal(
            [
                "[line 7] $ etcdctl get k",
                "out| k\\x01",
                $"out| {big[..80]}… (3000 chars, sha256 {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(big)))})",
                "out| π",
                "out| (no newline at end)",
                "err| \\xff",
                "exit 1",
            ],
            t.Lines);
    }

    [Fact]
    public void LongLinesThatDifferAreLocated()
    {
        var step = new CaseStep(["get", "k"], null, null, "get k", 1);
        var a = new Transcript("a");
        var b = new Transcript("b");
        var value = new string('v', 5000);
        a.Add(step, new CommandResult(Encoding.UTF8.GetBytes(value + "\n"), [], 0, CommandEnd.Exited));
        b.Add(step, new CommandResult(Encoding.UTF8.GetBytes(value[..2500] + "W" + value[2501..] + "\n"), [], 0, CommandEnd.Exited));
        Assert.NotEqual(a.Lines, b.Lines);
        Assert.Contains("first differs at char 2500", Transcript.DescribeLongLineDifferences(a, b), StringComparison.Ordinal);
        Assert.Equal("", Transcript.DescribeLongLineDifferences(a, a));
    }

    [Fact]
    public void DiffShowsChangedLinesWithContext()
    {
        string[] a = ["[line 1] $ etcdctl put a 1", "out| OK", "exit 0", "[line 2] $ etcdctl get a", "out| a", "out| 1", "exit 0"];
        string[] b = ["[line 1] $ etcdctl put a 1", "out| OK", "exit 0", "[line 2] $ etcdctl get a", "out| a", "out| 2", "exit 0"];
        Assert.Equal("", LineDiff.Unified(a, a, "x", "y"));
        var diff = LineDiff.Unified(a, b, "etcd", "cairn", context: 1);
        Assert.Equal("--- etcd\n+++ cairn\n@@ -5,3 +5,3 @@ [line 2] $ etcdctl get a\n out| a\n-out| 1\n+out| 2\n exit 0\n", diff);
    }

    [GeneratedRegex("\"cluster_id\":[0-9]+")]
    private static partial Regex ClusterId();

    [GeneratedRegex("\"member_id\":[0-9]+")]
    private static partial Regex MemberId();
}

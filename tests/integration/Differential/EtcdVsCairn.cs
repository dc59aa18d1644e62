using Cairn.IntegrationTests.Infrastructure;

namespace Cairn.IntegrationTests.Differential;

/// <summary>
/// The differential tests proper: each case of a case file runs against a fresh real etcd and a fresh Cairn member,
/// and the masked transcripts must be identical. One derived class per case file (so that xunit can run two files at
/// once); <see cref="HarnessSelfTests.EveryCaseFileHasATestClass"/> checks that no file is left out.
/// </summary>
public abstract class EtcdVsCairn
{
    private const int OracleAttempts = 3;

    private static bool OracleTimedOut(Transcript t) => t.Lines.Any(l => l.Contains("context deadline exceeded", StringComparison.Ordinal));

    /// <summary>Runs case <paramref name="name"/> of the file of <paramref name="testClass"/> and fails with a diff.</summary>
    protected static async Task RunAsync(Type testClass, string name)
    {
        var testCase = CaseCatalog.Get(CaseCatalog.FileOf(testClass), name);
        _ = Tools.Etcd;
        _ = Tools.Etcdctl;
        var dll = CairnProcess.RequireDll();
        string? failure = null;
        for (int attempt = 1; attempt <= OracleAttempts; attempt++)
        {
            var (etcd, cairn) = await DifferentialHarness.RunPairAsync(() => new EtcdProcess(), () => new CairnProcess(dll), testCase);
            failure = DifferentialHarness.Compare(testCase, etcd, "etcd", cairn, "cairn");
            // No case expects a timeout, so one in etcd's transcript means the oracle itself was too slow
            // (e.g. bcrypt under a loaded CI machine): run the pair again rather than blame Cairn. A
            // timeout on Cairn's side is never retried.
            if (failure is null || !OracleTimedOut(etcd) || OracleTimedOut(cairn))
                break;
        }

        if (failure is not null)
            Assert.Fail(failure);
    }
}

// One class per case file. To add a file: add a class here with its [CaseFile] (the self-test insists).

[CaseFile("put.txt")]
public sealed class Put : EtcdVsCairn
{
    public static TheoryData<string> Cases => CaseCatalog.NamesFor<Put>();

    [Theory, MemberData(nameof(Cases))]
    public Task EtcdAndCairnAgree(string @case) => RunAsync(GetType(), @case);
}

[CaseFile("get.txt")]
public sealed class Get : EtcdVsCairn
{
    public static TheoryData<string> Cases => CaseCatalog.NamesFor<Get>();

    [Theory, MemberData(nameof(Cases))]
    public Task EtcdAndCairnAgree(string @case) => RunAsync(GetType(), @case);
}

[CaseFile("range.txt")]
public sealed class Range : EtcdVsCairn
{
    public static TheoryData<string> Cases => CaseCatalog.NamesFor<Range>();

    [Theory, MemberData(nameof(Cases))]
    public Task EtcdAndCairnAgree(string @case) => RunAsync(GetType(), @case);
}

[CaseFile("del.txt")]
public sealed class Del : EtcdVsCairn
{
    public static TheoryData<string> Cases => CaseCatalog.NamesFor<Del>();

    [Theory, MemberData(nameof(Cases))]
    public Task EtcdAndCairnAgree(string @case) => RunAsync(GetType(), @case);
}

[CaseFile("txn.txt")]
public sealed class Txn : EtcdVsCairn
{
    public static TheoryData<string> Cases => CaseCatalog.NamesFor<Txn>();

    [Theory, MemberData(nameof(Cases))]
    public Task EtcdAndCairnAgree(string @case) => RunAsync(GetType(), @case);
}

[CaseFile("compaction.txt")]
public sealed class Compaction : EtcdVsCairn
{
    public static TheoryData<string> Cases => CaseCatalog.NamesFor<Compaction>();

    [Theory, MemberData(nameof(Cases))]
    public Task EtcdAndCairnAgree(string @case) => RunAsync(GetType(), @case);
}

[CaseFile("watch.txt")]
public sealed class Watch : EtcdVsCairn
{
    public static TheoryData<string> Cases => CaseCatalog.NamesFor<Watch>();

    [Theory, MemberData(nameof(Cases))]
    public Task EtcdAndCairnAgree(string @case) => RunAsync(GetType(), @case);
}

[CaseFile("limits.txt")]
public sealed class Limits : EtcdVsCairn
{
    public static TheoryData<string> Cases => CaseCatalog.NamesFor<Limits>();

    [Theory, MemberData(nameof(Cases))]
    public Task EtcdAndCairnAgree(string @case) => RunAsync(GetType(), @case);
}

[CaseFile("lease.txt")]
public sealed class Lease : EtcdVsCairn
{
    public static TheoryData<string> Cases => CaseCatalog.NamesFor<Lease>();

    [Theory, MemberData(nameof(Cases))]
    public Task EtcdAndCairnAgree(string @case) => RunAsync(GetType(), @case);
}

[CaseFile("hashkv.txt")]
public sealed class HashKv : EtcdVsCairn
{
    public static TheoryData<string> Cases => CaseCatalog.NamesFor<HashKv>();

    [Theory, MemberData(nameof(Cases))]
    public Task EtcdAndCairnAgree(string @case) => RunAsync(GetType(), @case);
}

[CaseFile("maintenance.txt")]
public sealed class Maintenance : EtcdVsCairn
{
    public static TheoryData<string> Cases => CaseCatalog.NamesFor<Maintenance>();

    [Theory, MemberData(nameof(Cases))]
    public Task EtcdAndCairnAgree(string @case) => RunAsync(GetType(), @case);
}

[CaseFile("auth.txt")]
public sealed class Auth : EtcdVsCairn
{
    public static TheoryData<string> Cases => CaseCatalog.NamesFor<Auth>();

    [Theory, MemberData(nameof(Cases))]
    public Task EtcdAndCairnAgree(string @case) => RunAsync(GetType(), @case);
}

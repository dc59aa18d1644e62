using System.Security.Cryptography;
using Cairn.Mvcc;
using Cairn.Node.Auth;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Node.Tests;

/// <summary>The file <c>etcdctl snapshot save</c> gets: the whole state, etcdctl's framing, and the older store-only files still read.</summary>
public sealed class BackupFileTests
{
    private static (Lessor, KvStore) Parts()
    {
        var lessor = new Lessor(1);
        var store = new KvStore(new MvccOptions { LeaseExists = lessor.Exists });
        lessor.Attach(store);
        return (lessor, store);
    }

    private static PutRequest Put(string key, string value, long lease = 0) =>
        new() { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value), Lease = lease };

    [Fact]
    public void LeasesAuthAndKeysSurviveASaveAndRead()
    {
        var (lessor, store) = Parts();
        lessor.ApplyGrant(new LeaseGrantRequest { ID = 42, TTL = 30 });
        store.Put(Put("leased", "v", lease: 42));
        store.Put(Put("plain", "p"));
        var auth = new AuthStore();
        auth.ApplyUserAdd(new AuthUserAddRequest { Name = "root", HashedPassword = PasswordHash.Hash("pw") });
        auth.ApplyUserGrantRole(new AuthUserGrantRoleRequest { User = "root", Role = "root" });
        auth.ApplyEnable();

        var file = BackupFile.Write(StateSnapshot.Write(9, new ClusterMembers(), lessor, store, auth));
        // etcdctl 3.4 saves only a stream of 512·n bytes followed by their SHA-256.
        Assert.Equal(0, (file.Length - 32) % 512);
        Assert.Equal(SHA256.HashData(file.AsSpan(0, file.Length - 32)), file[^32..]);

        var (lessor2, store2) = Parts();
        var auth2 = new AuthStore();
        BackupFile.Read(file, new ClusterMembers(), lessor2, store2, auth2);
        Assert.Equal([(42L, 30L)], lessor2.Snapshot());
        Assert.Equal(store.Revision, store2.Revision);
        Assert.Equal(store.HashKV(0, out _, out _), store2.HashKV(0, out _, out _));
        Assert.Equal([ByteString.CopyFromUtf8("leased")], store2.KeysWithLease(42));
        Assert.True(auth2.Enabled);
        Assert.Equal(auth.CheckPassword("root", "pw"), auth2.CheckPassword("root", "pw"));
    }

    [Fact]
    public void AStoreOnlyFileFromBeforeIsStillRead()
    {
        var (_, store) = Parts();
        store.Put(Put("k", "v"));
        using var buffer = new MemoryStream();
        store.WriteSnapshot(buffer);
        var padded = (int)((buffer.Length + 511) / 512 * 512);
        var file = new byte[padded + 32];
        buffer.ToArray().CopyTo(file, 0);
        SHA256.HashData(file.AsSpan(0, padded), file.AsSpan(padded));

        var (lessor2, store2) = Parts();
        var auth2 = new AuthStore();
        BackupFile.Read(file, new ClusterMembers(), lessor2, store2, auth2);
        Assert.Equal(store.HashKV(0, out _, out _), store2.HashKV(0, out _, out _));
        Assert.Empty(lessor2.Snapshot());
        Assert.False(auth2.Enabled);
    }

    [Fact]
    public void ACorruptFileIsRefused()
    {
        var (lessor, store) = Parts();
        store.Put(Put("k", "v"));
        var file = BackupFile.Write(StateSnapshot.Write(3, new ClusterMembers(), lessor, store, new AuthStore()));
        file[20] ^= 1;
        var (lessor2, store2) = Parts();
        var error = Assert.Throws<InvalidDataException>(() => BackupFile.Read(file, new ClusterMembers(), lessor2, store2, new AuthStore()));
        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => BackupFile.Read(file[..^1], new ClusterMembers(), lessor2, store2, new AuthStore()));
    }
}

using Cairn.Raft;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Node;

/// <summary>
/// The replicated member list: ids, names, peer and client URLs, learner flags. Changed only on
/// the apply thread (configuration changes, publish and update commands), read by request threads
/// through an immutable copy, and carried in snapshots so a new or restarted member knows it.
/// </summary>
internal sealed class ClusterMembers
{
    private volatile IReadOnlyDictionary<ulong, Etcdserverpb.Member> _members = new Dictionary<ulong, Etcdserverpb.Member>();
    private readonly object _waitLock = new();
    private readonly Dictionary<ulong, TaskCompletionSource> _changeWaiters = [];

    /// <summary>The members, by id (a snapshot; never mutated after publication).</summary>
    public IReadOnlyDictionary<ulong, Etcdserverpb.Member> All => _members;

    /// <summary>Peer URLs by member id, for the transport.</summary>
    public IReadOnlyDictionary<ulong, IReadOnlyList<Uri>> PeerUrls =>
        _members.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<Uri>)kv.Value.PeerURLs.Select(u => new Uri(u)).ToList());

    /// <summary>Sets the founding members (bootstrap, before anything is applied).</summary>
    public void Initialize(IEnumerable<Etcdserverpb.Member> members) =>
        _members = members.ToDictionary(m => m.ID, m => m.Clone());

    /// <summary>Completes when a configuration change naming <paramref name="memberId"/> is applied here.</summary>
    public Task WaitForChange(ulong memberId)
    {
        lock (_waitLock)
        {
            if (!_changeWaiters.TryGetValue(memberId, out var tcs))
                _changeWaiters[memberId] = tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return tcs.Task;
        }
    }

    /// <summary>Applies a committed configuration change (context: the member's record, for adds).</summary>
    public void ApplyConfChange(ConfChange change)
    {
        var next = new Dictionary<ulong, Etcdserverpb.Member>(_members);
        switch (change.Type)
        {
            case ConfChangeType.AddVoter when next.TryGetValue(change.MemberId, out var existing):
                next[change.MemberId] = new Etcdserverpb.Member(existing) { IsLearner = false }; // promotion
                break;
            case ConfChangeType.AddVoter or ConfChangeType.AddLearner:
                var record = change.Context.IsEmpty
                    ? new Etcdserverpb.Member { ID = change.MemberId }
                    : Etcdserverpb.Member.Parser.ParseFrom(change.Context.Span);
                record.ID = change.MemberId;
                record.IsLearner = change.Type == ConfChangeType.AddLearner;
                next[change.MemberId] = record;
                break;
            case ConfChangeType.RemoveMember:
                next.Remove(change.MemberId);
                break;
        }

        _members = next;
        lock (_waitLock)
        {
            if (_changeWaiters.Remove(change.MemberId, out var tcs))
                tcs.TrySetResult();
        }
    }

    /// <summary>Applies a member's published name and client URLs; unknown members are ignored.</summary>
    public void ApplyAttributes(Etcdserverpb.Member attributes)
    {
        if (!_members.TryGetValue(attributes.ID, out var existing))
            return;
        var next = new Dictionary<ulong, Etcdserverpb.Member>(_members);
        var updated = new Etcdserverpb.Member(existing) { Name = attributes.Name };
        updated.ClientURLs.Clear();
        updated.ClientURLs.AddRange(attributes.ClientURLs);
        next[attributes.ID] = updated;
        _members = next;
    }

    /// <summary>Applies new peer URLs of a member; returns false for an unknown member.</summary>
    public bool ApplyUpdate(MemberUpdateRequest update)
    {
        if (!_members.TryGetValue(update.ID, out var existing))
            return false;
        var next = new Dictionary<ulong, Etcdserverpb.Member>(_members);
        var updated = new Etcdserverpb.Member(existing);
        updated.PeerURLs.Clear();
        updated.PeerURLs.AddRange(update.PeerURLs);
        next[update.ID] = updated;
        _members = next;
        return true;
    }

    /// <summary>The list in a stable order (by id), as the snapshot and MemberList carry it.</summary>
    public MemberListResponse ToList()
    {
        var list = new MemberListResponse();
        foreach (var id in _members.Keys.Order())
            list.Members.Add(_members[id].Clone());
        return list;
    }

    /// <summary>Replaces the list from a snapshot.</summary>
    public void Restore(MemberListResponse list) => _members = list.Members.ToDictionary(m => m.ID, m => m);

    /// <summary>Serialized form for snapshots.</summary>
    public byte[] Serialize() => ToList().ToByteArray();
}

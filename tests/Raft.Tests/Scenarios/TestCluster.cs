namespace Cairn.Raft.Tests.Scenarios;

/// <summary>
/// A synchronous in-memory cluster for scenario tests (etcd-raft's test "network"): <see cref="Stabilize"/>
/// processes every Ready and delivers every message until quiet. Links can be cut per direction, members
/// isolated or crashed. Deterministic: each member's randomness is seeded by its id.
/// </summary>
internal sealed class TestCluster
{
    private readonly Dictionary<ulong, RaftNode> _nodes = [];
    private readonly Dictionary<ulong, MemoryStorage> _disks = [];
    private readonly Dictionary<ulong, List<Entry>> _applied = [];
    private readonly HashSet<(ulong From, ulong To)> _cut = [];
    private readonly Func<ulong, MemoryStorage, RaftConfig> _configFor;

    public TestCluster(int voters, bool preVote = false, bool checkQuorum = false, int electionTick = 10,
        ulong maxUncommitted = 0, bool disableForwarding = false, ulong catchUp = 5000, ulong maxSizePerMsg = 1024 * 1024)
    {
        _configFor = (id, disk) => new RaftConfig
        {
            Id = id,
            Storage = disk,
            ElectionTick = electionTick,
            HeartbeatTick = 1,
            PreVote = preVote,
            CheckQuorum = checkQuorum,
            MaxUncommittedEntriesSize = maxUncommitted,
            DisableProposalForwarding = disableForwarding,
            SnapshotCatchUpEntries = catchUp,
            MaxSizePerMsg = maxSizePerMsg,
            Random = new Random((int)id),
            Applied = disk.Snapshot.Metadata.Index,
        };
        var cs = new ConfState(Enumerable.Range(1, voters).Select(i => (ulong)i));
        for (ulong id = 1; id <= (ulong)voters; id++)
        {
            var disk = new MemoryStorage();
            disk.ApplySnapshot(Snapshot.Bootstrap(cs));
            disk.SetHardState(new HardState(1, 0, 1));
            _disks[id] = disk;
            Start(id);
        }
    }

    public List<Message> Sent { get; } = [];
    public Func<Message, bool>? Filter { get; set; }

    public RaftNode this[ulong id] => _nodes[id];
    public MemoryStorage Disk(ulong id) => _disks[id];
    public IReadOnlyList<Entry> Applied(ulong id) => _applied[id];
    public List<ReadState> Reads { get; } = [];
    public bool IsUp(ulong id) => _nodes.ContainsKey(id);

    /// <summary>Adds a member process with empty storage (it still has to be added to the configuration).</summary>
    public void AddEmptyMember(ulong id)
    {
        _disks[id] = new MemoryStorage();
        Start(id);
    }

    public void Start(ulong id)
    {
        _nodes[id] = new RaftNode(_configFor(id, _disks[id]));
        _applied[id] = [];
    }

    public void Crash(ulong id) => _nodes.Remove(id);

    public void Isolate(ulong id)
    {
        foreach (var other in _disks.Keys)
        {
            if (other == id) continue;
            _cut.Add((id, other));
            _cut.Add((other, id));
        }
    }

    public void Cut(ulong from, ulong to) => _cut.Add((from, to));
    public void Heal() => _cut.Clear();

    public void Tick(ulong id, int times = 1)
    {
        for (var i = 0; i < times; i++) { _nodes[id].Tick(); Stabilize(); }
    }

    public void TickAll(int times = 1)
    {
        for (var i = 0; i < times; i++)
        {
            foreach (var n in _nodes.Values.ToList()) n.Tick();
            Stabilize();
        }
    }

    public void Campaign(ulong id)
    {
        _nodes[id].Campaign();
        Stabilize();
    }

    public ProposeStatus Propose(ulong id, string data)
    {
        var s = _nodes[id].TryPropose(System.Text.Encoding.UTF8.GetBytes(data));
        Stabilize();
        return s;
    }

    public ulong? Leader()
    {
        foreach (var (id, n) in _nodes.OrderBy(kv => kv.Key))
            if (n.Role == RaftRole.Leader) return id;
        return null;
    }

    /// <summary>Processes Readies and delivers messages until nothing moves.</summary>
    public void Stabilize()
    {
        for (var round = 0; round < 1000; round++)
        {
            var pending = new List<Message>();
            foreach (var (id, n) in _nodes.OrderBy(kv => kv.Key).ToList())
            {
                while (n.HasReady)
                {
                    var rd = n.GetReady();
                    var disk = _disks[id];
                    if (rd.Snapshot is { } snap)
                    {
                        disk.ApplySnapshot(snap);
                        _applied[id].Clear();
                    }
                    disk.Append(rd.Entries);
                    if (rd.HardState is { } hs) disk.SetHardState(hs);
                    pending.AddRange(rd.AllMessages);
                    foreach (var e in rd.CommittedEntries)
                    {
                        _applied[id].Add(e);
                        if (e.Type == EntryType.ConfChange) n.ApplyConfChange(ConfChangeCodec.Decode(e.Data.Span));
                    }
                    Reads.AddRange(rd.ReadStates.Select(r => r));
                    n.Advance(rd);
                }
            }
            if (pending.Count == 0) return;
            foreach (var m in pending)
            {
                Sent.Add(m);
                if (_cut.Contains((m.From, m.To)) || !_nodes.TryGetValue(m.To, out var target)) continue;
                if (Filter is not null && !Filter(m)) continue;
                // Round-trip through the codec like a real transport.
                target.Step(MessageCodec.Decode(MessageCodec.Encode(m)));
                if (m.Type == MessageType.Snapshot && _nodes.TryGetValue(m.From, out var sender)) sender.ReportSnapshot(m.To, true);
            }
        }
        throw new InvalidOperationException("cluster did not stabilize");
    }

    public static string Text(Entry e) => System.Text.Encoding.UTF8.GetString(e.Data.Span);

    public IEnumerable<string> AppliedTexts(ulong id) =>
        _applied[id].Where(e => e.Type == EntryType.Normal && e.Data.Length > 0).Select(Text);
}

using Cairn.Raft;
using Cairn.Raft.Storage;
using Cairn.Raft.Transport;

namespace Cairn.Node.Replication;

public sealed partial class RaftConsensus
{
    /// <summary>
    /// Rebuilds the Raft state from disk — newest valid snapshot file, then the WAL after it — or
    /// bootstraps a new member. Layout as etcd's: <c>DATA/member/snap</c> and <c>DATA/member/wal</c>.
    /// </summary>
    /// <remarks>
    /// Crash windows and why each is safe: a snapshot file is written (fsynced, renamed) before its
    /// WAL marker, so a crash between the two leaves a newer snapshot than the marker — we start
    /// from the file and skip WAL entries it covers. WAL segments are released only after the
    /// marker is synced. A corrupt WAL middle stops the member (WalCorruptException propagates).
    /// </remarks>
    private void Open()
    {
        _transport = new PeerTransport(_options.MemberId, _options.ClusterId, _options.ListenPeerUrl, OnPeerMessage, OnPeerSnapshot);
        _transport.PeerUnreachable += peer => Post(new PeerStatusInput(peer, null));
        _transport.ClusterInfoProvider = _options.ClusterInfo;
        _transport.RequestHandler = _peerRequestHandler;
        foreach (var (id, urls) in _options.InitialPeers)
        {
            if (id != _options.MemberId)
                _transport.AddPeer(id, urls);
        }

        var memberDir = Path.Combine(_options.DataDir, "member");
        _snapshots = new SnapshotStore(Path.Combine(memberDir, "snap"));
        var newest = _snapshots.LoadNewest(out var rejected);
        foreach (var bad in rejected)
            ConsensusLog.SnapshotRejected(_logger, bad.Message, bad.Message);
        _wal = WriteAheadLog.Open(Path.Combine(memberDir, "wal"), WalOptions.Default, out var replay);
        if (replay.TruncatedTail is { } torn)
            ConsensusLog.WalTailTruncated(_logger, torn.FilePath, torn.Offset, torn.Reason);

        _storage = new MemoryStorage();
        var fresh = newest is null && replay.Entries.Count == 0 && replay.HardState.IsEmpty && replay.Snapshot.Index == 0;
        if (newest is not null)
        {
            // The storage keeps the metadata only; the data stays in the file (see SendSnapshot).
            var snapshot = new Snapshot(
                new SnapshotMetadata(newest.Index, newest.Term, ConfStateCodec.Decode(newest.Metadata)),
                ReadOnlyMemory<byte>.Empty);
            _storage.ApplySnapshot(snapshot);
            _machine.RestoreSnapshot(snapshot.Metadata.Index, newest.ReadData());
            _lastSnapshotIndex = snapshot.Metadata.Index;
            UpdateLearnerFlag(snapshot.Metadata.ConfState);
        }
        else if (replay.Snapshot.Index > 0)
        {
            throw new InvalidDataException(
                $"the WAL starts after a snapshot at index {replay.Snapshot.Index}, but no valid snapshot file exists in {_snapshots.Directory}");
        }
        else if (fresh && !_options.JoinExisting)
        {
            // A founding member: every founder starts from the same configuration at index 1, so
            // none needs to replicate the initial membership.
            var state = new ConfState(_options.InitialVoters);
            var bootstrap = Snapshot.Bootstrap(state);
            _snapshots.Save(bootstrap.Metadata.Index, bootstrap.Metadata.Term, ConfStateCodec.Encode(state), _machine.WriteSnapshot);
            _wal.SaveSnapshotMarker(bootstrap.Metadata.Index, bootstrap.Metadata.Term);
            _wal.Sync();
            _storage.ApplySnapshot(bootstrap);
            _machine.RestoreSnapshot(bootstrap.Metadata.Index, ReadOnlyMemory<byte>.Empty);
            _lastSnapshotIndex = bootstrap.Metadata.Index;
        }

        // Usually the WAL's marker is the newest snapshot. If that file was corrupt and an older one
        // loaded instead, the WAL still holds the log after the older one (segments are released only
        // before the older snapshot, see MaybeSnapshot) — unless it does not, which stops the member.
        IReadOnlyList<Entry> replayed = replay.Entries;
        if (newest is not null && newest.Index != replay.Snapshot.Index &&
            !replay.TryGetEntriesAfter(newest.Index, newest.Term, out replayed))
        {
            throw new InvalidDataException(
                $"the newest valid snapshot (index {newest.Index}) does not connect to the WAL (snapshot marker {replay.Snapshot.Index}); the log after it is gone");
        }

        var after = replayed.Where(e => e.Index > _lastSnapshotIndex).ToList();
        if (after.Count > 0)
            _storage.Append(after);
        if (!replay.HardState.IsEmpty)
            _storage.SetHardState(replay.HardState);
        Volatile.Write(ref _term, replay.HardState.Term);
        Volatile.Write(ref _commit, replay.HardState.Commit);
        ConsensusLog.Restored(_logger, _lastSnapshotIndex, after.Count, replay.HardState.Term, replay.HardState.Commit);

        _node = new RaftNode(new RaftConfig
        {
            Id = _options.MemberId,
            Storage = _storage,
            ElectionTick = _electionTicks,
            HeartbeatTick = 1,
            Applied = _machine.AppliedIndex,
            SnapshotCatchUpEntries = _options.SnapshotCatchUpEntries,
            CheckQuorum = true,
            PreVote = true,
        });
    }

    // A snapshot received from the leader. Once its file is saved, the storage keeps only the
    // metadata, as for our own snapshots (MaybeSnapshot).
    private void PersistSnapshot(Snapshot snapshot)
    {
        _snapshots.Save(snapshot.Metadata.Index, snapshot.Metadata.Term, ConfStateCodec.Encode(snapshot.Metadata.ConfState), snapshot.Data);
        _wal.SaveSnapshotMarker(snapshot.Metadata.Index, snapshot.Metadata.Term);
        _storage.ApplySnapshot(snapshot with { Data = ReadOnlyMemory<byte>.Empty });
    }

    // Every SnapshotCount applied entries: save the state, mark it in the WAL, then let the log
    // (memory and disk) go, keeping a catch-up tail in memory for followers slightly behind.
    // The state is serialized straight into the snapshot file and the in-memory storage records
    // the metadata only: holding the data there kept a whole copy of the store alive between
    // snapshots, and building it in a MemoryStream left about twice its size in large-object-heap
    // garbage each time (measured: most of the GC heap's growth under put-64; docs/performance.md,
    // "Memory"). A follower that needs the snapshot is sent the file (SendSnapshot).
    private void MaybeSnapshot()
    {
        var applied = _node.AppliedIndex;
        if (applied < _lastSnapshotIndex + (ulong)_options.SnapshotCount)
            return;
        if (applied <= _storage.Snapshot.Metadata.Index || applied > _storage.LastIndex
            || _storage.TryGetTerm(applied, out var term) != StorageStatus.Ok)
            return;
        var confState = _node.ConfState;
        var path = _snapshots.Save(applied, term, ConfStateCodec.Encode(confState), _machine.WriteSnapshot);
        var snapshot = _node.SnapshotAndCompact(_storage, ReadOnlyMemory<byte>.Empty);
        if (snapshot is null)
            return;
        var index = snapshot.Metadata.Index;
        _wal.SaveSnapshotMarker(index, snapshot.Metadata.Term);
        _wal.Sync();
        // Keep the WAL back to the previous snapshot: if the newest snapshot file is ever found
        // corrupt, restart falls back to the previous one and still finds the log after it.
        _wal.ReleaseBefore(_lastSnapshotIndex + 1);
        _lastSnapshotIndex = index;
        ConsensusLog.SnapshotTaken(_logger, index, new FileInfo(path).Length, _storage.FirstIndex - 1);
    }
}

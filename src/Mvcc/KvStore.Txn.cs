using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Cairn.Mvcc;

public sealed partial class KvStore
{
    private static readonly KeyValue MissingKey = new();

    /// <summary>Evaluates compares, then runs the success or failure ops as one transaction.</summary>
    /// <remarks>
    /// As etcd's applierV3backend.Txn: every compare — the nested txns' too — is evaluated first,
    /// against the store before the txn (a nested txn's compare does not see the writes of the ops
    /// before it; verified against etcd 3.4.23). The chosen branches are then checked (puts with
    /// ignore_value/ignore_lease need an existing key, leases must exist, ranges' revisions must be
    /// readable), and only then applied, so a failing txn changes nothing. Reads inside the txn see
    /// its earlier writes. A txn without puts or deletes in any branch runs under the read lock.
    /// </remarks>
    public TxnResponse Txn(TxnRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (IsReadOnly(request))
        {
            _lock.EnterReadLock();
            try
            {
                var readTx = new TxnState { Begin = _revision };
                return RunTxn(readTx, request, isWrite: false);
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
        lock (_writeGate)
        {
            var tx = BeginWrite();
            TxnResponse response;
            try
            {
                response = RunTxn(tx, request, isWrite: true);
            }
            catch
            {
                Rollback(tx);
                throw;
            }
            Commit(tx);
            return response;
        }
    }

    private TxnResponse RunTxn(TxnState tx, TxnRequest request, bool isWrite)
    {
        // The path: pre-order list of the outcome of this txn and of every nested txn in the
        // branches taken (etcd's compareToPath).
        var path = new List<bool>();
        ComparePath(request, tx.Begin, path);
        int pos = 0;
        if (isWrite)
        {
            CheckRequests(request, path, ref pos, checkPuts: true, tx.Begin);
            pos = 0;
        }
        CheckRequests(request, path, ref pos, checkPuts: false, tx.Begin);
        pos = 0;
        var response = ApplyTxn(tx, request, path, ref pos);
        response.Header = Header(tx.ReadRevision);
        return response;
    }

    private static bool IsReadOnly(TxnRequest request)
    {
        return BranchReadOnly(request.Success) && BranchReadOnly(request.Failure);

        static bool BranchReadOnly(Google.Protobuf.Collections.RepeatedField<RequestOp> ops)
        {
            foreach (var op in ops)
            {
                switch (op.RequestCase)
                {
                    case RequestOp.RequestOneofCase.RequestPut:
                    case RequestOp.RequestOneofCase.RequestDeleteRange:
                        return false;
                    case RequestOp.RequestOneofCase.RequestTxn when !IsReadOnly(op.RequestTxn):
                        return false;
                }
            }
            return true;
        }
    }

    private void ComparePath(TxnRequest request, long rev, List<bool> path)
    {
        bool succeeded = true;
        foreach (var c in request.Compare)
        {
            if (!EvalCompare(c, rev))
            {
                succeeded = false;
                break;
            }
        }
        path.Add(succeeded);
        foreach (var op in succeeded ? request.Success : request.Failure)
        {
            if (op.RequestCase == RequestOp.RequestOneofCase.RequestTxn)
            {
                ComparePath(op.RequestTxn, rev, path);
            }
        }
    }

    /// <summary>etcd's checkRequests with checkPut or checkRange, against the pre-txn store.</summary>
    private void CheckRequests(TxnRequest request, List<bool> path, ref int pos, bool checkPuts, long rev)
    {
        bool succeeded = path[pos++];
        foreach (var op in succeeded ? request.Success : request.Failure)
        {
            switch (op.RequestCase)
            {
                case RequestOp.RequestOneofCase.RequestTxn:
                    CheckRequests(op.RequestTxn, path, ref pos, checkPuts, rev);
                    break;
                case RequestOp.RequestOneofCase.RequestPut when checkPuts:
                    var p = op.RequestPut;
                    if ((p.IgnoreValue || p.IgnoreLease) && _keys.Get(p.Key.Span)?.ValueAt(rev) is null)
                    {
                        throw EtcdErrors.KeyNotFound();
                    }
                    if (p.Lease != 0 && !LeaseExists(p.Lease))
                    {
                        throw EtcdErrors.LeaseNotFound();
                    }
                    break;
                case RequestOp.RequestOneofCase.RequestRange when !checkPuts:
                    long r = op.RequestRange.Revision;
                    if (r > rev)
                    {
                        throw EtcdErrors.FutureRev();
                    }
                    if (r != 0 && r < _compactRevision)
                    {
                        throw EtcdErrors.Compacted();
                    }
                    break;
            }
        }
    }

    private TxnResponse ApplyTxn(TxnState tx, TxnRequest request, List<bool> path, ref int pos)
    {
        bool succeeded = path[pos++];
        var ops = succeeded ? request.Success : request.Failure;
        // etcd leaves a nested txn's header empty; the caller sets the top one.
        var response = new TxnResponse { Succeeded = succeeded, Header = new ResponseHeader() };
        foreach (var op in ops)
        {
            var result = new ResponseOp();
            switch (op.RequestCase)
            {
                case RequestOp.RequestOneofCase.RequestRange:
                    result.ResponseRange = RangeAt(op.RequestRange, tx.ReadRevision);
                    break;
                case RequestOp.RequestOneofCase.RequestPut:
                    result.ResponsePut = ApplyPut(tx, op.RequestPut, checkLease: false);
                    break;
                case RequestOp.RequestOneofCase.RequestDeleteRange:
                    result.ResponseDeleteRange = ApplyDeleteRange(tx, op.RequestDeleteRange);
                    break;
                case RequestOp.RequestOneofCase.RequestTxn:
                    result.ResponseTxn = ApplyTxn(tx, op.RequestTxn, path, ref pos);
                    break;
            }
            response.Responses.Add(result);
        }
        return response;
    }

    /// <summary>etcd's applyCompare: every key of the range must satisfy the compare.</summary>
    private bool EvalCompare(Compare c, long rev)
    {
        var range = new KeyRange(c.Key, c.RangeEnd);
        if (range.IsSingle)
        {
            var kv = _keys.Get(range.Key)?.ValueAt(rev);
            return kv is not null ? CompareKv(c, kv) : CompareMissing(c);
        }
        bool any = false;
        for (var cursor = _keys.Seek(range.Key); cursor.Valid; cursor.Next())
        {
            var index = cursor.Current;
            if (!range.BeforeEnd(index.Key.Span))
            {
                break;
            }
            var kv = index.ValueAt(rev);
            if (kv is null)
            {
                continue;
            }
            any = true;
            if (!CompareKv(c, kv))
            {
                return false;
            }
        }
        return any || CompareMissing(c);
    }

    /// <summary>
    /// No key: a VALUE compare always fails (an empty value cannot be told from a missing one);
    /// the others compare against zero (version 0, create 0, mod 0, lease 0).
    /// </summary>
    private static bool CompareMissing(Compare c) => c.Target != Compare.Types.CompareTarget.Value && CompareKv(c, MissingKey);

    /// <summary>etcd's compareKV. A target_union that does not match the target compares against 0 / empty.</summary>
    private static bool CompareKv(Compare c, KeyValue kv)
    {
        int result = 0;
        switch (c.Target)
        {
            case Compare.Types.CompareTarget.Value:
                var v = c.TargetUnionCase == Compare.TargetUnionOneofCase.Value ? c.Value : ByteString.Empty;
                result = kv.Value.Span.SequenceCompareTo(v.Span);
                break;
            case Compare.Types.CompareTarget.Create:
                result = kv.CreateRevision.CompareTo(c.TargetUnionCase == Compare.TargetUnionOneofCase.CreateRevision ? c.CreateRevision : 0);
                break;
            case Compare.Types.CompareTarget.Mod:
                result = kv.ModRevision.CompareTo(c.TargetUnionCase == Compare.TargetUnionOneofCase.ModRevision ? c.ModRevision : 0);
                break;
            case Compare.Types.CompareTarget.Version:
                result = kv.Version.CompareTo(c.TargetUnionCase == Compare.TargetUnionOneofCase.Version ? c.Version : 0);
                break;
            case Compare.Types.CompareTarget.Lease:
                result = kv.Lease.CompareTo(c.TargetUnionCase == Compare.TargetUnionOneofCase.Lease ? c.Lease : 0);
                break;
        }
        return c.Result switch
        {
            Compare.Types.CompareResult.Equal => result == 0,
            Compare.Types.CompareResult.NotEqual => result != 0,
            Compare.Types.CompareResult.Greater => result > 0,
            Compare.Types.CompareResult.Less => result < 0,
            _ => true,
        };
    }
}

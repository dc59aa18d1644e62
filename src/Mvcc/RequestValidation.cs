using Cairn.Protocol;
using Etcdserverpb;
using Google.Protobuf;

namespace Cairn.Mvcc;

/// <summary>
/// The checks etcd's API layer (api/v3rpc/key.go) makes before a request is proposed to raft.
/// The member process calls these; <see cref="KvStore"/> itself does not, so that a request
/// that passed them (and anything in the raft log) applies exactly as in etcd.
/// </summary>
public static class RequestValidation
{
    /// <summary>etcd's checkRangeRequest: the key must be given.</summary>
    public static void CheckRange(RangeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Key.IsEmpty)
        {
            throw EtcdErrors.EmptyKey();
        }
    }

    /// <summary>etcd's checkPutRequest: a key; no value with ignore_value; no lease with ignore_lease.</summary>
    public static void CheckPut(PutRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Key.IsEmpty)
        {
            throw EtcdErrors.EmptyKey();
        }
        if (request.IgnoreValue && !request.Value.IsEmpty)
        {
            throw EtcdErrors.ValueProvided();
        }
        if (request.IgnoreLease && request.Lease != 0)
        {
            throw EtcdErrors.LeaseProvided();
        }
    }

    /// <summary>etcd's checkDeleteRequest: the key must be given.</summary>
    public static void CheckDeleteRange(DeleteRangeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Key.IsEmpty)
        {
            throw EtcdErrors.EmptyKey();
        }
    }

    /// <summary>
    /// etcd's checkTxnRequest then checkIntervals on both branches: at most
    /// <paramref name="maxTxnOps"/> compares and ops per branch (a nested txn gets what its parent
    /// leaves: maxTxnOps minus the parent's largest count), every compare and op has a key, no op
    /// is empty (etcd answers "key not found" for an empty op), and no key is written twice.
    /// </summary>
    public static void CheckTxn(TxnRequest request, int maxTxnOps)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckTxnShape(request, maxTxnOps);
        // etcd checks the overlaps after the shape, "to avoid quadratic blowup".
        CheckIntervals(request.Success, out _, out _);
        CheckIntervals(request.Failure, out _, out _);
    }

    private static void CheckTxnShape(TxnRequest request, int maxTxnOps)
    {
        int opc = Math.Max(request.Compare.Count, Math.Max(request.Success.Count, request.Failure.Count));
        if (opc > maxTxnOps)
        {
            throw EtcdErrors.TooManyOps();
        }
        foreach (var c in request.Compare)
        {
            if (c.Key.IsEmpty)
            {
                throw EtcdErrors.EmptyKey();
            }
        }
        foreach (var op in request.Success)
        {
            CheckOp(op, maxTxnOps - opc);
        }
        foreach (var op in request.Failure)
        {
            CheckOp(op, maxTxnOps - opc);
        }
    }

    private static void CheckOp(RequestOp op, int maxTxnOps)
    {
        switch (op.RequestCase)
        {
            case RequestOp.RequestOneofCase.RequestRange:
                CheckRange(op.RequestRange);
                break;
            case RequestOp.RequestOneofCase.RequestPut:
                CheckPut(op.RequestPut);
                break;
            case RequestOp.RequestOneofCase.RequestDeleteRange:
                CheckDeleteRange(op.RequestDeleteRange);
                break;
            case RequestOp.RequestOneofCase.RequestTxn:
                CheckTxnShape(op.RequestTxn, maxTxnOps);
                break;
            default:
                throw EtcdErrors.KeyNotFound();
        }
    }

    /// <summary>A delete's interval as etcd's adt sees it: [key, range_end), or the point [key, key+"\0").</summary>
    private readonly record struct Deletion(ByteString Key, ByteString RangeEnd)
    {
        /// <summary>
        /// etcd's intervalTree.Intersects with a point: for a point delete, the same key; otherwise
        /// key ≤ k &lt; range_end compared as strings. A range_end of "\0" (meaning "to the end" when
        /// applied) is, as a string, below every key: such a delete conflicts with no put — etcd
        /// 3.4.23 accepts a txn deleting from "a" to "\0" and putting "a".
        /// </summary>
        public bool Contains(ReadOnlySpan<byte> k)
        {
            if (RangeEnd.IsEmpty)
            {
                return k.SequenceEqual(Key.Span);
            }
            return Key.Span.SequenceCompareTo(k) <= 0 && k.SequenceCompareTo(RangeEnd.Span) < 0;
        }
    }

    /// <summary>
    /// etcd's checkIntervals: the puts of a branch (and of the nested txns in it) must not repeat a
    /// key nor fall in a delete of the branch or of a nested txn. Overlapping deletes are allowed, and
    /// a key put in both branches of one nested txn is fine (only one branch runs).
    /// </summary>
    private static void CheckIntervals(Google.Protobuf.Collections.RepeatedField<RequestOp> ops, out HashSet<ByteString> puts, out List<Deletion> dels)
    {
        dels = [];
        foreach (var op in ops)
        {
            if (op.RequestCase == RequestOp.RequestOneofCase.RequestDeleteRange)
            {
                dels.Add(new Deletion(op.RequestDeleteRange.Key, op.RequestDeleteRange.RangeEnd));
            }
        }

        puts = [];
        foreach (var op in ops)
        {
            if (op.RequestCase != RequestOp.RequestOneofCase.RequestTxn)
            {
                continue;
            }
            CheckIntervals(op.RequestTxn.Success, out var putsThen, out var delsThen);
            CheckIntervals(op.RequestTxn.Failure, out var putsElse, out var delsElse);
            foreach (var k in putsThen)
            {
                if (puts.Contains(k) || Intersects(dels, k.Span))
                {
                    throw EtcdErrors.DuplicateKey();
                }
                puts.Add(k);
            }
            foreach (var k in putsElse)
            {
                if (puts.Contains(k) && !putsThen.Contains(k))
                {
                    throw EtcdErrors.DuplicateKey();
                }
                if (Intersects(dels, k.Span))
                {
                    throw EtcdErrors.DuplicateKey();
                }
                puts.Add(k);
            }
            dels.AddRange(delsThen);
            dels.AddRange(delsElse);
        }

        foreach (var op in ops)
        {
            if (op.RequestCase != RequestOp.RequestOneofCase.RequestPut)
            {
                continue;
            }
            var k = op.RequestPut.Key;
            if (puts.Contains(k) || Intersects(dels, k.Span))
            {
                throw EtcdErrors.DuplicateKey();
            }
            puts.Add(k);
        }
    }

    private static bool Intersects(List<Deletion> dels, ReadOnlySpan<byte> key)
    {
        foreach (var d in dels)
        {
            if (d.Contains(key))
            {
                return true;
            }
        }
        return false;
    }
}

using Cairn.Watch.Tests.Infra;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Cairn.Watch.Tests;

/// <summary>The guarantee checker must reject broken sequences, or the other tests prove nothing.</summary>
public class CheckerTests
{
    private static Event Put(string k, long rev, long create, long version, string v = "x") => new()
    {
        Type = Event.Types.EventType.Put,
        Kv = new KeyValue { Key = ByteString.CopyFromUtf8(k), Value = ByteString.CopyFromUtf8(v), ModRevision = rev, CreateRevision = create, Version = version },
    };

    private static WatchResponse Resp(params Event[] evs)
    {
        var r = new WatchResponse { Header = new ResponseHeader { Revision = evs.Length == 0 ? 0 : evs[^1].Kv.ModRevision }, WatchId = 1 };
        r.Events.Add(evs);
        return r;
    }

    private static WatchResponse Progress(long rev) => new() { Header = new ResponseHeader { Revision = rev }, WatchId = 1 };

    // History: rev 2 = a; rev 3 = b, c (one txn); rev 4 = a again.
    private static readonly Event A2 = Put("a", 2, 2, 1);
    private static readonly Event B3 = Put("b", 3, 3, 1);
    private static readonly Event C3 = Put("c", 3, 3, 1);
    private static readonly Event A4 = Put("a", 4, 2, 2);
    private static readonly Event[] History = [A2, B3, C3, A4];

    [Fact]
    public void Accepts_a_correct_sequence()
    {
        WatchChecker.Check([Resp(A2), Resp(B3, C3), Progress(3), Resp(A4), Progress(9)], History);
        WatchChecker.Check([Resp(A2, B3, C3, A4)], History);
    }

    private static void Rejects(string guarantee, IReadOnlyList<WatchResponse> seq, IReadOnlyList<Event>? expected = null, bool complete = true)
    {
        var ex = Assert.Throws<WatchViolation>(() => WatchChecker.Check(seq, expected ?? History, complete));
        Assert.Equal(guarantee, ex.Guarantee);
    }

    [Fact]
    public void Rejects_a_duplicate_event() => Rejects("unique", [Resp(A2), Resp(A2)]);

    [Fact]
    public void Rejects_a_gap() => Rejects("reliable", [Resp(A2), Resp(A4)], complete: false);

    [Fact]
    public void Rejects_a_missing_tail() => Rejects("reliable", [Resp(A2), Resp(B3, C3)]);

    [Fact]
    public void Rejects_a_revision_split_across_responses() => Rejects("atomic", [Resp(A2), Resp(B3), Resp(C3), Resp(A4)]);

    [Fact]
    public void Accepts_a_revision_split_only_with_fragment_flags()
    {
        var first = Resp(B3);
        first.Fragment = true;
        WatchChecker.Check([Resp(A2), first, Resp(C3), Resp(A4)], History);
        var unterminated = Resp(C3);
        unterminated.Fragment = true;
        Rejects("atomic", [Resp(A2), first, unterminated], complete: false);
    }

    [Fact]
    public void Rejects_going_back_in_revision() =>
        Rejects("ordered", [Resp(B3, A2)], [B3, A2]);

    [Fact]
    public void Rejects_a_progress_notify_ahead_of_delivered_events() => Rejects("bookmarkable", [Resp(A2), Progress(3), Resp(B3, C3)], complete: false);

    [Fact]
    public void Rejects_a_wrong_create_revision() =>
        Rejects("is-create", [Resp(Put("a", 2, 1, 1))], [Put("a", 2, 1, 1)]);

    [Fact]
    public void Rejects_a_filtered_type()
    {
        var del = new Event { Type = Event.Types.EventType.Delete, Kv = new KeyValue { Key = ByteString.CopyFromUtf8("a"), ModRevision = 5 } };
        var ex = Assert.Throws<WatchViolation>(() => WatchChecker.Check([Resp(del)], [del], noDelete: true));
        Assert.Equal("filter", ex.Guarantee);
    }

    [Fact]
    public void Rejects_a_wrong_or_unasked_prev_kv()
    {
        var withPrev = A4.Clone();
        withPrev.PrevKv = Put("a", 3, 2, 1, "wrong").Kv;
        var ex = Assert.Throws<WatchViolation>(() => WatchChecker.Check([Resp(withPrev)], [A4], expectedPrev: _ => A2.Kv));
        Assert.Equal("prev_kv", ex.Guarantee);
        ex = Assert.Throws<WatchViolation>(() => WatchChecker.Check([Resp(withPrev)], [A4]));
        Assert.Equal("prev_kv", ex.Guarantee);
    }
}

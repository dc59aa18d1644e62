using Etcdserverpb;

namespace Cairn.Watch.Tests.Infra;

/// <summary>What a test watch covers.</summary>
public sealed record WatchSpec(string Key, string? End = null, bool NoPut = false, bool NoDelete = false, bool PrevKv = false, bool Fragment = false, bool ProgressNotify = false);

/// <summary>A created watch and where it started.</summary>
public sealed record ActiveWatch(long Id, WatchSpec Spec, long StartRev);

/// <summary>Random writes and watches for the guarantee tests (seeded, so failures replay).</summary>
public static class Workload
{
    public static readonly string[] Keys = ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"];

    /// <summary>One random transaction: a put, a delete, a range delete, or a txn over distinct keys.</summary>
    public static Op[] RandomWrite(Random rnd)
    {
        int kind = rnd.Next(10);
        if (kind < 5) return [Op.Put(Keys[rnd.Next(Keys.Length)], "v" + rnd.Next(1000))];
        if (kind < 7) return [Op.Del(Keys[rnd.Next(Keys.Length)])];
        if (kind < 8)
        {
            int a = rnd.Next(Keys.Length), b = rnd.Next(Keys.Length);
            return [Op.Del(Keys[Math.Min(a, b)], Keys[Math.Max(a, b)] + "\x01")];
        }
        var picked = Keys.OrderBy(_ => rnd.Next()).Take(2 + rnd.Next(4)).ToArray();
        return picked.Select(k => rnd.Next(4) == 0 ? Op.Del(k) : Op.Put(k, "t" + rnd.Next(1000))).ToArray();
    }

    public static readonly WatchSpec[] Specs =
    [
        new("k3"),
        new("k1", "k5"),
        new("k5", "\0"),
        new("\0", "\0"),
        new("k2", "k8", PrevKv: true),
        new("k0", "k9", NoPut: true),
        new("k0", "k9", NoDelete: true),
        new("k7", PrevKv: true),
    ];

    /// <summary>Creates a watch; for start revision 0 the start is taken from the created reply.</summary>
    public static async Task<ActiveWatch> Create(StreamHarness h, WatchSpec spec, long watchId, long startRev = 0)
    {
        h.Create(spec.Key, spec.End, startRev, watchId, spec.PrevKv, spec.ProgressNotify, spec.Fragment, spec.NoPut, spec.NoDelete);
        var created = await h.WaitCreated(watchId);
        return new ActiveWatch(watchId, spec, startRev == 0 ? created.Header.Revision + 1 : startRev);
    }

    public static List<Mvccpb.Event> Expected(Model m, ActiveWatch w) =>
        m.Expected(w.StartRev, w.Spec.Key, w.Spec.End, w.Spec.NoPut, w.Spec.NoDelete);

    /// <summary>Waits for all expected events of every watch, then checks every guarantee on each.</summary>
    public static async Task CheckAll(StreamHarness h, Model m, IEnumerable<ActiveWatch> watches)
    {
        foreach (var w in watches)
        {
            var expected = Expected(m, w);
            await h.WaitEvents(w.Id, expected.Count);
            await Task.Delay(20);
            Check(h.ResponsesOf(w.Id), m, w);
        }
    }

    public static void Check(List<WatchResponse> responses, Model m, ActiveWatch w, bool complete = true) =>
        WatchChecker.Check(responses, Expected(m, w), complete, w.Spec.PrevKv ? m.ExpectedPrev : null, w.Spec.NoPut, w.Spec.NoDelete);
}

using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace Cairn.Client.Tests.Infra;

/// <summary>Building blocks of the tests: scripted-stream events and responses, waiting for a condition.</summary>
internal static class Scripted
{
    public static WatchResponse Batch(long id, IEnumerable<Event> events, bool fragment = false, long header = 20)
    {
        var r = new WatchResponse { Header = new ResponseHeader { Revision = header }, WatchId = id, Fragment = fragment };
        r.Events.AddRange(events);
        return r;
    }

    public static Event Ev(long revision, string key) => new()
    {
        Type = Event.Types.EventType.Put,
        Kv = new KeyValue { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8("v"), ModRevision = revision, CreateRevision = revision, Version = 1 },
    };

    /// <summary>Waits (up to <paramref name="seconds"/>, polling every 25 ms) for <paramref name="condition"/>, then asserts it.</summary>
    public static async Task WaitUntil(Func<bool> condition, int seconds = 10)
    {
        for (var i = 0; i < seconds * 40 && !condition(); i++)
        {
            await Task.Delay(25);
        }
        Assert.True(condition());
    }

    /// <summary>Waits (up to <paramref name="seconds"/>, polling every 200 ms) for an asynchronous <paramref name="condition"/>, then asserts it.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, int seconds)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (!await condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        Assert.True(await condition());
    }
}

using System.Diagnostics;

namespace Cairn.Client.Tests.Infra;

/// <summary>A 3-member cluster of real processes whose members a test can kill -9, pause and resume.</summary>
public abstract class TestCluster : IAsyncDisposable
{
    public abstract string Name { get; }

    /// <summary>Client URLs of members 0..2.</summary>
    public abstract IReadOnlyList<string> Endpoints { get; }

    /// <summary>The OS pid of member <paramref name="index"/>.</summary>
    public abstract int Pid(int index);

    public void Kill(int index) => ChildProcesses.Signal(Pid(index), "KILL");

    public void Pause(int index) => ChildProcesses.Signal(Pid(index), "STOP");

    public void Resume(int index) => ChildProcesses.Signal(Pid(index), "CONT");

    /// <summary>True when <see cref="Isolate"/> works (the peer links go through a proxy the test controls).</summary>
    public virtual bool CanPartition => false;

    /// <summary>Cuts member <paramref name="index"/> from its peers (the process keeps running and serving clients).</summary>
    public virtual void Isolate(int index) => throw new NotSupportedException($"{Name} was started without a peer proxy");

    /// <summary>Undoes <see cref="Isolate"/>.</summary>
    public virtual void Heal() => throw new NotSupportedException($"{Name} was started without a peer proxy");

    /// <summary>Starts member <paramref name="index"/> again on its data dir after a kill.</summary>
    public abstract void Restart(int index);

    public abstract ValueTask DisposeAsync();

    /// <summary>Waits until a write through every live endpoint succeeds (a leader exists and all members serve).</summary>
    protected static async Task WaitHealthyAsync(IReadOnlyList<string> endpoints, TimeSpan timeout, Func<string> diagnostics)
    {
        var sw = Stopwatch.StartNew();
        foreach (var endpoint in endpoints)
        {
            await using var client = new EtcdClient(new EtcdClientOptions { Endpoints = [endpoint], CallTimeout = TimeSpan.FromSeconds(2) });
            while (true)
            {
                try
                {
                    await client.PutAsync("health-probe", endpoint);
                    await client.GetAsync("health-probe");
                    break;
                }
                catch (Exception e) when (sw.Elapsed < timeout)
                {
                    _ = e;
                    await Task.Delay(200);
                }
                catch (Exception e)
                {
                    throw new InvalidOperationException($"cluster not healthy at {endpoint} after {timeout}: {e.Message}\n{diagnostics()}");
                }
            }
        }
    }
}

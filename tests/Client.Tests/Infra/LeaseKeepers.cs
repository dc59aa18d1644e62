namespace Cairn.Client.Tests.Infra;

/// <summary>
/// Leases kept alive by one <see cref="EtcdClient.LeaseKeepAlive"/> enumeration each, counting their
/// answers; every keeper's enumeration can be stopped on its own. A keeper's task faults with the
/// error that ended its keep-alive and completes when it is stopped.
/// </summary>
internal sealed class LeaseKeepers : IDisposable
{
    private readonly CancellationTokenSource[] _stops;
    private readonly int[] _answers;

    public LeaseKeepers(EtcdClient client, IReadOnlyList<long> leases)
    {
        Leases = leases;
        _answers = new int[leases.Count];
        _stops = leases.Select(_ => new CancellationTokenSource(TimeSpan.FromMinutes(2))).ToArray();
        Tasks = leases.Select((id, i) => Task.Run(async () =>
        {
            try
            {
                await foreach (var answer in client.LeaseKeepAlive(id, _stops[i].Token))
                {
                    Assert.Equal(id, answer.ID);
                    Assert.True(answer.TTL > 0, $"lease {id} answered TTL {answer.TTL}");
                    Interlocked.Increment(ref _answers[i]);
                }
            }
            catch (OperationCanceledException) when (_stops[i].IsCancellationRequested)
            {
                // Stopped by the test.
            }
        })).ToList();
    }

    public IReadOnlyList<long> Leases { get; }

    public IReadOnlyList<Task> Tasks { get; }

    /// <summary>Answers received so far by keeper <paramref name="index"/>.</summary>
    public int Answers(int index) => Volatile.Read(ref _answers[index]);

    /// <summary>Stops keeper <paramref name="index"/>'s enumeration.</summary>
    public void Stop(int index) => _stops[index].Cancel();

    public void Dispose()
    {
        foreach (var stop in _stops)
        {
            stop.Cancel();
            stop.Dispose();
        }
    }
}

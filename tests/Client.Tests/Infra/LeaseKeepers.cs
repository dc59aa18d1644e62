using System.Runtime.CompilerServices;

namespace Cairn.Client.Tests.Infra;

/// <summary>
/// Leases kept alive by one <see cref="EtcdClient.LeaseKeepAlive"/> enumeration each, counting their
/// answers; every keeper's enumeration can be stopped on its own. A keeper's task faults with the
/// error that ended its keep-alive and completes when it is stopped.
/// </summary>
internal sealed class LeaseKeepers(EtcdClient client) : IDisposable
{
    private readonly List<CancellationTokenSource> _stops = new();
    private readonly List<StrongBox<int>> _answers = new();
    private readonly List<Task> _tasks = new();

    public IReadOnlyList<Task> Tasks => _tasks;

    /// <summary>Starts keeping <paramref name="lease"/> alive; returns the keeper's index.</summary>
    public int Keep(long lease)
    {
        var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var answers = new StrongBox<int>();
        _stops.Add(stop);
        _answers.Add(answers);
        _tasks.Add(Task.Run(async () =>
        {
            try
            {
                await foreach (var answer in client.LeaseKeepAlive(lease, stop.Token))
                {
                    Assert.Equal(lease, answer.ID);
                    Assert.True(answer.TTL > 0, $"lease {lease} answered TTL {answer.TTL}");
                    Interlocked.Increment(ref answers.Value);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Stopped by the test.
            }
        }));
        return _tasks.Count - 1;
    }

    /// <summary>Answers received so far by keeper <paramref name="index"/>.</summary>
    public int Answers(int index) => Volatile.Read(ref _answers[index].Value);

    /// <summary>Answers received so far by every keeper, in order.</summary>
    public List<int> AllAnswers() => Enumerable.Range(0, _answers.Count).Select(Answers).ToList();

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

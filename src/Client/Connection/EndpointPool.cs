namespace Cairn.Client;

/// <summary>
/// The client's endpoints and which one is in use. Like etcd's Go client, every call and watch
/// stream goes to one pinned endpoint; a failure moves the pin to the next endpoint and
/// quarantines the failed one for a while, so a dead member costs one failed attempt, not one
/// per call. When every endpoint is quarantined the one that failed longest ago is tried.
/// </summary>
internal sealed class EndpointPool : IDisposable
{
    private readonly Endpoint[] _endpoints;
    private readonly long _quarantineMs;
    private readonly object _lock = new();
    private int _current;

    public EndpointPool(IReadOnlyList<Endpoint> endpoints, TimeSpan quarantine)
    {
        if (endpoints.Count == 0)
        {
            throw new ArgumentException("At least one endpoint is needed.", nameof(endpoints));
        }
        _endpoints = endpoints.ToArray();
        _quarantineMs = (long)quarantine.TotalMilliseconds;
    }

    public IReadOnlyList<Endpoint> Endpoints => _endpoints;

    /// <summary>The endpoint to use now.</summary>
    public Endpoint Pick() => Pick(exclude: null);

    /// <summary>The endpoint to use now, avoiding <paramref name="exclude"/> when another is usable.</summary>
    public Endpoint Pick(Endpoint? exclude)
    {
        var now = Environment.TickCount64;
        lock (_lock)
        {
            for (var i = 0; i < _endpoints.Length; i++)
            {
                var index = (_current + i) % _endpoints.Length;
                var e = _endpoints[index];
                if (e == exclude && _endpoints.Length > 1)
                {
                    continue;
                }
                if (e.FailedAt is not { } failed || now - failed >= _quarantineMs)
                {
                    _current = index;
                    return e;
                }
            }
            // Everything failed recently: try the one that has rested longest.
            Endpoint? best = null;
            foreach (var e in _endpoints)
            {
                if (e == exclude && _endpoints.Length > 1)
                {
                    continue;
                }
                if (best == null || (e.FailedAt ?? long.MinValue) < (best.FailedAt ?? long.MinValue))
                {
                    best = e;
                }
            }
            _current = best!.Index;
            return best;
        }
    }

    /// <summary>Quarantines <paramref name="endpoint"/> and moves the pin off it.</summary>
    public void ReportFailure(Endpoint endpoint)
    {
        lock (_lock)
        {
            endpoint.FailedAt = Environment.TickCount64;
            if (_endpoints[_current] == endpoint)
            {
                _current = (_current + 1) % _endpoints.Length;
            }
        }
    }

    /// <summary>Clears the endpoint's failure record.</summary>
    public void ReportSuccess(Endpoint endpoint)
    {
        if (endpoint.FailedAt != null)
        {
            lock (_lock)
            {
                endpoint.FailedAt = null;
            }
        }
    }

    public void Dispose()
    {
        foreach (var e in _endpoints)
        {
            e.Dispose();
        }
    }
}

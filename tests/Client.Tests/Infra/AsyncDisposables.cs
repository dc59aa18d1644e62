namespace Cairn.Client.Tests.Infra;

/// <summary>Disposes a list of resources in order with one <c>await using</c>; every one is disposed even if one throws.</summary>
public sealed class AsyncDisposables(IEnumerable<IAsyncDisposable> items) : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _items = items.ToList();

    public async ValueTask DisposeAsync()
    {
        var errors = new List<Exception>();
        foreach (var item in _items)
        {
            try
            {
                await item.DisposeAsync();
            }
            catch (Exception e)
            {
                errors.Add(e);
            }
        }
        if (errors.Count > 0)
        {
            throw new AggregateException(errors);
        }
    }
}

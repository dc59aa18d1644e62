namespace Cairn.JepsenLite;

public static class Runner
{
    public static Task<int> MainAsync(string[] args) => Task.FromResult(0);
}

namespace Cairn.JepsenLite;

public static class Program
{
    public static Task<int> Main(string[] args) => Runner.MainAsync(args);
}

using Cairn.JepsenLite.Cluster;

namespace Cairn.JepsenLite.Tests;

/// <summary>The profiles' shape: the short one exercises every fault, the long one is 20 × 120 s and can be reduced.</summary>
public class ProfileShapeTests
{
    [Fact]
    public void ShortProfileIsThreeScenariosOfThirtySecondsCoveringEveryFault()
    {
        var p = Runner.Profile("short");
        Assert.Equal(3, p.Count);
        Assert.All(p, s => Assert.Equal(30, s.Seconds));
        Assert.Empty(Nemesis.AllFaults.Except(p.SelectMany(s => s.Faults)));
    }

    [Fact]
    public void LongProfileIsTwentyScenariosOfTwoMinutesAndCanBeReduced()
    {
        var p = Runner.Profile("long");
        Assert.Equal(20, p.Count);
        Assert.All(p, s => Assert.Equal(120, s.Seconds));
        Assert.Equal(p.Count, p.Select(s => s.Name).Distinct().Count());
        Assert.Empty(Nemesis.AllFaults.Except(p.SelectMany(s => s.Faults)));
        var reduced = Runner.Profile("long", seconds: 40, scenarios: 5);
        Assert.Equal(p.Take(5).Select(s => s.Name), reduced.Select(s => s.Name));
        Assert.All(reduced, s => Assert.Equal(40, s.Seconds));
    }
}

namespace Cairn.Bench.Tests;

/// <summary>The watch-resume workload's exactly-once check (<see cref="DeliveryCheck"/>).</summary>
public class DeliveryCheckTests
{
    private static readonly long[] Written = [10, 11, 12, 13, 14];

    [Fact]
    public void EveryRevisionOnceInOrderIsOk()
    {
        var check = DeliveryCheck.Compare([10, 11, 12, 13, 14], Written);

        Assert.True(check.Ok);
        Assert.Equal(new DeliveryCheck(5, 5, 0, 0, 0, 0), check);
    }

    [Fact]
    public void AResumeFromTheWrongRevisionMissesTheEventsInBetween()
    {
        // Last delivered 11, resumed from 13 instead of 11 + 1: revision 12 is lost.
        var check = DeliveryCheck.Compare([10, 11, 13, 14], Written);

        Assert.False(check.Ok);
        Assert.Equal(1, check.Missed);
        Assert.Equal(0, check.Duplicated);
    }

    [Fact]
    public void AResumeFromTheLastDeliveredRevisionDuplicatesIt()
    {
        // Last delivered 12, resumed from 12 instead of 12 + 1: revision 12 arrives twice; an equal
        // revision counts as a duplicate only, not as out of order.
        var check = DeliveryCheck.Compare([10, 11, 12, 12, 13, 14], Written);

        Assert.False(check.Ok);
        Assert.Equal(1, check.Duplicated);
        Assert.Equal(0, check.Missed);
        Assert.Equal(0, check.OutOfOrder);
    }

    [Fact]
    public void ReplayingOlderEventsCountsThemAsDuplicatedAndOutOfOrder()
    {
        var check = DeliveryCheck.Compare([10, 11, 12, 11, 12, 13, 14], Written);

        Assert.Equal(2, check.Duplicated);
        Assert.Equal(1, check.OutOfOrder);
        Assert.Equal(7, check.Delivered);
    }

    [Fact]
    public void ARevisionTheClusterDoesNotHoldIsUnexpected()
    {
        var check = DeliveryCheck.Compare([10, 11, 12, 13, 14, 99], Written);

        Assert.False(check.Ok);
        Assert.Equal(1, check.Unexpected);
    }

    [Fact]
    public void NothingWrittenAndNothingDeliveredIsOk() => Assert.True(DeliveryCheck.Compare([], []).Ok);
}

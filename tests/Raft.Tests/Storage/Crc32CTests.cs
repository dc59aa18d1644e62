using System.Text;
using Cairn.Raft.Storage;

namespace Cairn.Raft.Tests.Storage;

public class Crc32CTests
{
    [Fact]
    public void KnownVector()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0u, Crc32C.Compute([]));
    }

    [Fact]
    public void HardwareMatchesSoftwareAndPiecesCompose()
    {
        var rng = new Random(1);
        for (int len = 0; len < 200; len++)
        {
            var data = new byte[len];
            rng.NextBytes(data);
            uint whole = Crc32C.Compute(data);
            Assert.Equal(whole, Crc32C.Finish(Crc32C.UpdateSoftware(Crc32C.Start, data)));
            int cut = len / 3;
            Assert.Equal(whole, Crc32C.Finish(Crc32C.Update(Crc32C.Update(Crc32C.Start, data.AsSpan(0, cut)), data.AsSpan(cut))));
        }
    }
}

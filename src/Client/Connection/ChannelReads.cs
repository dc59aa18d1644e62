using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace Cairn.Client;

/// <summary>Reading the per-consumer channels (watch batches, keep-alive answers) the way the enumerations need it.</summary>
internal static class ChannelReads
{
    /// <summary>
    /// <see cref="ChannelReader{T}.WaitToReadAsync"/>, but a channel completed with an error throws
    /// that error itself (a watch's <see cref="WatchCompactedException"/>, a keep-alive's
    /// <see cref="EtcdException"/>), never a <see cref="ChannelClosedException"/> wrapping it.
    /// </summary>
    public static async ValueTask<bool> WaitOrThrowAsync<T>(this ChannelReader<T> reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e) when (e.InnerException != null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}

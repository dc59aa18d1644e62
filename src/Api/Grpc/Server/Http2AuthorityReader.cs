using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;

namespace Cairn.Grpc;

/// <summary>
/// The input side of an HTTP/2 connection as the server reads it, with <c>:authority</c> values that carry a scheme
/// fixed on the way in. Until the first header block is complete it hands the server only the bytes before it
/// (the preface, SETTINGS, ...: the server must answer those before a grpc-go client sends any request), then
/// decides once with <see cref="Http2AuthoritySniffer"/>: either it becomes a plain forwarder of the transport's
/// reader (no copy, no parsing: normal clients pay one virtual call per read), or every further byte goes through
/// an <see cref="Http2AuthorityRewriter"/> pumping into a pipe the server reads instead.
/// </summary>
internal sealed class Http2AuthorityReader : PipeReader
{
    /// <summary>Largest header block (encoded) the rewriter accepts; Kestrel's own header limits are far below.</summary>
    public const int MaxHeaderBlockBytes = 64 * 1024;

    /// <summary>Largest decoded header list (RFC 7541 sizes) the rewriter accepts.</summary>
    public const int MaxHeaderListBytes = 128 * 1024;

    private readonly PipeReader _inner;
    private readonly int _headerTableSize;
    private readonly ILogger _logger;
    private readonly string _connectionId;
    private readonly Http2AuthoritySniffer _sniffer;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile Mode _mode;
    private long _consumed;
    private ReadOnlySequence<byte> _innerBuffer;
    private ReadOnlySequence<byte> _handedOut;
    private Pipe? _rewritten;

    /// <summary>Wraps <paramref name="inner"/>, the transport's input of one connection.</summary>
    public Http2AuthorityReader(PipeReader inner, int headerTableSize, ILogger logger, string connectionId)
    {
        _inner = inner;
        _headerTableSize = headerTableSize;
        _logger = logger;
        _connectionId = connectionId;
        _sniffer = new Http2AuthoritySniffer(headerTableSize, MaxHeaderBlockBytes, MaxHeaderListBytes);
    }

    private enum Mode
    {
        Sniffing,
        PassThrough,
        Rewriting,
    }

    /// <summary>Whether the connection's header blocks are being rewritten (false: undecided or passed through).</summary>
    public bool IsRewriting => _mode == Mode.Rewriting;

    /// <summary>Completes when the rewriting pump (if any) has stopped and completed the transport's reader.</summary>
    public Task Stopped => _mode == Mode.Rewriting ? _stopped.Task : Task.CompletedTask;

    /// <inheritdoc/>
    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        while (_mode == Mode.Sniffing)
        {
            var result = await _inner.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (Sniff(result, out var delivered))
            {
                return delivered;
            }
        }
        return _mode == Mode.PassThrough
            ? await _inner.ReadAsync(cancellationToken).ConfigureAwait(false)
            : await _rewritten!.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override bool TryRead(out ReadResult result)
    {
        switch (_mode)
        {
            case Mode.PassThrough:
                return _inner.TryRead(out result);
            case Mode.Rewriting:
                return _rewritten!.Reader.TryRead(out result);
        }
        // Sniffing: only answer when the data is there and settles something; otherwise say "nothing yet".
        if (_inner.TryRead(out var inner) && Sniff(inner, out result))
        {
            return true;
        }
        result = default;
        return _mode != Mode.Sniffing && TryRead(out result);
    }

    /// <inheritdoc/>
    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    /// <inheritdoc/>
    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        switch (_mode)
        {
            case Mode.PassThrough:
                _inner.AdvanceTo(consumed, examined);
                return;
            case Mode.Rewriting:
                _rewritten!.Reader.AdvanceTo(consumed, examined);
                return;
        }
        _consumed += _handedOut.Slice(_handedOut.Start, consumed).Length;
        // Bytes held back (the start of an incomplete first header block) cannot be judged without more input:
        // when the server has looked at everything it was given, the transport must wait for new bytes.
        var examinedAll = _handedOut.Slice(examined).IsEmpty;
        _inner.AdvanceTo(consumed, examinedAll ? _innerBuffer.End : examined);
    }

    /// <inheritdoc/>
    public override void CancelPendingRead()
    {
        if (_mode == Mode.Rewriting)
        {
            _rewritten!.Reader.CancelPendingRead();
        }
        else
        {
            _inner.CancelPendingRead();
        }
    }

    /// <inheritdoc/>
    public override void Complete(Exception? exception = null)
    {
        if (_mode == Mode.Rewriting)
        {
            _rewritten!.Reader.Complete(exception);
            // Wakes the pump if it waits for input; it then stops and completes the transport's reader.
            _inner.CancelPendingRead();
        }
        else
        {
            _inner.Complete(exception);
        }
    }

    /// <summary>
    /// Handles one read of the transport while undecided. Returns true with the result for the server, or false
    /// when there was nothing to deliver yet (the transport was told to wait for more) or rewriting just began.
    /// </summary>
    private bool Sniff(ReadResult result, out ReadResult delivered)
    {
        var buffer = result.Buffer;
        var verdict = _sniffer.Inspect(buffer, _consumed);
        if (verdict == Http2AuthoritySniffer.Verdict.NeedMore && result.IsCompleted)
        {
            // No more input will come to settle it: the server gets the rest as it is.
            verdict = Http2AuthoritySniffer.Verdict.PassThrough;
        }
        switch (verdict)
        {
            case Http2AuthoritySniffer.Verdict.PassThrough:
                _mode = Mode.PassThrough;
                delivered = result;
                return true;
            case Http2AuthoritySniffer.Verdict.Rewrite:
                StartRewriting(buffer);
                delivered = default;
                return false;
        }
        var deliverable = buffer.Slice(0, Math.Clamp(_sniffer.Boundary - _consumed, 0, buffer.Length));
        if (deliverable.IsEmpty && !result.IsCanceled)
        {
            _inner.AdvanceTo(buffer.Start, buffer.End);
            delivered = default;
            return false;
        }
        _innerBuffer = buffer;
        _handedOut = deliverable;
        delivered = new ReadResult(deliverable, result.IsCanceled, isCompleted: false);
        return true;
    }

    private void StartRewriting(ReadOnlySequence<byte> buffer)
    {
        // The bytes before the first HEADERS frame that the server has not consumed yet go first, unchanged; the
        // transport keeps the rest (unexamined, so the pump's first read returns it at once).
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false));
        var before = buffer.Slice(0, _sniffer.Boundary - _consumed);
        foreach (var segment in before)
        {
            pipe.Writer.Write(segment.Span);
        }
        _inner.AdvanceTo(before.End);
        _rewritten = pipe;
        _mode = Mode.Rewriting;
        Http2AuthorityLog.Rewriting(_logger, _connectionId);
        _ = PumpAsync(pipe.Writer);
    }

    private async Task PumpAsync(PipeWriter output)
    {
        using var rewriter = new Http2AuthorityRewriter(_headerTableSize, MaxHeaderBlockBytes, MaxHeaderListBytes);
        try
        {
            // The bytes StartRewriting wrote; from here on this task is the pipe's only writer.
            await output.FlushAsync().ConfigureAwait(false);
            var failure = await rewriter.RunAsync(_inner, output).ConfigureAwait(false);
            if (failure != null)
            {
                Http2AuthorityLog.BadInput(_logger, _connectionId, failure);
            }
            await output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // A transport error (connection reset, ...) reaches the server as it would have without the rewriter.
            await output.CompleteAsync(e).ConfigureAwait(false);
        }
        finally
        {
            await _inner.CompleteAsync().ConfigureAwait(false);
            _stopped.TrySetResult();
        }
    }
}

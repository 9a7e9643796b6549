using System.IO.Pipelines;

namespace Mocker.Engine.Content;

/// <summary>
/// A read-only stream that copies every byte it reads from <paramref name="source"/> into <paramref name="copy"/>, so one
/// pass over a request body can feed two consumers (the content store and the layer unpacker) with pipe back-pressure
/// instead of buffering. <see cref="CompleteAsync"/> reads what the first consumer left unread and closes the copy.
/// </summary>
internal sealed class TeeStream(Stream source, PipeWriter copy) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (n > 0)
        {
            // A completed reader (the copy's consumer failed) is reported when its task is awaited.
            await copy.WriteAsync(buffer[..n], cancellationToken).ConfigureAwait(false);
        }
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Copies the rest of the source into the pipe and completes it.</summary>
    public async Task CompleteAsync(CancellationToken ct)
    {
        var buf = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            while (await ReadAsync(buf.AsMemory(), ct).ConfigureAwait(false) > 0)
            {
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buf);
        }
        await copy.CompleteAsync().ConfigureAwait(false);
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

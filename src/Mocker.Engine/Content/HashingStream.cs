using System.Security.Cryptography;

namespace Mocker.Engine.Content;

/// <summary>
/// A pass-through stream that sha256-hashes and counts every byte read from (read mode) or written to (write mode)
/// the inner stream, so digests are computed while the data streams by, never by buffering it.
/// </summary>
internal sealed class HashingStream(Stream inner, bool leaveOpen = true) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>Bytes seen so far.</summary>
    public long BytesSeen { get; private set; }

    /// <summary>The digest of the bytes seen so far (call once, at the end).</summary>
    public Digest Digest() => Content.Digest.FromHash(_hash.GetHashAndReset());

    /// <summary>Reads and hashes the rest of the inner stream (trailing tar padding counts towards the diffID).</summary>
    public async Task DrainAsync(CancellationToken ct)
    {
        var buf = System.Buffers.ArrayPool<byte>.Shared.Rent(81920);
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
    }

    public override bool CanRead => inner.CanRead;
    public override bool CanSeek => false;
    public override bool CanWrite => inner.CanWrite;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => BytesSeen; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Seen(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Seen(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner.Write(buffer);
        Seen(buffer);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        Seen(buffer.Span);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    private void Seen(ReadOnlySpan<byte> data)
    {
        _hash.AppendData(data);
        BytesSeen += data.Length;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            if (!leaveOpen)
            {
                inner.Dispose();
            }
        }
        base.Dispose(disposing);
    }
}

/// <summary>Compression detection by magic bytes (gzip: 1f 8b), without consuming the input.</summary>
internal static class Compression
{
    /// <summary>
    /// Peeks at the start of <paramref name="input"/> and returns (isGzip, a stream yielding the full input).
    /// </summary>
    public static async Task<(bool IsGzip, Stream Stream)> PeekAsync(Stream input, CancellationToken ct)
    {
        var head = new byte[2];
        var n = 0;
        while (n < head.Length)
        {
            var r = await input.ReadAsync(head.AsMemory(n), ct).ConfigureAwait(false);
            if (r == 0)
            {
                break;
            }
            n += r;
        }
        var isGzip = n == 2 && head[0] == 0x1f && head[1] == 0x8b;
        return (isGzip, new PrefixedStream(head.AsMemory(0, n), input));
    }

    /// <summary>The uncompressed view of a layer stream (gzip detected by magic; plain tar passes through).</summary>
    public static async Task<Stream> OpenDecompressedAsync(Stream input, CancellationToken ct)
    {
        var (isGzip, stream) = await PeekAsync(input, ct).ConfigureAwait(false);
        return isGzip ? new System.IO.Compression.GZipStream(stream, System.IO.Compression.CompressionMode.Decompress) : stream;
    }

    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream inner) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_prefix.IsEmpty)
            {
                return inner.Read(buffer);
            }
            var n = Math.Min(buffer.Length, _prefix.Length);
            _prefix.Span[..n].CopyTo(buffer);
            _prefix = _prefix[n..];
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _prefix.IsEmpty ? inner.ReadAsync(buffer, cancellationToken) : ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

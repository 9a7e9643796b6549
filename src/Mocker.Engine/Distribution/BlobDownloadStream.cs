using System.Net;
using Microsoft.Extensions.Logging;
using Mocker.Engine.Errors;
using Mocker.Engine.Images;

namespace Mocker.Engine.Distribution;

/// <summary>
/// A read-only stream over a registry blob that survives broken transfers: when the body fails or ends early it
/// re-requests the rest with "Range: bytes=N-" (up to <see cref="MaxResumes"/> times; a server answering 200 instead of
/// 206 is read from the start and the already-seen prefix skipped). It refuses more bytes than the descriptor's size and
/// fails on fewer; the digest is verified by the content store this stream feeds. A body stalled for
/// <see cref="IdleTimeout"/> counts as broken.
/// </summary>
internal sealed class BlobDownloadStream(RegistryClient client, string repo, Descriptor descriptor, Action<long> progress, ILogger logger) : Stream
{
    public const int MaxResumes = 3;

    /// <summary>A transfer that delivers no byte for this long counts as broken and is resumed.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(60);
    private HttpResponseMessage? _response;
    private Stream? _body;
    private long _position;
    private int _resumes;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        while (true)
        {
            if (_position == descriptor.Size)
            {
                // Anything beyond the declared size is a lie of the server: probe one byte.
                if (_body is not null && await ReadBodyAsync(new byte[1], ct).ConfigureAwait(false) > 0)
                {
                    throw MockerException.InvalidArgument($"blob {descriptor.Digest} is larger than its declared size {descriptor.Size}");
                }
                return 0;
            }
            try
            {
                _body ??= await OpenAsync(ct).ConfigureAwait(false);
                var want = (int)Math.Min(buffer.Length, descriptor.Size - _position);
                int n;
                using (var idle = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    idle.CancelAfter(IdleTimeout);
                    try
                    {
                        n = await _body.ReadAsync(buffer[..want], idle.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        throw new IOException($"no data received for {IdleTimeout.TotalSeconds} s");
                    }
                }
                if (n == 0)
                {
                    throw new IOException($"unexpected EOF after {_position} of {descriptor.Size} bytes");
                }
                _position += n;
                progress(_position);
                return n;
            }
            catch (Exception e) when (e is IOException or HttpRequestException or MockerException { Kind: ErrorKind.Internal })
            {
                if (ct.IsCancellationRequested || _resumes >= MaxResumes)
                {
                    throw new MockerException(ErrorKind.Internal, $"failed to download {descriptor.Digest}: {e.Message}", e);
                }
                _resumes++;
                if (logger.IsEnabled(LogLevel.Warning))
                {
                    logger.LogWarning("download of {Digest} broke at byte {Position}: {Error}; resuming ({Attempt}/{Max})", descriptor.Digest, _position, e.Message, _resumes, MaxResumes);
                }
                CloseBody();
            }
        }
    }

    private async Task<int> ReadBodyAsync(Memory<byte> buffer, CancellationToken ct)
    {
        try
        {
            return await _body!.ReadAsync(buffer, ct).ConfigureAwait(false);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private async Task<Stream> OpenAsync(CancellationToken ct)
    {
        _response = await client.GetBlobAsync(repo, descriptor.Digest, _position, ct).ConfigureAwait(false);
        var body = await _response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        if (_position > 0 && _response.StatusCode != HttpStatusCode.PartialContent)
        {
            var skip = new byte[81920];
            var left = _position;
            while (left > 0)
            {
                var n = await body.ReadAsync(skip.AsMemory(0, (int)Math.Min(skip.Length, left)), ct).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new IOException("unexpected EOF while skipping to the resume point");
                }
                left -= n;
            }
        }
        return body;
    }

    private void CloseBody()
    {
        _body?.Dispose();
        _response?.Dispose();
        _body = null;
        _response = null;
    }

    protected override void Dispose(bool disposing)
    {
        CloseBody();
        base.Dispose(disposing);
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => descriptor.Size;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

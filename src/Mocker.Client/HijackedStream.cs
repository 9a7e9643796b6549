using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Mocker.Client;

/// <summary>
/// A connection taken over after <c>101 UPGRADED</c> (or a <c>200</c> raw stream) on attach and exec start
/// (engine-api-trace.md §5.4): writes go to the process's stdin unframed, reads return its output (stdcopy frames
/// unless the process has a TTY). Call <see cref="CloseWriteAsync"/> at stdin EOF to half-close: the daemon keeps
/// sending output until the process exits.
/// </summary>
public sealed class HijackedStream : Stream
{
    private readonly Socket _socket;
    private readonly Stream _inner;
    private byte[] _leftover;
    private int _leftoverPos;

    private HijackedStream(Socket socket, Stream inner, byte[] leftover)
    {
        _socket = socket;
        _inner = inner;
        _leftover = leftover;
    }

    /// <summary>
    /// Opens a connection, sends <paramref name="method"/> <paramref name="pathAndQuery"/> with <c>Connection: Upgrade</c>,
    /// <c>Upgrade: tcp</c> and the body, and reads the response head.
    /// </summary>
    /// <exception cref="MockerApiException">The daemon answered with an error status.</exception>
    /// <exception cref="MockerConnectionException">The daemon is unreachable.</exception>
    internal static async Task<HijackedStream> OpenAsync(MockerEndpoint endpoint, string method, string pathAndQuery,
        string contentType, byte[] body, CancellationToken ct)
    {
        var (socket, stream) = await endpoint.ConnectStreamAsync(ct).ConfigureAwait(false);
        try
        {
            var head = new StringBuilder()
                .Append(method).Append(' ').Append(pathAndQuery).Append(" HTTP/1.1\r\n")
                .Append("Host: ").Append(endpoint.HostHeader).Append("\r\n")
                .Append("User-Agent: ").Append(MockerClient.UserAgent).Append("\r\n")
                .Append("Content-Type: ").Append(contentType).Append("\r\n")
                .Append("Connection: Upgrade\r\n")
                .Append("Upgrade: tcp\r\n")
                .Append("Content-Length: ").Append(body.Length).Append("\r\n\r\n")
                .ToString();
            var headBytes = Encoding.ASCII.GetBytes(head);
            var request = new byte[headBytes.Length + body.Length];
            headBytes.CopyTo(request, 0);
            body.CopyTo(request, headBytes.Length);
            await stream.WriteAsync(request, ct).ConfigureAwait(false);
            await stream.FlushAsync(ct).ConfigureAwait(false);

            var (status, headers, leftover) = await ReadHeadAsync(stream, ct).ConfigureAwait(false);
            if (status is 101 or 200)
                return new HijackedStream(socket, stream, leftover);

            var errorBody = await ReadErrorBodyAsync(stream, headers, leftover, ct).ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
            throw MockerApiException.Create((HttpStatusCode)status, MockerClient.ParseErrorMessage(errorBody, (HttpStatusCode)status));
        }
        catch (Exception e) when (e is not MockerApiException)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            if (e is IOException or SocketException) throw new MockerConnectionException(endpoint.Original, e);
            throw;
        }
    }

    /// <summary>
    /// Half-closes the connection (TLS close_notify first when TLS is used): the daemon sees stdin EOF and keeps streaming output.
    /// </summary>
    public async Task CloseWriteAsync()
    {
        if (_inner is SslStream ssl) await ssl.ShutdownAsync().ConfigureAwait(false);
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // The peer already closed: nothing left to signal.
        }
        catch (ObjectDisposedException)
        {
            // Closed concurrently by the reader: same as above.
        }
    }

    /// <summary>Copies <paramref name="stdin"/> into the connection until its EOF, then half-closes.</summary>
    public async Task CopyStdinAsync(Stream stdin, CancellationToken ct = default)
    {
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await stdin.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            await _inner.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
            await _inner.FlushAsync(ct).ConfigureAwait(false);
        }
        await CloseWriteAsync().ConfigureAwait(false);
    }

    /// <summary>Copies the output to <paramref name="stdout"/>/<paramref name="stderr"/> (demultiplexed unless <paramref name="tty"/>) until the daemon closes.</summary>
    public Task CopyOutputAsync(Stream stdout, Stream stderr, bool tty, CancellationToken ct = default) =>
        StdCopy.CopyAsync(this, stdout, stderr, tty, ct);

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => _inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (TakeLeftover(buffer.AsSpan(offset, count)) is var n and > 0) return n;
        return _inner.Read(buffer, offset, count);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (TakeLeftover(buffer.Span) is var n and > 0) return n;
        try
        {
            return await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException) when (!_socket.Connected)
        {
            return 0;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inner.WriteAsync(buffer, offset, count, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private int TakeLeftover(Span<byte> destination)
    {
        var available = _leftover.Length - _leftoverPos;
        if (available <= 0) return 0;
        var n = Math.Min(available, destination.Length);
        _leftover.AsSpan(_leftoverPos, n).CopyTo(destination);
        _leftoverPos += n;
        if (_leftoverPos == _leftover.Length) _leftover = [];
        return n;
    }

    /// <summary>Reads the status line and headers; returns the bytes that followed the blank line.</summary>
    private static async Task<(int Status, Dictionary<string, string> Headers, byte[] Leftover)> ReadHeadAsync(Stream stream, CancellationToken ct)
    {
        var buffer = new byte[4096];
        var length = 0;
        while (true)
        {
            var end = FindHeadEnd(buffer.AsSpan(0, length), out var terminatorLength);
            if (end >= 0)
            {
                var text = Encoding.ASCII.GetString(buffer, 0, end);
                var lines = text.Split('\n');
                var statusLine = lines[0].TrimEnd('\r').Split(' ', 3);
                if (statusLine.Length < 2 || !statusLine[0].StartsWith("HTTP/", StringComparison.Ordinal) || !int.TryParse(statusLine[1], out var status))
                    throw new InvalidDataException($"malformed HTTP status line: {lines[0]}");
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (var raw in lines.Skip(1))
                {
                    var line = raw.TrimEnd('\r');
                    var colon = line.IndexOf(':', StringComparison.Ordinal);
                    if (colon > 0) headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
                }
                var bodyStart = end + terminatorLength;
                return (status, headers, buffer.AsSpan(bodyStart, length - bodyStart).ToArray());
            }
            if (length == buffer.Length)
            {
                if (buffer.Length >= 64 * 1024) throw new InvalidDataException("HTTP response head too large");
                Array.Resize(ref buffer, buffer.Length * 2);
            }
            var n = await stream.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
            if (n == 0) throw new IOException("the daemon closed the connection before answering");
            length += n;
        }
    }

    private static int FindHeadEnd(ReadOnlySpan<byte> data, out int terminatorLength)
    {
        for (var i = 0; i < data.Length; i++)
        {
            if (data[i] != '\n') continue;
            if (i + 1 < data.Length && data[i + 1] == '\n') { terminatorLength = 2; return i; }
            if (i + 2 < data.Length && data[i + 1] == '\r' && data[i + 2] == '\n') { terminatorLength = 3; return i; }
        }
        terminatorLength = 0;
        return -1;
    }

    private static async Task<string> ReadErrorBodyAsync(Stream stream, Dictionary<string, string> headers, byte[] leftover, CancellationToken ct)
    {
        using var all = new MemoryStream();
        all.Write(leftover);
        if (headers.TryGetValue("Content-Length", out var cl) && long.TryParse(cl, out var length))
        {
            var buffer = new byte[4096];
            while (all.Length < length)
            {
                var n = await stream.ReadAsync(buffer, ct).ConfigureAwait(false);
                if (n == 0) break;
                all.Write(buffer, 0, n);
            }
            return Encoding.UTF8.GetString(all.GetBuffer(), 0, (int)Math.Min(all.Length, length));
        }
        if (headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            var buffer = new byte[4096];
            while (!EndsWith(all, "0\r\n\r\n"u8))
            {
                var n = await stream.ReadAsync(buffer, ct).ConfigureAwait(false);
                if (n == 0) break;
                all.Write(buffer, 0, n);
            }
            return DecodeChunked(all.ToArray());
        }
        await stream.CopyToAsync(all, ct).ConfigureAwait(false);
        return Encoding.UTF8.GetString(all.ToArray());
    }

    private static bool EndsWith(MemoryStream ms, ReadOnlySpan<byte> suffix) =>
        ms.Length >= suffix.Length && ms.GetBuffer().AsSpan((int)ms.Length - suffix.Length, suffix.Length).SequenceEqual(suffix);

    private static string DecodeChunked(byte[] data)
    {
        var result = new MemoryStream();
        var pos = 0;
        while (pos < data.Length)
        {
            var lineEnd = Array.IndexOf(data, (byte)'\n', pos);
            if (lineEnd < 0) break;
            var sizeText = Encoding.ASCII.GetString(data, pos, lineEnd - pos).Trim().Split(';')[0];
            if (!int.TryParse(sizeText, System.Globalization.NumberStyles.HexNumber, null, out var size) || size == 0) break;
            pos = lineEnd + 1;
            size = Math.Min(size, data.Length - pos);
            result.Write(data, pos, size);
            pos += size + 2;
        }
        return Encoding.UTF8.GetString(result.ToArray());
    }
}

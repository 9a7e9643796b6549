using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mocker.Client;

/// <summary>
/// A request body: fixed bytes sent with <c>Content-Length</c>, or a writer streamed with chunked transfer encoding
/// (build contexts and import tars are produced while they are sent, never held in memory).
/// </summary>
internal sealed class RequestBody
{
    private RequestBody(string contentType, byte[]? bytes, Func<Stream, CancellationToken, Task>? writer)
    {
        ContentType = contentType;
        Bytes = bytes;
        Writer = writer;
    }

    public string ContentType { get; }
    public byte[]? Bytes { get; }
    public Func<Stream, CancellationToken, Task>? Writer { get; }
    public List<KeyValuePair<string, string>> Headers { get; } = [];

    public static RequestBody FromBytes(byte[] bytes, string contentType) => new(contentType, bytes, null);

    public static RequestBody Streamed(Func<Stream, CancellationToken, Task> writer, string contentType) => new(contentType, null, writer);
}

/// <summary>A response: status, headers (case-insensitive) and the body stream, which must be disposed.</summary>
internal sealed class HttpResponse : IDisposable
{
    public required int Status { get; init; }
    public required Dictionary<string, string> Headers { get; init; }
    public required Stream Body { get; init; }

    public HttpStatusCode StatusCode => (HttpStatusCode)Status;
    public bool IsSuccess => Status is >= 200 and < 300;

    public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;

    public async Task<string> ReadBodyAsStringAsync(CancellationToken ct)
    {
        using var reader = new StreamReader(Body, Encoding.UTF8);
        return await reader.ReadToEndAsync(ct).ConfigureAwait(false);
    }

    public void Dispose() => Body.Dispose();
}

/// <summary>
/// A small HTTP/1.1 client over the daemon socket. HttpClient's start-up cost dominated the CLI's run time, and the
/// Engine API needs only what is here: keep-alive connection reuse for sequential requests, Content-Length and chunked
/// bodies both ways, and bodies that end with the connection (RFC 9112 §6.3).
/// </summary>
internal sealed class HttpTransport(MockerEndpoint endpoint, string userAgent) : IDisposable
{
    private readonly Stack<HttpConnection> _idle = new();
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <summary>Sends one request and returns once the response head arrived; the body is read from the response.</summary>
    /// <exception cref="MockerConnectionException">The daemon cannot be reached.</exception>
    /// <exception cref="IOException">The connection broke mid-request.</exception>
    public async Task<HttpResponse> SendAsync(string method, string pathAndQuery, RequestBody? body, CancellationToken ct)
    {
        while (true)
        {
            var (connection, reused) = await RentAsync(ct).ConfigureAwait(false);
            try
            {
                return await SendOnAsync(connection, method, pathAndQuery, body, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (reused && e is IOException or SocketException && body?.Writer is null && !connection.ReceivedAny)
            {
                // The daemon closed an idle keep-alive connection before it saw this request: resend on a fresh one.
                connection.Dispose();
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }
    }

    private async Task<(HttpConnection, bool Reused)> RentAsync(CancellationToken ct)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_idle.TryPop(out var idle)) return (idle, true);
        }
        var (socket, stream) = await endpoint.ConnectStreamAsync(ct).ConfigureAwait(false);
        return (new HttpConnection(socket, stream), false);
    }

    private void Return(HttpConnection connection)
    {
        lock (_lock)
        {
            if (!_disposed)
            {
                connection.ReceivedAny = false;
                _idle.Push(connection);
                return;
            }
        }
        connection.Dispose();
    }

    private async Task<HttpResponse> SendOnAsync(HttpConnection c, string method, string pathAndQuery, RequestBody? body, CancellationToken ct)
    {
        var head = new StringBuilder()
            .Append(method).Append(' ').Append(pathAndQuery).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(endpoint.HostHeader).Append("\r\n")
            .Append("User-Agent: ").Append(userAgent).Append("\r\n");
        if (body is not null)
        {
            head.Append("Content-Type: ").Append(body.ContentType).Append("\r\n");
            foreach (var (k, v) in body.Headers) head.Append(k).Append(": ").Append(v).Append("\r\n");
            if (body.Bytes is not null) head.Append("Content-Length: ").Append(body.Bytes.Length).Append("\r\n");
            else head.Append("Transfer-Encoding: chunked\r\n");
        }
        else if (method is "POST" or "PUT")
        {
            head.Append("Content-Length: 0\r\n");
        }
        head.Append("\r\n");
        var headBytes = Encoding.UTF8.GetBytes(head.ToString());
        if (body?.Bytes is { } bytes)
        {
            var all = new byte[headBytes.Length + bytes.Length];
            headBytes.CopyTo(all, 0);
            bytes.CopyTo(all, headBytes.Length);
            await c.Stream.WriteAsync(all, ct).ConfigureAwait(false);
        }
        else
        {
            await c.Stream.WriteAsync(headBytes, ct).ConfigureAwait(false);
            if (body?.Writer is { } writer)
            {
                var chunked = new ChunkedWriteStream(c.Stream);
                await using (var buffered = new BufferedStream(chunked, 64 * 1024))
                {
                    await writer(buffered, ct).ConfigureAwait(false);
                    await buffered.FlushAsync(ct).ConfigureAwait(false);
                }
                await c.Stream.WriteAsync("0\r\n\r\n"u8.ToArray(), ct).ConfigureAwait(false);
            }
        }
        await c.Stream.FlushAsync(ct).ConfigureAwait(false);

        var (status, headers) = await c.ReadHeadAsync(ct).ConfigureAwait(false);
        // 1xx other than 101 carry no body and precede the real response (e.g. "100 Continue").
        while (status is >= 100 and < 200 and not 101) (status, headers) = await c.ReadHeadAsync(ct).ConfigureAwait(false);

        var keepAlive = !(headers.TryGetValue("Connection", out var conn) && conn.Contains("close", StringComparison.OrdinalIgnoreCase));
        BodyStream bodyStream;
        if (method == "HEAD" || status is 204 or 304)
            bodyStream = new BodyStream(c, BodyMode.Length, 0, keepAlive ? Return : null);
        else if (headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            bodyStream = new BodyStream(c, BodyMode.Chunked, 0, keepAlive ? Return : null);
        else if (headers.TryGetValue("Content-Length", out var cl) && long.TryParse(cl, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            bodyStream = new BodyStream(c, BodyMode.Length, length, keepAlive ? Return : null);
        else
            bodyStream = new BodyStream(c, BodyMode.UntilClose, 0, null);
        return new HttpResponse { Status = status, Headers = headers, Body = bodyStream };
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            while (_idle.TryPop(out var c)) c.Dispose();
        }
    }
}

/// <summary>One connection with a read buffer shared by the response head parser and the body reader.</summary>
internal sealed class HttpConnection(Socket socket, Stream stream) : IDisposable
{
    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    public Socket Socket { get; } = socket;
    public Stream Stream { get; } = stream;
    /// <summary>True once any response byte arrived on this use of the connection.</summary>
    public bool ReceivedAny { get; set; }

    /// <summary>Reads the status line and headers (CRLF or bare LF line ends).</summary>
    public async Task<(int Status, Dictionary<string, string> Headers)> ReadHeadAsync(CancellationToken ct)
    {
        var statusLine = await ReadLineAsync(ct).ConfigureAwait(false)
            ?? throw new IOException("the daemon closed the connection before answering");
        var parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/", StringComparison.Ordinal) || !int.TryParse(parts[1], out var status))
            throw new InvalidDataException($"malformed HTTP status line: {statusLine}");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (true)
        {
            var line = await ReadLineAsync(ct).ConfigureAwait(false) ?? throw new IOException("the daemon closed the connection inside the response head");
            if (line.Length == 0) break;
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0) headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        return (status, headers);
    }

    /// <summary>Reads one line without its terminator; null at EOF before any byte.</summary>
    public async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        var sb = new StringBuilder();
        while (true)
        {
            if (_start == _end && !await FillAsync(ct).ConfigureAwait(false))
                return sb.Length == 0 ? null : sb.ToString();
            var span = _buffer.AsSpan(_start, _end - _start);
            var nl = span.IndexOf((byte)'\n');
            if (nl < 0)
            {
                sb.Append(Encoding.UTF8.GetString(span));
                _start = _end;
                continue;
            }
            sb.Append(Encoding.UTF8.GetString(span[..nl]));
            _start += nl + 1;
            if (sb.Length > 0 && sb[^1] == '\r') sb.Length--;
            return sb.ToString();
        }
    }

    /// <summary>Reads up to <paramref name="destination"/>.Length buffered or fresh bytes; 0 at EOF.</summary>
    public async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken ct)
    {
        if (_start == _end)
        {
            if (destination.Length >= _buffer.Length)
            {
                var direct = await Stream.ReadAsync(destination, ct).ConfigureAwait(false);
                if (direct > 0) ReceivedAny = true;
                return direct;
            }
            if (!await FillAsync(ct).ConfigureAwait(false)) return 0;
        }
        var n = Math.Min(destination.Length, _end - _start);
        _buffer.AsMemory(_start, n).CopyTo(destination);
        _start += n;
        return n;
    }

    private async ValueTask<bool> FillAsync(CancellationToken ct)
    {
        _start = 0;
        _end = await Stream.ReadAsync(_buffer, ct).ConfigureAwait(false);
        if (_end > 0) ReceivedAny = true;
        return _end > 0;
    }

    public void Dispose() => Stream.Dispose();
}

internal enum BodyMode
{
    Length,
    Chunked,
    UntilClose,
}

/// <summary>A response body; hands the connection back for reuse once fully read, closes it when abandoned early.</summary>
internal sealed class BodyStream(HttpConnection connection, BodyMode mode, long length, Action<HttpConnection>? onComplete) : Stream
{
    private long _remaining = mode == BodyMode.Length ? length : 0;
    private bool _done = mode == BodyMode.Length && length == 0;
    private bool _released;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_done)
        {
            Finish();
            return 0;
        }
        if (buffer.Length == 0) return 0;
        switch (mode)
        {
            case BodyMode.Length:
                {
                    var n = await connection.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken).ConfigureAwait(false);
                    if (n == 0) throw new IOException("the daemon closed the connection inside a response body");
                    _remaining -= n;
                    if (_remaining == 0) Finish();
                    return n;
                }
            case BodyMode.Chunked:
                {
                    if (_remaining == 0)
                    {
                        var sizeLine = await connection.ReadLineAsync(cancellationToken).ConfigureAwait(false)
                            ?? throw new IOException("the daemon closed the connection inside a chunked body");
                        if (sizeLine.Length == 0)
                            sizeLine = await connection.ReadLineAsync(cancellationToken).ConfigureAwait(false) ?? throw new IOException("truncated chunked body");
                        var size = long.Parse(sizeLine.Split(';')[0].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                        if (size == 0)
                        {
                            // Trailers end with an empty line.
                            while (!string.IsNullOrEmpty(await connection.ReadLineAsync(cancellationToken).ConfigureAwait(false))) { }
                            Finish();
                            return 0;
                        }
                        _remaining = size;
                    }
                    var n = await connection.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken).ConfigureAwait(false);
                    if (n == 0) throw new IOException("the daemon closed the connection inside a chunk");
                    _remaining -= n;
                    return n;
                }
            default:
                {
                    var n = await connection.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                    if (n == 0) Finish();
                    return n;
                }
        }
    }

    private void Finish()
    {
        _done = true;
        if (_released) return;
        _released = true;
        if (onComplete is not null && mode != BodyMode.UntilClose) onComplete(connection);
        else connection.Dispose();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_released)
        {
            _released = true;
            connection.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>Writes each buffer as one HTTP/1.1 chunk (the terminating zero chunk is written by the transport).</summary>
internal sealed class ChunkedWriteStream(Stream inner) : Stream
{
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty) return;
        var prefix = Encoding.ASCII.GetBytes(buffer.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n");
        await inner.WriteAsync(prefix, cancellationToken).ConfigureAwait(false);
        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        await inner.WriteAsync("\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
    }
}

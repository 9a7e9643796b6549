using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Mocker.Api;
using Mocker.Daemon.Api;
using Mocker.Engine.Containers;
using Mocker.Engine.Errors;

namespace Mocker.Daemon.Http;

/// <summary>What a hijacking endpoint was asked: <c>POST /containers/{id}/attach</c> or <c>POST /exec/{id}/start</c>.</summary>
/// <param name="IsExec">True for exec start, false for container attach.</param>
/// <param name="Id">Container or exec ID/name, percent-decoded.</param>
/// <param name="Query">The query string including '?', or "".</param>
/// <param name="Body">The decoded request body (exec start: <see cref="ExecStartConfig"/> JSON; attach: ignored).</param>
/// <param name="Upgrade">True when the client sent an <c>Upgrade</c> header: answer 101, else a raw 200 stream.</param>
internal sealed record HijackRequest(bool IsExec, string Id, string Query, byte[] Body, bool Upgrade);

/// <summary>Opens the stdio session a hijacked connection streams. Throws <see cref="MockerException"/> before anything is written.</summary>
internal interface IHijackTarget
{
    Task<IStdioSession> OpenAsync(HijackRequest request, CancellationToken ct);
}

/// <summary>
/// Kestrel connection middleware in front of the HTTP/1.1 handler (engine-api-trace.md §5.4, §5.9, §6 items 3–5).
/// It reads every request head itself, forwards ordinary requests byte for byte (head plus a Content-Length or chunked
/// body) into an in-memory pipe that Kestrel reads, and copies Kestrel's output to the connection. Attach and
/// non-detached exec start are answered here on the raw connection, because Kestrel can neither upgrade a request that
/// has a body nor send an unchunked, unsized 200: after Kestrel has finished the earlier requests of the connection,
/// the middleware writes <c>101 UPGRADED</c> (with <c>Upgrade</c>) or <c>200 OK</c> raw-stream (without), pumps the
/// client's bytes to stdin (half-close → close stdin) and the session's output back (stdcopy frames unless TTY), and
/// closes the connection when the output ends.
/// </summary>
internal sealed class DockerConnectionMiddleware(ConnectionDelegate next, IHijackTarget target, ILogger logger)
{
    private const int MaxHijackBody = 1024 * 1024;

    private static readonly byte[] Upgraded =
        "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"u8.ToArray();

    private static readonly byte[] RawStreamOk = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"u8.ToArray();

    private static readonly byte[] BadRequest = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray();

    private static readonly PipeOptions InnerPipeOptions = new(
        pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false);

    /// <summary>The connection delegate to pass to <c>ListenOptions.Use</c>.</summary>
    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        var transport = connection.Transport;
        var toKestrel = new Pipe(InnerPipeOptions);
        var fromKestrel = new Pipe(InnerPipeOptions);
        connection.Transport = new DuplexPipe(toKestrel.Reader, fromKestrel.Writer);

        var kestrel = RunKestrelAsync(connection, transport.Input);
        var output = CopyOutputAsync(fromKestrel.Reader, transport.Output);
        Outcome outcome;
        try
        {
            outcome = await ForwardRequestsAsync(transport.Input, toKestrel.Writer).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ConnectionResetException or ObjectDisposedException or InvalidOperationException)
        {
            outcome = Outcome.Closed;
        }
        await toKestrel.Writer.CompleteAsync().ConfigureAwait(false);
        await kestrel.ConfigureAwait(false);
        // Kestrel's HTTP layer leaves completing the transport's output to the transport: do it so the copy drains and ends.
        await fromKestrel.Writer.CompleteAsync().ConfigureAwait(false);
        await output.ConfigureAwait(false);
        connection.Transport = transport;

        try
        {
            if (outcome.Hijack is { } hijack)
            {
                await HijackAsync(hijack, transport).ConfigureAwait(false);
            }
            else if (outcome.Malformed)
            {
                await transport.Output.WriteAsync(BadRequest).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or ConnectionResetException or ObjectDisposedException or OperationCanceledException)
        {
            Log.HijackEnded(logger, connection.ConnectionId, ex.Message);
        }
    }

    private async Task RunKestrelAsync(ConnectionContext connection, PipeReader clientInput)
    {
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            // Kestrel closed the connection (Connection: close, error, shutdown): stop waiting for the client's next request.
            clientInput.CancelPendingRead();
        }
    }

    private static async Task CopyOutputAsync(PipeReader from, PipeWriter to)
    {
        try
        {
            while (true)
            {
                var result = await from.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    to.Write(segment.Span);
                }
                from.AdvanceTo(buffer.End);
                if (!buffer.IsEmpty)
                {
                    var flush = await to.FlushAsync().ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        break;
                    }
                }
                if (result.IsCompleted)
                {
                    break;
                }
            }
            await from.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The client went away: failing Kestrel's writes makes it abort the request in progress.
            await from.CompleteAsync(ex).ConfigureAwait(false);
        }
    }

    private readonly record struct Outcome(HijackRequest? Hijack, bool Malformed)
    {
        public static Outcome Closed => default;
    }

    private static async Task<Outcome> ForwardRequestsAsync(PipeReader input, PipeWriter kestrel)
    {
        while (true)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                input.AdvanceTo(buffer.Start);
                return Outcome.Closed;
            }
            var headLength = RequestHead.FindEnd(buffer);
            if (headLength < 0)
            {
                if (buffer.Length > RequestHead.MaxHeadBytes)
                {
                    input.AdvanceTo(buffer.End);
                    return new Outcome(null, Malformed: true);
                }
                input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    return Outcome.Closed;
                }
                continue;
            }
            var headBytes = buffer.Slice(0, headLength);
            RequestHead head;
            try
            {
                head = RequestHead.Parse(headBytes.IsSingleSegment ? headBytes.FirstSpan : headBytes.ToArray());
                _ = head.ContentLength;
            }
            catch (FormatException)
            {
                input.AdvanceTo(buffer.End);
                return new Outcome(null, Malformed: true);
            }

            if (HijackRoute.Match(head) is { } route)
            {
                // Copied: the reader's buffer is released by AdvanceTo, and a detached exec start replays the head.
                var headCopy = headBytes.ToArray();
                input.AdvanceTo(headBytes.End);
                var body = await ReadBodyAsync(input, head).ConfigureAwait(false);
                if (body is null)
                {
                    return new Outcome(null, Malformed: true);
                }
                if (!route.IsExec || !IsDetached(body))
                {
                    return new Outcome(route with { Body = body, Upgrade = head.Has("Upgrade") }, false);
                }
                // Detached exec start is a plain request answered by Kestrel ("200, Content-Length: 0"): replay it.
                kestrel.Write(headCopy);
                if (head.IsChunked)
                {
                    WriteReChunked(kestrel, body);
                }
                else
                {
                    kestrel.Write(body);
                }
                if ((await kestrel.FlushAsync().ConfigureAwait(false)).IsCompleted)
                {
                    return Outcome.Closed;
                }
                continue;
            }

            foreach (var segment in headBytes)
            {
                kestrel.Write(segment.Span);
            }
            input.AdvanceTo(headBytes.End);
            var forwarded = head.IsChunked
                ? await ForwardChunkedAsync(input, kestrel).ConfigureAwait(false)
                : await ForwardFixedAsync(input, kestrel, head.ContentLength).ConfigureAwait(false);
            if (!forwarded)
            {
                return Outcome.Closed;
            }
            if ((await kestrel.FlushAsync().ConfigureAwait(false)).IsCompleted)
            {
                return Outcome.Closed;
            }
        }
    }

    private static void WriteReChunked(PipeWriter writer, byte[] body)
    {
        if (body.Length > 0)
        {
            writer.Write(Encoding.ASCII.GetBytes($"{body.Length:x}\r\n"));
            writer.Write(body);
            writer.Write("\r\n"u8);
        }
        writer.Write("0\r\n\r\n"u8);
    }

    private static async Task<bool> ForwardFixedAsync(PipeReader input, PipeWriter kestrel, long remaining)
    {
        while (remaining > 0)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                input.AdvanceTo(buffer.Start);
                return false;
            }
            var take = buffer.Slice(0, Math.Min(remaining, buffer.Length));
            foreach (var segment in take)
            {
                kestrel.Write(segment.Span);
            }
            remaining -= take.Length;
            input.AdvanceTo(take.End);
            if ((await kestrel.FlushAsync().ConfigureAwait(false)).IsCompleted)
            {
                return false;
            }
            if (remaining > 0 && result.IsCompleted)
            {
                return false;
            }
        }
        return true;
    }

    private static async Task<bool> ForwardChunkedAsync(PipeReader input, PipeWriter kestrel)
    {
        var decoder = new ChunkedDecoder();
        while (!decoder.IsDone)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                input.AdvanceTo(buffer.Start);
                return false;
            }
            long consumed = 0;
            foreach (var segment in buffer)
            {
                var n = decoder.Decode(segment.Span, null);
                kestrel.Write(segment.Span[..n]);
                consumed += n;
                if (decoder.IsDone)
                {
                    break;
                }
            }
            input.AdvanceTo(buffer.GetPosition(consumed));
            if ((await kestrel.FlushAsync().ConfigureAwait(false)).IsCompleted)
            {
                return false;
            }
            if (!decoder.IsDone && result.IsCompleted)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Reads a whole (small) request body; null when it is malformed, too large or cut short.</summary>
    private static async Task<byte[]?> ReadBodyAsync(PipeReader input, RequestHead head)
    {
        var body = new ArrayBufferWriter<byte>(256);
        var decoder = head.IsChunked ? new ChunkedDecoder() : null;
        var remaining = decoder is null ? head.ContentLength : long.MaxValue;
        if (remaining > MaxHijackBody)
        {
            return null;
        }
        while (decoder is null ? remaining > 0 : !decoder.IsDone)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                input.AdvanceTo(buffer.Start);
                return null;
            }
            long consumed = 0;
            foreach (var segment in buffer)
            {
                int n;
                if (decoder is null)
                {
                    n = (int)Math.Min(remaining, segment.Length);
                    body.Write(segment.Span[..n]);
                    remaining -= n;
                }
                else
                {
                    try
                    {
                        n = decoder.Decode(segment.Span, body);
                    }
                    catch (FormatException)
                    {
                        return null;
                    }
                }
                consumed += n;
                if (decoder is null ? remaining == 0 : decoder.IsDone)
                {
                    break;
                }
            }
            input.AdvanceTo(buffer.GetPosition(consumed));
            if (body.WrittenCount > MaxHijackBody)
            {
                return null;
            }
            if ((decoder is null ? remaining > 0 : !decoder.IsDone) && result.IsCompleted)
            {
                return null;
            }
        }
        return body.WrittenSpan.ToArray();
    }

    private static bool IsDetached(byte[] body)
    {
        if (body.Length == 0)
        {
            return false;
        }
        try
        {
            return JsonSerializer.Deserialize(body, ApiJsonContext.Default.ExecStartConfig)?.Detach == true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    // Not bound to ConnectionContext.ConnectionClosed: Kestrel signals it when its HTTP processing of the connection ends,
    // which is exactly when the hijack begins. A vanished client shows up as a failed write or read instead.
    private async Task HijackAsync(HijackRequest request, IDuplexPipe transport)
    {
        IStdioSession session;
        try
        {
            session = await target.OpenAsync(request, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var (status, message) = ErrorMapping.Map(ex);
            if (status >= 500)
            {
                Log.HijackFailed(logger, ex, request.IsExec ? "exec start" : "attach", request.Id);
            }
            await transport.Output.WriteAsync(ErrorMapping.RawResponse(status, message)).ConfigureAwait(false);
            return;
        }

        await using (session.ConfigureAwait(false))
        {
            await transport.Output.WriteAsync(request.Upgrade ? Upgraded : RawStreamOk).ConfigureAwait(false);
            using var stop = new CancellationTokenSource();
            var stdin = PumpStdinAsync(transport.Input, session, stop.Token);
            try
            {
                await PumpOutputAsync(session, transport.Output, stop.Token).ConfigureAwait(false);
            }
            finally
            {
                await stop.CancelAsync().ConfigureAwait(false);
                transport.Input.CancelPendingRead();
                await stdin.ConfigureAwait(false);
            }
        }
    }

    private async Task PumpStdinAsync(PipeReader input, IStdioSession session, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(ct).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    input.AdvanceTo(buffer.Start);
                    if (ct.IsCancellationRequested)
                    {
                        return;
                    }
                    // A cancellation left over from the forwarding phase, not ours: keep reading.
                    continue;
                }
                foreach (var segment in buffer)
                {
                    await session.WriteStdinAsync(segment, ct).ConfigureAwait(false);
                }
                input.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    // Half-close (shutdown(SHUT_WR)) at stdin EOF: close stdin, keep streaming output (§1.4).
                    await session.CloseStdinAsync(ct).ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ConnectionResetException or ObjectDisposedException or InvalidOperationException)
        {
            Log.StdinEnded(logger, ex.Message);
        }
    }

    private static async Task PumpOutputAsync(IStdioSession session, PipeWriter output, CancellationToken ct)
    {
        var reader = session.Output;
        var tty = session.Tty;
        while (await reader.WaitToReadAsync(ct).ConfigureAwait(false))
        {
            // Coalesce what is already available into one write, then flush once.
            while (reader.TryRead(out var chunk))
            {
                StdCopy.WriteOutput(output, tty, chunk.Stream, chunk.Data.Span);
            }
            var flush = await output.FlushAsync(ct).ConfigureAwait(false);
            if (flush.IsCompleted || flush.IsCanceled)
            {
                return;
            }
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}

/// <summary>Recognises the two hijacking routes, with or without the <c>/vX.Y</c> prefix.</summary>
internal static class HijackRoute
{
    /// <summary>A <see cref="HijackRequest"/> template (empty body) when <paramref name="head"/> is attach or exec start, else null.</summary>
    public static HijackRequest? Match(RequestHead head)
    {
        if (!string.Equals(head.Method, "POST", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var path = ApiVersionPrefix.Strip(head.Path, out _);
        var parts = path.Split('/');
        // "", "containers", id, "attach"  |  "", "exec", id, "start"
        if (parts.Length != 4 || parts[0].Length != 0 || parts[2].Length == 0)
        {
            return null;
        }
        var id = Uri.UnescapeDataString(parts[2]);
        if (parts[1] == "containers" && parts[3] == "attach")
        {
            return new HijackRequest(false, id, head.Query, [], false);
        }
        if (parts[1] == "exec" && parts[3] == "start")
        {
            return new HijackRequest(true, id, head.Query, [], false);
        }
        return null;
    }
}

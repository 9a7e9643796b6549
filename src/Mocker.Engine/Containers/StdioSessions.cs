using System.Net.Sockets;
using System.Threading.Channels;
using Mocker.Engine.Runtime;

namespace Mocker.Engine.Containers;

/// <summary>
/// A client attached to a container through conmon's attach socket. Created before or after start: stdin written
/// before <see cref="Connect"/> is buffered and flushed on connect; output packets carry conmon's stream byte
/// (2 stdout, 3 stderr). The output completes when conmon closes the socket (the container exited) and
/// <c>exitRecorded</c> (when given) has completed, or on dispose.
/// </summary>
internal sealed class AttachSession : IStdioSession
{
    private readonly Channel<OutputChunk> _output = Channel.CreateUnbounded<OutputChunk>(new UnboundedChannelOptions { SingleReader = true });
    private readonly AttachOptions _options;
    private readonly Action<AttachSession> _onDispose;
    private readonly Task? _exitRecorded;
    private readonly object _lock = new();
    private readonly List<byte[]> _stdinBuffer = [];
    private bool _stdinClosed;
    private Socket? _socket;
    private int _disposed;

    /// <param name="exitRecorded">
    /// Completes once the process's exit code is visible to inspect. Ending the output only after it lets a client that
    /// inspects right after the stream closed (<c>docker exec</c> reads the exec's ExitCode that way) see the code.
    /// </param>
    public AttachSession(bool tty, AttachOptions options, Action<AttachSession> onDispose, Task? exitRecorded = null)
    {
        Tty = tty;
        _options = options;
        _onDispose = onDispose;
        _exitRecorded = exitRecorded;
    }

    public bool Tty { get; }

    public bool WantsStdin => _options.Stdin;

    public ChannelReader<OutputChunk> Output => _output.Reader;

    /// <summary>Writes replayed log entries ahead of live output.</summary>
    public void Replay(LogEntry entry)
    {
        if ((entry.Stream == StdStream.Stdout && _options.Stdout) || (entry.Stream == StdStream.Stderr && _options.Stderr))
        {
            _output.Writer.TryWrite(new OutputChunk(Tty ? StdStream.Stdout : entry.Stream, entry.Data));
        }
    }

    /// <summary>Ends the output now (used when there is nothing to stream: not running and no stream requested).</summary>
    public void Complete() => _output.Writer.TryComplete();

    /// <summary>Binds the session to a connected attach socket, flushes buffered stdin and starts pumping output.</summary>
    public void Connect(Socket socket)
    {
        List<byte[]> buffered;
        bool closeStdin;
        lock (_lock)
        {
            _socket = socket;
            buffered = [.. _stdinBuffer];
            _stdinBuffer.Clear();
            closeStdin = _stdinClosed;
        }
        if (_options.Stdin)
        {
            foreach (var b in buffered)
            {
                socket.Send(b);
            }
            if (closeStdin)
            {
                socket.Shutdown(SocketShutdown.Send);
            }
        }
        _ = PumpAsync(socket);
    }

    private async Task PumpAsync(Socket socket)
    {
        var buf = new byte[ConmonMonitor.AttachPacketSize];
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buf, SocketFlags.None).ConfigureAwait(false);
                if (n <= 0)
                {
                    break;
                }
                if (n < 2)
                {
                    continue;
                }
                var stream = buf[0] == 3 ? StdStream.Stderr : StdStream.Stdout;
                if ((stream == StdStream.Stdout && !_options.Stdout) || (stream == StdStream.Stderr && !_options.Stderr))
                {
                    continue;
                }
                _output.Writer.TryWrite(new OutputChunk(Tty ? StdStream.Stdout : stream, buf.AsSpan(1, n - 1).ToArray()));
            }
        }
        catch (SocketException)
        {
            // conmon went away: the container is gone, which ends the session like EOF.
        }
        catch (ObjectDisposedException)
        {
            // Disposed by the client.
        }
        if (_exitRecorded is not null)
        {
            await _exitRecorded.ConfigureAwait(false);
        }
        _output.Writer.TryComplete();
    }

    public async ValueTask WriteStdinAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (!_options.Stdin || data.IsEmpty)
        {
            return;
        }
        Socket? s;
        lock (_lock)
        {
            s = _socket;
            if (s is null)
            {
                _stdinBuffer.Add(data.ToArray());
                return;
            }
        }
        try
        {
            // Each SEQPACKET message is one write into the container's stdin; keep messages below conmon's buffer.
            for (var off = 0; off < data.Length; off += 8192)
            {
                await s.SendAsync(data.Slice(off, Math.Min(8192, data.Length - off)), SocketFlags.None, ct).ConfigureAwait(false);
            }
        }
        catch (SocketException)
        {
            // The container exited; stdin has nowhere to go.
        }
    }

    public ValueTask CloseStdinAsync(CancellationToken ct)
    {
        if (!_options.Stdin)
        {
            return ValueTask.CompletedTask;
        }
        lock (_lock)
        {
            _stdinClosed = true;
            if (_socket is null)
            {
                return ValueTask.CompletedTask;
            }
        }
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // Already gone.
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _onDispose(this);
            _socket?.Dispose();
            _output.Writer.TryComplete();
        }
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// An exec process run by <c>runc exec</c> with pipes. Output chunks are tagged by stream; the output completes after
/// the process exited and both pipes are drained (the owner completes <see cref="Writer"/>).
/// </summary>
internal sealed class ExecSession(bool tty, bool stdin) : IStdioSession
{
    private readonly Channel<OutputChunk> _output = Channel.CreateUnbounded<OutputChunk>(new UnboundedChannelOptions { SingleReader = true });
    private Stream? _stdin;

    public bool Tty { get; } = tty;

    public ChannelReader<OutputChunk> Output => _output.Reader;

    public ChannelWriter<OutputChunk> Writer => _output.Writer;

    public void Bind(Stream? processStdin) => _stdin = processStdin;

    public async ValueTask WriteStdinAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (!stdin || _stdin is null)
        {
            return;
        }
        try
        {
            await _stdin.WriteAsync(data, ct).ConfigureAwait(false);
            await _stdin.FlushAsync(ct).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The process exited and closed its stdin.
        }
        catch (ObjectDisposedException)
        {
            // Stdin was closed already.
        }
    }

    public ValueTask CloseStdinAsync(CancellationToken ct)
    {
        _stdin?.Dispose();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _stdin?.Dispose();
        _output.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }
}

using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Win32.SafeHandles;
using Mocker.Engine.Errors;
using Mocker.Engine.Native;

namespace Mocker.Engine.Runtime;

/// <summary>
/// How to launch conmon for one container or exec session (conmon 2.1 options, as Podman passes them in
/// libpod/oci_conmon_linux.go). <see cref="ExecProcessSpec"/> switches conmon to <c>--exec</c> mode.
/// </summary>
public sealed record ConmonLaunch
{
    public required string ContainerId { get; init; }
    /// <summary>conmon's -u: the container ID, or the exec ID in exec mode.</summary>
    public required string Uuid { get; init; }
    public required string Name { get; init; }
    public required string Bundle { get; init; }
    public required string PidFile { get; init; }
    public required string ExitDir { get; init; }
    public required string PersistDir { get; init; }
    public required string LogPath { get; init; }
    public required string ConmonPidFile { get; init; }
    public bool Tty { get; init; }
    public bool Stdin { get; init; }
    public bool LeaveStdinOpen { get; init; }
    public string? ExecProcessSpec { get; init; }
}

/// <summary>The first message conmon writes on its sync pipe: {"data": pid} or {"data": -1, "message": "…"}.</summary>
public sealed record ConmonSync
{
    [JsonPropertyName("data")] public int Data { get; init; }
    [JsonPropertyName("message")] public string? Message { get; init; }
}

[JsonSerializable(typeof(ConmonSync))]
internal sealed partial class ConmonJsonContext : JsonSerializerContext;

/// <summary>
/// Launches conmon (one per container) so the container outlives mockerd: conmon is spawned with posix_spawn in
/// its own session, then daemonizes itself. conmon runs <c>runc create</c> and reports the container PID (or
/// runc's error) on the sync pipe (fd 3, announced in _OCI_SYNCPIPE). Output goes to a k8s-file log and to the
/// SEQPACKET attach socket &lt;bundle&gt;/attach (with --full-attach); the exit code lands in &lt;exit-dir&gt;/&lt;uuid&gt;.
/// </summary>
public sealed class ConmonMonitor
{
    /// <summary>conmon's STDIO_BUF_SIZE plus the stream byte prefixed to each attach packet.</summary>
    public const int AttachPacketSize = 8192 + 1;

    private readonly string _conmon;
    private readonly RuncRuntime _runc;

    public ConmonMonitor(string conmonPath, RuncRuntime runc)
    {
        _conmon = RuncRuntime.ResolveBinary(conmonPath);
        _runc = runc;
    }

    /// <summary>Launches conmon and waits for the sync message. Returns the container (or exec) PID, or runc's error text.</summary>
    public async Task<ConmonSync> LaunchAsync(ConmonLaunch l, CancellationToken ct)
    {
        var args = BuildArgs(l);
        return await Task.Factory.StartNew(() => LaunchAndReadSync(args), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
    }

    private List<string> BuildArgs(ConmonLaunch l)
    {
        var args = new List<string>
        {
            _conmon, "--api-version", "1", "-c", l.ContainerId, "-u", l.Uuid, "-r", _runc.Binary,
            "-b", l.Bundle, "-p", l.PidFile, "-n", l.Name, "--exit-dir", l.ExitDir, "--persist-dir", l.PersistDir,
            "--socket-dir-path", l.Bundle, "-l", "k8s-file:" + l.LogPath, "--log-level", "error",
            "--runtime-arg", "--root=" + _runc.Root, "--conmon-pidfile", l.ConmonPidFile, "--full-attach",
        };
        if (l.Tty)
        {
            args.Add("-t");
        }
        if (l.Stdin)
        {
            args.Add("-i");
        }
        if (l.LeaveStdinOpen)
        {
            args.Add("--leave-stdin-open");
        }
        if (l.ExecProcessSpec is not null)
        {
            args.Add("-e");
            args.Add("--exec-attach");
            args.Add("--exec-process-spec");
            args.Add(l.ExecProcessSpec);
        }
        return args;
    }

    /// <summary>Spawns conmon in a new session with the sync pipe on fd 3, reaps its short-lived first process and reads the sync line.</summary>
    private static unsafe ConmonSync LaunchAndReadSync(List<string> argv)
    {
        var fds = stackalloc int[2];
        if (Libc.pipe2(fds, Libc.O_CLOEXEC) != 0)
        {
            throw new MockerException(ErrorKind.Internal, $"pipe2: {Libc.LastError()}");
        }
        int pid;
        try
        {
            pid = NativeProcess.Spawn(argv, NativeProcess.CurrentEnvironment("_OCI_SYNCPIPE=3"), [(fds[1], 3)], setsid: true);
        }
        catch
        {
            Libc.close(fds[0]);
            throw;
        }
        finally
        {
            Libc.close(fds[1]);
        }
        // conmon forks and its first process exits at once; reap it so no zombie is left behind.
        NativeProcess.Reap(pid);
        string line;
        using (var stream = new FileStream(new SafeFileHandle(fds[0], ownsHandle: true), FileAccess.Read, 1, isAsync: false))
        {
            var buf = new byte[4096];
            var ms = new MemoryStream();
            int n;
            while ((n = stream.Read(buf)) > 0)
            {
                ms.Write(buf, 0, n);
                if (Array.IndexOf(buf, (byte)'\n', 0, n) >= 0)
                {
                    break;
                }
            }
            line = Encoding.UTF8.GetString(ms.ToArray()).Trim();
        }
        if (line.Length == 0)
        {
            return new ConmonSync { Data = -1, Message = "conmon exited before reporting the container pid" };
        }
        return JsonSerializer.Deserialize(line, ConmonJsonContext.Default.ConmonSync) ?? new ConmonSync { Data = -1, Message = line };
    }

    /// <summary>
    /// Launches conmon in exec-attach mode (Podman's exec protocol, libpod/oci_conmon_exec_linux.go): conmon reads the
    /// start pipe once, sets up &lt;bundle&gt;/attach and reports readiness on the attach pipe (_OCI_ATTACHPIPE), then waits for a second start
    /// byte before <c>runc exec</c>; the sync pipe then carries the PID and finally the exit code.
    /// </summary>
    public async Task<ConmonExec> LaunchExecAsync(ConmonLaunch l, CancellationToken ct)
    {
        var args = BuildArgs(l);
        return await Task.Factory.StartNew(() => LaunchExec(args), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
    }

    private static unsafe ConmonExec LaunchExec(List<string> argv)
    {
        var sync = stackalloc int[2];
        var start = stackalloc int[2];
        var attach = stackalloc int[2];
        if (Libc.pipe2(sync, Libc.O_CLOEXEC) != 0 || Libc.pipe2(start, Libc.O_CLOEXEC) != 0 || Libc.pipe2(attach, Libc.O_CLOEXEC) != 0)
        {
            throw new MockerException(ErrorKind.Internal, $"pipe2: {Libc.LastError()}");
        }
        int pid;
        try
        {
            pid = NativeProcess.Spawn(argv, [.. NativeProcess.CurrentEnvironment("_OCI_SYNCPIPE=3"), "_OCI_STARTPIPE=4", "_OCI_ATTACHPIPE=5"],
                [(sync[1], 3), (start[0], 4), (attach[1], 5)], setsid: true);
        }
        finally
        {
            Libc.close(sync[1]);
            Libc.close(start[0]);
            Libc.close(attach[1]);
        }
        var exec = new ConmonExec(
            new FileStream(new SafeFileHandle(sync[0], true), FileAccess.Read, 1, false),
            new FileStream(new SafeFileHandle(start[1], true), FileAccess.Write, 1, false),
            new FileStream(new SafeFileHandle(attach[0], true), FileAccess.Read, 1, false));
        // conmon's first process reads the start pipe before it forks; only then can it be reaped.
        exec.SendStart();
        NativeProcess.Reap(pid);
        var ready = exec.ReadAttachReady();
        if (ready.Data < 0)
        {
            exec.Dispose();
            throw new MockerException(ErrorKind.Internal, ready.Message ?? "conmon failed to set up the exec session");
        }
        return exec;
    }

    /// <summary>Connects to conmon's attach socket (SOCK_SEQPACKET) of a bundle launched with --full-attach.</summary>
    public static async Task<Socket> ConnectAttachAsync(string bundle, CancellationToken ct)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        try
        {
            await s.ConnectAsync(new UnixDomainSocketEndPoint(Path.Combine(bundle, "attach")), ct).ConfigureAwait(false);
            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Resizes the terminal through conmon's ctl FIFO ("1 &lt;height&gt; &lt;width&gt;\n", conmon ctrl.c, as Podman writes it;
    /// conmon forwards "h w" to its own winsz FIFO, which takes no message type). The FIFO is opened
    /// non-blocking so a conmon that already exited (no reader) fails fast instead of blocking the caller; that case is ignored.
    /// </summary>
    public static unsafe void Resize(string bundle, int height, int width)
    {
        var fifo = Path.Combine(bundle, "ctl");
        var fd = Libc.open(fifo, Libc.O_WRONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            return;
        }
        var msg = Encoding.ASCII.GetBytes($"1 {height} {width}\n");
        fixed (byte* p = msg)
        {
            Libc.write(fd, p, msg.Length);
        }
        Libc.close(fd);
    }

    /// <summary>True when a process with this PID exists (kill(pid, 0)).</summary>
    public static bool IsAlive(int pid) => pid > 0 && (Libc.kill(pid, 0) == 0 || Marshal.GetLastPInvokeError() == 1);
}

/// <summary>
/// Watches one exit directory (inotify through FileSystemWatcher) for conmon's exit files "&lt;dir&gt;/&lt;uuid&gt;"
/// holding the exit code as decimal text. Registration checks for an already written file, so no exit is missed.
/// </summary>
public sealed class ExitWatcher : IDisposable
{
    private readonly string _dir;
    private readonly FileSystemWatcher _watcher;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<int>> _pending = new();

    public ExitWatcher(string dir)
    {
        _dir = dir;
        Directory.CreateDirectory(dir);
        _watcher = new FileSystemWatcher(dir) { NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size };
        _watcher.Created += (_, e) => TryComplete(e.Name);
        _watcher.Changed += (_, e) => TryComplete(e.Name);
        _watcher.Renamed += (_, e) => TryComplete(e.Name);
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>A task completing with the exit code once &lt;dir&gt;/<paramref name="uuid"/> holds one.</summary>
    public Task<int> WatchAsync(string uuid)
    {
        var tcs = _pending.GetOrAdd(uuid, _ => new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously));
        TryComplete(uuid);
        return tcs.Task;
    }

    /// <summary>The exit code recorded for <paramref name="uuid"/>, or null when no complete file exists.</summary>
    public int? ReadExitCode(string uuid)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(_dir, uuid)).Trim();
            return int.TryParse(text, out var code) ? code : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Removes the exit file so a later run of the same container is not mistaken for exited.</summary>
    public void Clear(string uuid)
    {
        _pending.TryRemove(uuid, out _);
        File.Delete(Path.Combine(_dir, uuid));
    }

    private void TryComplete(string? name)
    {
        if (name is null || !_pending.TryGetValue(name, out var tcs))
        {
            return;
        }
        if (ReadExitCode(name) is { } code && _pending.TryRemove(new KeyValuePair<string, TaskCompletionSource<int>>(name, tcs)))
        {
            tcs.TrySetResult(code);
        }
    }

    public void Dispose() => _watcher.Dispose();
}

/// <summary>An exec session's conmon pipes: readiness, PID and exit code arrive as JSON lines on the sync pipe.</summary>
public sealed class ConmonExec(FileStream sync, FileStream start, FileStream attach) : IDisposable
{
    /// <summary>Blocks until conmon reports its attach socket is listening (the _OCI_ATTACHPIPE message).</summary>
    public ConmonSync ReadAttachReady() => ReadLine(attach);

    /// <summary>Tells conmon to go on (first: it may proceed; second: the client attached, run the process).</summary>
    public void SendStart()
    {
        start.WriteByte(0);
        start.Flush();
    }

    /// <summary>Blocks for the next sync message; EOF yields {"data": -1}.</summary>
    public ConmonSync ReadSync() => ReadLine(sync);

    private static ConmonSync ReadLine(FileStream pipe)
    {
        var ms = new MemoryStream();
        int b;
        while ((b = pipe.ReadByte()) >= 0 && b != '\n')
        {
            ms.WriteByte((byte)b);
        }
        var line = Encoding.UTF8.GetString(ms.ToArray()).Trim();
        if (line.Length == 0)
        {
            return new ConmonSync { Data = -1, Message = "conmon exited unexpectedly" };
        }
        return JsonSerializer.Deserialize(line, ConmonJsonContext.Default.ConmonSync) ?? new ConmonSync { Data = -1, Message = line };
    }

    /// <summary><see cref="ReadSync"/> on a dedicated thread.</summary>
    public Task<ConmonSync> ReadSyncAsync() => Task.Factory.StartNew(ReadSync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    public void Dispose()
    {
        sync.Dispose();
        start.Dispose();
        attach.Dispose();
    }
}

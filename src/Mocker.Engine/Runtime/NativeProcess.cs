using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Mocker.Engine.Errors;
using Mocker.Engine.Native;

namespace Mocker.Engine.Runtime;

/// <summary>
/// posix_spawn-based process launching for the runtime's short-lived helpers (runc, conmon). System.Diagnostics.Process
/// notices a child's exit through the runtime's SIGCHLD bookkeeping, which was observed to lag by up to a second on this
/// hot path; here the caller reads the pipes to EOF and reaps the child itself with waitpid on a dedicated thread.
/// </summary>
internal static class NativeProcess
{
    /// <summary>Runs <paramref name="argv"/> to completion (stdin /dev/null) and returns its exit code, stdout and stderr.</summary>
    public static Task<RuncResult> RunAsync(IReadOnlyList<string> argv, CancellationToken ct) =>
        Task.Factory.StartNew(() => Run(argv), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static unsafe RuncResult Run(IReadOnlyList<string> argv)
    {
        var outFds = stackalloc int[2];
        var errFds = stackalloc int[2];
        if (Libc.pipe2(outFds, Libc.O_CLOEXEC) != 0)
        {
            throw new MockerException(ErrorKind.Internal, $"pipe2: {Libc.LastError()}");
        }
        if (Libc.pipe2(errFds, Libc.O_CLOEXEC) != 0)
        {
            Libc.close(outFds[0]);
            Libc.close(outFds[1]);
            throw new MockerException(ErrorKind.Internal, $"pipe2: {Libc.LastError()}");
        }
        int pid;
        try
        {
            pid = Spawn(argv, null, [(outFds[1], 1), (errFds[1], 2)], setsid: false);
        }
        finally
        {
            Libc.close(outFds[1]);
            Libc.close(errFds[1]);
        }
        string stdout, stderr;
        using (var o = new FileStream(new SafeFileHandle(outFds[0], true), FileAccess.Read, 1, false))
        using (var e = new FileStream(new SafeFileHandle(errFds[0], true), FileAccess.Read, 1, false))
        {
            stdout = ReadAll(o);
            stderr = ReadAll(e);
        }
        return new RuncResult(Reap(pid), stdout, stderr);
    }

    /// <summary>
    /// Starts <paramref name="argv"/> with pipes on stdin (when <paramref name="stdin"/>), stdout and stderr. Each pipe is
    /// read on a dedicated thread by <paramref name="onOutput"/> (fd 1 or 2, bytes); the returned task yields the exit code
    /// once both pipes reached EOF and the child was reaped.
    /// </summary>
    public static unsafe (Task<int> Exit, FileStream? Stdin) StartPiped(IReadOnlyList<string> argv, bool stdin, Action<int, ReadOnlyMemory<byte>> onOutput)
    {
        var inFds = stackalloc int[2];
        var outFds = stackalloc int[2];
        var errFds = stackalloc int[2];
        inFds[0] = inFds[1] = -1;
        if ((stdin && Libc.pipe2(inFds, Libc.O_CLOEXEC) != 0) || Libc.pipe2(outFds, Libc.O_CLOEXEC) != 0 || Libc.pipe2(errFds, Libc.O_CLOEXEC) != 0)
        {
            throw new MockerException(ErrorKind.Internal, $"pipe2: {Libc.LastError()}");
        }
        var dups = stdin ? new[] { (inFds[0], 0), (outFds[1], 1), (errFds[1], 2) } : new[] { (outFds[1], 1), (errFds[1], 2) };
        int pid;
        try
        {
            pid = Spawn(argv, null, dups, setsid: false);
        }
        finally
        {
            if (stdin)
            {
                Libc.close(inFds[0]);
            }
            Libc.close(outFds[1]);
            Libc.close(errFds[1]);
        }
        var input = stdin ? new FileStream(new SafeFileHandle(inFds[1], true), FileAccess.Write, 1, false) : null;
        var outStream = new FileStream(new SafeFileHandle(outFds[0], true), FileAccess.Read, 1, false);
        var errStream = new FileStream(new SafeFileHandle(errFds[0], true), FileAccess.Read, 1, false);
        Task Pump(FileStream s, int fd) => Task.Factory.StartNew(() =>
        {
            using (s)
            {
                var buf = new byte[32768];
                int n;
                while ((n = s.Read(buf)) > 0)
                {
                    onOutput(fd, buf.AsSpan(0, n).ToArray());
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var pumps = Task.WhenAll(Pump(outStream, 1), Pump(errStream, 2));
        var exit = pumps.ContinueWith(_ => Reap(pid), CancellationToken.None, TaskContinuationOptions.LongRunning, TaskScheduler.Default);
        return (exit, input);
    }

    private static string ReadAll(FileStream s)
    {
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return Encoding.UTF8.GetString(ms.GetBuffer(), 0, (int)ms.Length);
    }

    /// <summary>waitpid(pid) retried on EINTR; returns the exit code (128+signal when killed).</summary>
    public static unsafe int Reap(int pid)
    {
        int status;
        while (Libc.waitpid(pid, &status, 0) < 0)
        {
            if (Marshal.GetLastPInvokeError() != 4)
            {
                return -1;
            }
        }
        var sig = status & 0x7f;
        return sig == 0 ? (status >> 8) & 0xff : 128 + sig;
    }

    /// <summary>
    /// posix_spawn(argv[0]) with stdio on /dev/null except the (source fd → target fd) <paramref name="dups"/>;
    /// <paramref name="env"/> null inherits this process's environment. Returns the child PID.
    /// </summary>
    public static unsafe int Spawn(IReadOnlyList<string> argv, IReadOnlyList<string>? env, (int Source, int Target)[] dups, bool setsid)
    {
        env ??= CurrentEnvironment(null);
        var fa = NativeMemory.AllocZeroed(256);
        var attr = NativeMemory.AllocZeroed(512);
        var argvPtr = (nint*)NativeMemory.AllocZeroed((nuint)((argv.Count + 1) * sizeof(nint)));
        var envPtr = (nint*)NativeMemory.AllocZeroed((nuint)((env.Count + 1) * sizeof(nint)));
        try
        {
            for (var i = 0; i < argv.Count; i++)
            {
                argvPtr[i] = Marshal.StringToCoTaskMemUTF8(argv[i]);
            }
            for (var i = 0; i < env.Count; i++)
            {
                envPtr[i] = Marshal.StringToCoTaskMemUTF8(env[i]);
            }
            Libc.posix_spawn_file_actions_init(fa);
            Libc.posix_spawnattr_init(attr);
            if (setsid)
            {
                Libc.posix_spawnattr_setflags(attr, Libc.POSIX_SPAWN_SETSID);
            }
            for (var fd = 0; fd < 3; fd++)
            {
                if (!dups.Any(d => d.Target == fd))
                {
                    Libc.posix_spawn_file_actions_addopen(fa, fd, "/dev/null", Libc.O_RDWR, 0);
                }
            }
            foreach (var (source, target) in dups)
            {
                Libc.posix_spawn_file_actions_adddup2(fa, source, target);
            }
            int pid;
            var rc = Libc.posix_spawn(&pid, argv[0], fa, attr, argvPtr, envPtr);
            if (rc != 0)
            {
                throw new MockerException(ErrorKind.Internal, $"spawn {argv[0]}: {Marshal.GetPInvokeErrorMessage(rc)}");
            }
            return pid;
        }
        finally
        {
            Libc.posix_spawn_file_actions_destroy(fa);
            Libc.posix_spawnattr_destroy(attr);
            for (var i = 0; i < argv.Count; i++)
            {
                Marshal.FreeCoTaskMem(argvPtr[i]);
            }
            for (var i = 0; i < env.Count; i++)
            {
                Marshal.FreeCoTaskMem(envPtr[i]);
            }
            NativeMemory.Free(fa);
            NativeMemory.Free(attr);
            NativeMemory.Free(argvPtr);
            NativeMemory.Free(envPtr);
        }
    }

    /// <summary>This process's environment as KEY=value, minus the conmon/systemd handshake variables, plus <paramref name="extra"/>.</summary>
    public static List<string> CurrentEnvironment(string? extra)
    {
        var env = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            var k = (string)e.Key;
            if (k is not ("_OCI_SYNCPIPE" or "_OCI_STARTPIPE" or "NOTIFY_SOCKET" or "LISTEN_FDS" or "LISTEN_PID"))
            {
                env.Add($"{k}={e.Value}");
            }
        }
        if (extra is not null)
        {
            env.Add(extra);
        }
        return env;
    }
}

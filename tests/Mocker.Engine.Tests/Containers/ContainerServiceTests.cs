using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Mocker.Api;
using Mocker.Engine.Containers;
using Mocker.Engine.Errors;
using Mocker.Engine.State;
using Mocker.Engine.Tests.Containers.Fixtures;
using Xunit;
using Xunit.Abstractions;

namespace Mocker.Engine.Tests.Containers;

/// <summary>End to end through conmon and runc with a busybox rootfs on overlayfs.</summary>
public sealed class ContainerServiceTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TestEnvironment _env = new();
    private ContainerService _svc = null!;

    public Task InitializeAsync()
    {
        _svc = new ContainerService(_env.Options, new MetadataDb(_env.Options.MetadataDbPath), _env.Images, _env.Snapshotter, NullLoggerFactory.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var c in await _svc.ListAsync(new ContainerListOptions(true, null, false, new Dictionary<string, IReadOnlyList<string>>()), default))
        {
            await _svc.RemoveAsync(c.Id, force: true, false, default);
        }
        _svc.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await _env.DisposeAsync();
    }

    private static async Task<(string Out, string Err)> Drain(IStdioSession s)
    {
        var o = new StringBuilder();
        var e = new StringBuilder();
        await foreach (var c in s.Output.ReadAllAsync())
        {
            (c.Stream == StdStream.Stderr ? e : o).Append(Encoding.UTF8.GetString(c.Data.Span));
        }
        return (o.ToString(), e.ToString());
    }

    [Fact]
    public async Task RunAttachedCapturesOutputExitCodeAndLogs()
    {
        var created = await _svc.CreateAsync("t1", new ContainerCreateRequest
        {
            Image = "busybox",
            Cmd = ["sh", "-c", "echo hi; echo err >&2; exit 3"],
            AttachStdout = true,
            AttachStderr = true,
        }, default);
        var session = await _svc.AttachAsync("t1", new AttachOptions(false, true, true, true, false), default);
        using var waiter = _svc.BeginWait(created.Id, "next-exit");
        await _svc.StartAsync(created.Id, default);
        var (o, e) = await Drain(session);
        var result = await waiter.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, result.StatusCode);
        Assert.Equal("hi\n", o);
        Assert.Equal("err\n", e);

        var inspect = await _svc.InspectAsync("t1", false, default);
        Assert.Equal("exited", inspect.State.Status);
        Assert.Equal(3, inspect.State.ExitCode);
        Assert.Equal("/t1", inspect.Name);
        Assert.Equal("sh", inspect.Path);

        var logs = new List<LogEntry>();
        await foreach (var l in _svc.LogsAsync("t1", new LogsOptions(true, true, false, null, null, null), default))
        {
            logs.Add(l);
        }
        Assert.Equal(2, logs.Count);
        var ex = await Assert.ThrowsAsync<MockerException>(() => _svc.KillAsync("t1", null, default));
        Assert.Equal(ErrorKind.Conflict, ex.Kind);
        var list = await _svc.ListAsync(new ContainerListOptions(true, null, false, new Dictionary<string, IReadOnlyList<string>>()), default);
        Assert.StartsWith("Exited (3)", Assert.Single(list).Status);
    }

    [Fact]
    public async Task StdinIsBufferedBeforeStartAndClosedAtEof()
    {
        var created = await _svc.CreateAsync(null, new ContainerCreateRequest
        {
            Image = "busybox",
            Cmd = ["cat"],
            OpenStdin = true,
            StdinOnce = true,
            AttachStdin = true,
            AttachStdout = true,
        }, default);
        var session = await _svc.AttachAsync(created.Id, new AttachOptions(true, true, true, true, false), default);
        await session.WriteStdinAsync("from-stdin\n"u8.ToArray(), default);
        await session.CloseStdinAsync(default);
        using var waiter = _svc.BeginWait(created.Id, "next-exit");
        await _svc.StartAsync(created.Id, default);
        var (o, _) = await Drain(session).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("from-stdin\n", o);
        Assert.Equal(0, (await waiter.Completion.WaitAsync(TimeSpan.FromSeconds(10))).StatusCode);
    }

    [Fact]
    public async Task InitRunsTiniAsPid1()
    {
        var created = await _svc.CreateAsync(null, new ContainerCreateRequest
        {
            Image = "busybox",
            Cmd = ["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo"],
            AttachStdout = true,
            HostConfig = new HostConfig { Init = true },
        }, default);
        var session = await _svc.AttachAsync(created.Id, new AttachOptions(false, true, true, true, false), default);
        await _svc.StartAsync(created.Id, default);
        var (o, _) = await Drain(session).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("/sbin/docker-init -- sh", o, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartFailureReports127AndResolvesWaiter()
    {
        var created = await _svc.CreateAsync(null, new ContainerCreateRequest { Image = "busybox", Cmd = ["nosuchcmd"] }, default);
        using var waiter = _svc.BeginWait(created.Id, "next-exit");
        var ex = await Assert.ThrowsAsync<MockerException>(() => _svc.StartAsync(created.Id, default));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.StartsWith("failed to create shim task: OCI runtime create failed:", ex.Message, StringComparison.Ordinal);
        Assert.Equal(127, (await waiter.Completion.WaitAsync(TimeSpan.FromSeconds(10))).StatusCode);
    }

    [Fact]
    public async Task StopExecAndRemove()
    {
        var created = await _svc.CreateAsync("sleeper", new ContainerCreateRequest { Image = "busybox", Cmd = ["sleep", "100"] }, default);
        await _svc.StartAsync("sleeper", default);
        var again = await Assert.ThrowsAsync<MockerException>(() => _svc.StartAsync("sleeper", default));
        Assert.Equal(ErrorKind.NotModified, again.Kind);
        var rm = await Assert.ThrowsAsync<MockerException>(() => _svc.RemoveAsync("sleeper", false, false, default));
        Assert.Equal(ErrorKind.Conflict, rm.Kind);

        var execId = await _svc.ExecCreateAsync("sleeper", new ExecConfig { Cmd = ["sh", "-c", "echo in-exec; exit 5"], AttachStdout = true, AttachStderr = true }, default);
        var session = await _svc.ExecStartAsync(execId, new ExecStartConfig(), default);
        var (o, _) = await Drain(session!).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("in-exec\n", o);
        Assert.Equal(5, (await _svc.ExecInspectAsync(execId, default)).ExitCode);

        var ttyExec = await _svc.ExecCreateAsync("sleeper", new ExecConfig { Cmd = ["sh", "-c", "test -t 1 && echo tty; exit 4"], Tty = true, AttachStdout = true, AttachStderr = true }, default);
        var ttySession = await _svc.ExecStartAsync(ttyExec, new ExecStartConfig { Tty = true }, default);
        await _svc.ExecResizeAsync(ttyExec, 40, 120, default);
        var (ttyOut, _) = await Drain(ttySession!).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("tty\r\n", ttyOut);
        Assert.Equal(4, (await _svc.ExecInspectAsync(ttyExec, default)).ExitCode);

        var badExec = await _svc.ExecCreateAsync("sleeper", new ExecConfig { Cmd = ["true"], WorkingDir = "/nonexistent/dir", AttachStdout = true }, default);
        var (badOut, _) = await Drain((await _svc.ExecStartAsync(badExec, new ExecStartConfig(), default))!).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("OCI runtime exec failed", badOut, StringComparison.Ordinal);
        Assert.Equal(126, (await _svc.ExecInspectAsync(badExec, default)).ExitCode);

        var top = await _svc.TopAsync("sleeper", null, default);
        Assert.Contains(top.Processes, p => p[^1].Contains("sleep 100", StringComparison.Ordinal));

        var sw = Stopwatch.StartNew();
        await _svc.StopAsync("sleeper", 1, default);
        output.WriteLine($"stop took {sw.ElapsedMilliseconds} ms");
        Assert.Equal("exited", (await _svc.InspectAsync(created.Id, false, default)).State.Status);
        var stopAgain = await Assert.ThrowsAsync<MockerException>(() => _svc.StopAsync("sleeper", 1, default));
        var execStopped = await Assert.ThrowsAsync<MockerException>(() => _svc.ExecCreateAsync("sleeper", new ExecConfig { Cmd = ["true"] }, default));
        Assert.Equal($"Container {created.Id} is not running", execStopped.Message);
        Assert.Equal(ErrorKind.NotModified, stopAgain.Kind);
        using var removed = _svc.BeginWait("sleeper", "removed");
        await _svc.RemoveAsync("sleeper", false, false, default);
        await removed.Completion.WaitAsync(TimeSpan.FromSeconds(5));
        await Assert.ThrowsAsync<MockerException>(() => _svc.InspectAsync("sleeper", false, default));
    }

    [Fact]
    public async Task AutoRemoveRunIsFast()
    {
        var times = new List<long>();
        for (var i = 0; i < 7; i++)
        {
            var sw = Stopwatch.StartNew();
            var created = await _svc.CreateAsync(null, new ContainerCreateRequest
            {
                Image = "busybox",
                Cmd = ["true"],
                AttachStdout = true,
                AttachStderr = true,
                HostConfig = new HostConfig { AutoRemove = true },
            }, default);
            var session = await _svc.AttachAsync(created.Id, new AttachOptions(false, true, true, true, false), default);
            using var waiter = _svc.BeginWait(created.Id, "removed");
            await _svc.StartAsync(created.Id, default);
            await Drain(session);
            Assert.Equal(0, (await waiter.Completion.WaitAsync(TimeSpan.FromSeconds(10))).StatusCode);
            times.Add(sw.ElapsedMilliseconds);

        }
        times.Sort();
        output.WriteLine("run --rm true (ms): " + string.Join(", ", times));
        Assert.Empty(await _svc.ListAsync(new ContainerListOptions(true, null, false, new Dictionary<string, IReadOnlyList<string>>()), default));
    }
}

/// <summary>Containers outlive the service that started them; a new service instance recovers them.</summary>
public sealed class ContainerRecoveryTests : IAsyncLifetime
{
    private readonly TestEnvironment _env = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await _env.DisposeAsync();
    }

    private ContainerService NewService() =>
        new(_env.Options, new MetadataDb(_env.Options.MetadataDbPath), _env.Images, _env.Snapshotter, NullLoggerFactory.Instance);

    [Fact]
    public async Task RunningContainerSurvivesAndExitIsRecordedAfterRecovery()
    {
        string id;
        using (var first = NewService())
        {
            id = (await first.CreateAsync("survivor", new ContainerCreateRequest { Image = "busybox", Cmd = ["sh", "-c", "read x; exit 7"], OpenStdin = true }, default)).Id;
            await first.StartAsync(id, default);
        }
        using var second = NewService();
        await second.RecoverAsync(default);
        var state = (await second.InspectAsync(id, false, default)).State;
        Assert.True(state.Running);
        Assert.True(ConmonHelpers.ProcessExists(state.Pid));
        // conmon must not die with the daemon: it is neither our child nor in our session.
        var conmonPid = int.Parse(File.ReadAllText(Path.Combine(_env.Options.ExecRoot, "ctr", id, "conmon.pid")));
        var stat = File.ReadAllText($"/proc/{conmonPid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var self = File.ReadAllText("/proc/self/stat");
        var selfFields = self[(self.LastIndexOf(')') + 2)..].Split(' ');
        Assert.NotEqual(Environment.ProcessId.ToString(), fields[1]);
        Assert.NotEqual(selfFields[3], fields[3]);

        var session = await second.AttachAsync(id, new AttachOptions(true, true, true, true, false), default);
        using var waiter = second.BeginWait(id, "not-running");
        await session.WriteStdinAsync("go\n"u8.ToArray(), default);
        Assert.Equal(7, (await waiter.Completion.WaitAsync(TimeSpan.FromSeconds(10))).StatusCode);
        await second.RemoveAsync(id, true, false, default);
    }

    [Fact]
    public async Task TtyContainerOutputIsRawAndLogsFollowEndsAtExit()
    {
        using var svc = NewService();
        var id = (await svc.CreateAsync(null, new ContainerCreateRequest { Image = "busybox", Tty = true, Cmd = ["sh", "-c", "echo one; sleep 0.3; echo two"], HostConfig = new HostConfig { ConsoleSize = [30, 100] } }, default)).Id;
        using var waiter = svc.BeginWait(id, "next-exit");
        await svc.StartAsync(id, default);
        var lines = new List<string>();
        await foreach (var entry in svc.LogsAsync(id, new LogsOptions(true, true, true, null, null, null), default).WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token))
        {
            Assert.Equal(StdStream.Stdout, entry.Stream);
            lines.Add(System.Text.Encoding.UTF8.GetString(entry.Data.Span));
        }
        Assert.Equal(["one\r\n", "two\r\n"], lines);
        Assert.Equal(0, (await waiter.Completion.WaitAsync(TimeSpan.FromSeconds(10))).StatusCode);
        var tail = new List<LogEntry>();
        await foreach (var entry in svc.LogsAsync(id, new LogsOptions(true, true, false, 1, null, null), default))
        {
            tail.Add(entry);
        }
        Assert.Single(tail);
        await svc.RemoveAsync(id, false, false, default);
    }
}

internal static class ConmonHelpers
{
    public static bool ProcessExists(int pid) => pid > 0 && Directory.Exists($"/proc/{pid}");
}

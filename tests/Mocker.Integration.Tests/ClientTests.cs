using System.Formats.Tar;
using System.Net;
using System.Text;
using Mocker.Api;
using Mocker.Client;
using Mocker.Integration.Tests.Infrastructure;
using Xunit;

namespace Mocker.Integration.Tests;

/// <summary>
/// The shared mockerd driven through <see cref="MockerClient"/>, the typed client the CLI is built on: the same flows
/// as <c>mocker run/exec/logs/build/import</c>, asserted on the typed responses and exceptions.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class ClientTests(DaemonFixture fixture) : IAsyncLifetime
{
    private readonly DaemonInstance _d = fixture.Daemon;
    private readonly MockerClient _client = new(fixture.Daemon.Host);
    private readonly List<string> _containers = [];
    private readonly List<string> _images = [];
    private readonly List<string> _dirs = [];

    private static CancellationToken Bounded() => new CancellationTokenSource(DaemonInstance.Timeout).Token;

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Removes what the test made: containers (forced), then images (forced), then temporary directories.</summary>
    public async Task DisposeAsync()
    {
        foreach (var id in _containers)
        {
            try
            {
                await _client.Containers.RemoveAsync(id, force: true, ct: Bounded());
            }
            catch (MockerNotFoundException)
            {
                // The test removed it itself.
            }
        }
        foreach (var image in _images)
        {
            try
            {
                await _client.Images.RemoveAsync(image, force: true, ct: Bounded());
            }
            catch (MockerNotFoundException)
            {
                // The test removed it itself.
            }
        }
        foreach (var dir in _dirs.Where(Directory.Exists))
        {
            Directory.Delete(dir, recursive: true);
        }
        _client.Dispose();
    }

    /// <summary>Creates a container (tracked for clean-up) and returns its ID.</summary>
    private async Task<string> CreateAsync(ContainerCreateRequest request, string? name = null)
    {
        var created = await _client.Containers.CreateAsync(request, name, Bounded());
        _containers.Add(created.Id);
        Assert.Matches("^[0-9a-f]{64}$", created.Id);
        return created.Id;
    }

    private static ContainerCreateRequest Busybox(params string[] cmd) => new()
    {
        Image = "busybox",
        Cmd = [.. cmd],
        AttachStdout = true,
        AttachStderr = true,
    };

    /// <summary>
    /// What <c>mocker run</c> does: attach before start, register the wait (headers received) before start, start, write
    /// <paramref name="stdin"/> and half-close, read the output to its end, then the exit status.
    /// </summary>
    private async Task<(string Stdout, string Stderr, long StatusCode)> RunAsync(string id, string? stdin = null)
    {
        var ct = Bounded();
        await using var attach = await _client.Containers.AttachAsync(id, new ContainerAttachOptions { Stdin = stdin is not null }, ct);
        var wait = await _client.Containers.BeginWaitAsync(id, "next-exit", ct);
        Assert.True(await _client.Containers.StartAsync(id, ct));
        if (stdin is not null)
        {
            await attach.WriteAsync(Encoding.UTF8.GetBytes(stdin), ct);
            await attach.FlushAsync(ct);
            await attach.CloseWriteAsync();
        }
        var (stdout, stderr) = await ReadAllAsync(attach, tty: false, ct);
        var exit = await wait.WaitAsync(ct);
        Assert.Null(exit.Error?.Message);
        return (stdout, stderr, exit.StatusCode);
    }

    private static async Task<(string Stdout, string Stderr)> ReadAllAsync(Stream stream, bool tty, CancellationToken ct)
    {
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        await foreach (var chunk in StdCopy.ReadAsync(stream, tty, ct))
        {
            (chunk.Stream == StdStream.Stdout ? stdout : stderr).Append(Encoding.UTF8.GetString(chunk.Data.Span));
        }
        return (stdout.ToString(), stderr.ToString());
    }

    private static async Task<string> CollectLogsAsync(IAsyncEnumerable<OutputChunk> chunks)
    {
        var text = new StringBuilder();
        await foreach (var chunk in chunks)
        {
            text.Append(Encoding.UTF8.GetString(chunk.Data.Span));
        }
        return text.ToString();
    }

    /// <summary>Starts <c>sleep 300</c> (PID 1 without a SIGTERM handler, so stop has to escalate to SIGKILL).</summary>
    private async Task<string> StartSleeperAsync(string? name = null, Dictionary<string, string>? labels = null)
    {
        var id = await CreateAsync(Busybox("sleep", "300") with { Labels = labels }, name);
        Assert.True(await _client.Containers.StartAsync(id, Bounded()));
        return id;
    }

    private string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), Names.Unique("mocker-client-it"));
        Directory.CreateDirectory(dir);
        _dirs.Add(dir);
        return dir;
    }

    [Fact]
    public async Task Ping_version_and_info_describe_the_daemon()
    {
        var ping = await _client.System.PingAsync(Bounded());
        Assert.Equal("1.41", ping.ApiVersion);
        Assert.Equal("linux", ping.OsType);
        Assert.Equal("1.41", await _client.GetApiVersionAsync(Bounded()));

        var version = await _client.System.VersionAsync(Bounded());
        Assert.Equal("1.41", version.ApiVersion);
        Assert.Equal("linux", version.Os);
        Assert.False(string.IsNullOrEmpty(version.Version));

        var info = await _client.System.InfoAsync(Bounded());
        Assert.True(info.Images >= 1, $"busybox is bootstrapped, yet Info.Images = {info.Images}");
        Assert.Equal("overlay2", info.Driver);
        Assert.Equal(info.Containers, info.ContainersRunning + info.ContainersPaused + info.ContainersStopped);
    }

    [Fact]
    public async Task Run_attaches_and_waits_before_start_and_sees_the_output()
    {
        var id = await CreateAsync(Busybox("echo", "hi"));
        var (stdout, stderr, status) = await RunAsync(id);
        Assert.Equal("hi\n", stdout);
        Assert.Equal("", stderr);
        Assert.Equal(0, status);

        var inspect = await _client.Containers.InspectAsync(id, ct: Bounded());
        Assert.Equal("exited", inspect.State.Status);
        Assert.Equal(0, inspect.State.ExitCode);
    }

    [Fact]
    public async Task Exit_code_reaches_wait_and_inspect()
    {
        var id = await CreateAsync(Busybox("sh", "-c", "echo oops >&2; exit 3"));
        var (stdout, stderr, status) = await RunAsync(id);
        Assert.Equal("", stdout);
        Assert.Equal("oops\n", stderr);
        Assert.Equal(3, status);

        var inspect = await _client.Containers.InspectAsync(id, ct: Bounded());
        Assert.Equal("exited", inspect.State.Status);
        Assert.Equal(3, inspect.State.ExitCode);
        Assert.False(inspect.State.Running);
    }

    [Fact]
    public async Task Stdin_goes_through_the_hijacked_stream_and_half_close_ends_it()
    {
        var id = await CreateAsync(Busybox("cat") with { AttachStdin = true, OpenStdin = true, StdinOnce = true });
        var (stdout, _, status) = await RunAsync(id, "line one\nline two\n");
        Assert.Equal("line one\nline two\n", stdout);
        Assert.Equal(0, status);
    }

    [Fact]
    public async Task Logs_honour_tail_and_timestamps()
    {
        var id = await CreateAsync(Busybox("sh", "-c", "echo one; echo two; echo three >&2"));
        var (_, _, status) = await RunAsync(id);
        Assert.Equal(0, status);

        var all = await CollectLogsAsync(_client.Containers.LogsAsync(id, ct: Bounded()));
        Assert.Equal(["one", "two", "three"], Expect.Lines(all));

        var tail = await CollectLogsAsync(_client.Containers.LogsAsync(id, new ContainerLogsOptions { Tail = "2" }, ct: Bounded()));
        Assert.Equal(["two", "three"], Expect.Lines(tail));

        var stdoutOnly = await CollectLogsAsync(_client.Containers.LogsAsync(id, new ContainerLogsOptions { Stderr = false }, ct: Bounded()));
        Assert.Equal(["one", "two"], Expect.Lines(stdoutOnly));

        var stamped = Expect.Lines(await CollectLogsAsync(
            _client.Containers.LogsAsync(id, new ContainerLogsOptions { Timestamps = true, Tail = "all" }, ct: Bounded())));
        Assert.Equal(3, stamped.Count);
        foreach (var (line, text) in stamped.Zip(new[] { "one", "two", "three" }))
        {
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z " + text + "$", line);
        }
    }

    [Fact]
    public async Task Logs_follow_streams_live_output_and_ends_at_exit()
    {
        // The container prints, then blocks on stdin: the test decides when it exits, without timing assumptions.
        var id = await CreateAsync(Busybox("sh", "-c", "echo first; read line; echo \"got $line\"; echo last")
            with
        { AttachStdin = true, OpenStdin = true, StdinOnce = true });
        var ct = Bounded();
        await using var attach = await _client.Containers.AttachAsync(id, new ContainerAttachOptions { Stdin = true }, ct);
        Assert.True(await _client.Containers.StartAsync(id, ct));

        var seen = new StringBuilder();
        var released = false;
        await foreach (var chunk in _client.Containers.LogsAsync(id, new ContainerLogsOptions { Follow = true }, ct: ct))
        {
            seen.Append(Encoding.UTF8.GetString(chunk.Data.Span));
            if (!released && seen.ToString().Contains("first\n", StringComparison.Ordinal))
            {
                released = true;
                await attach.WriteAsync("go\n"u8.ToArray(), ct);
                await attach.FlushAsync(ct);
                await attach.CloseWriteAsync();
            }
        }
        Assert.True(released, $"follow ended before the first line arrived: {seen}");
        Assert.Equal(["first", "got go", "last"], Expect.Lines(seen.ToString()));
        Assert.Equal(0, (await _client.Containers.WaitAsync(id, ct: ct)).StatusCode);
    }

    [Fact]
    public async Task Exec_without_tty_is_demultiplexed_and_reports_its_exit_code()
    {
        var id = await StartSleeperAsync();
        var ct = Bounded();
        var execId = await _client.Exec.CreateAsync(id, new ExecConfig
        {
            AttachStdout = true,
            AttachStderr = true,
            Cmd = ["sh", "-c", "echo out; echo err >&2; exit 5"],
        }, ct);
        Assert.Matches("^[0-9a-f]{64}$", execId);
        await using (var stream = await _client.Exec.StartAsync(execId, tty: false, ct))
        {
            var (stdout, stderr) = await ReadAllAsync(stream, tty: false, ct);
            Assert.Equal("out\n", stdout);
            Assert.Equal("err\n", stderr);
        }
        var inspect = await _client.Exec.InspectAsync(execId, ct);
        Assert.False(inspect.Running);
        Assert.Equal(5, inspect.ExitCode);
        Assert.Equal(id, inspect.ContainerID);
    }

    [Fact]
    public async Task Exec_with_tty_gets_a_terminal_and_raw_output()
    {
        var id = await StartSleeperAsync();
        var ct = Bounded();
        var execId = await _client.Exec.CreateAsync(id, new ExecConfig
        {
            AttachStdout = true,
            AttachStderr = true,
            Tty = true,
            Cmd = ["sh", "-c", "tty; echo done"],
        }, ct);
        string output;
        await using (var stream = await _client.Exec.StartAsync(execId, tty: true, ct))
        {
            (output, _) = await ReadAllAsync(stream, tty: true, ct);
        }
        // A terminal turns "\n" into "\r\n" (onlcr): the output is the terminal's, not framed.
        Assert.Matches(@"^/dev/pts/\d+\r\ndone\r\n$", output);
        var inspect = await _client.Exec.InspectAsync(execId, ct);
        Assert.Equal(0, inspect.ExitCode);
        Assert.True(inspect.ProcessConfig.tty);
    }

    [Fact]
    public async Task Exec_stdin_is_forwarded_and_half_close_ends_it()
    {
        var id = await StartSleeperAsync();
        var ct = Bounded();
        var execId = await _client.Exec.CreateAsync(id, new ExecConfig
        {
            AttachStdin = true,
            AttachStdout = true,
            AttachStderr = true,
            Cmd = ["cat"],
        }, ct);
        await using (var stream = await _client.Exec.StartAsync(execId, tty: false, ct))
        {
            await stream.WriteAsync("to the exec\n"u8.ToArray(), ct);
            await stream.FlushAsync(ct);
            await stream.CloseWriteAsync();
            var (stdout, stderr) = await ReadAllAsync(stream, tty: false, ct);
            Assert.Equal("to the exec\n", stdout);
            Assert.Equal("", stderr);
        }
        Assert.Equal(0, (await _client.Exec.InspectAsync(execId, ct)).ExitCode);
    }

    [Fact]
    public async Task Exec_honours_env_working_dir_and_user()
    {
        var id = await StartSleeperAsync();
        var ct = Bounded();
        var execId = await _client.Exec.CreateAsync(id, new ExecConfig
        {
            AttachStdout = true,
            AttachStderr = true,
            Env = ["FOO=from-exec"],
            WorkingDir = "/tmp",
            User = "1000:1000",
            Cmd = ["sh", "-c", "echo $FOO; pwd; id -u; id -g"],
        }, ct);
        await using var stream = await _client.Exec.StartAsync(execId, tty: false, ct);
        var (stdout, stderr) = await ReadAllAsync(stream, tty: false, ct);
        Assert.Equal("from-exec\n/tmp\n1000\n1000\n", stdout);
        Assert.Equal("", stderr);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Exec_of_a_missing_executable_reports_127(bool tty)
    {
        var id = await StartSleeperAsync();
        var ct = Bounded();
        var execId = await _client.Exec.CreateAsync(id, new ExecConfig
        {
            AttachStdout = true,
            AttachStderr = true,
            Tty = tty,
            Cmd = ["/no/such/binary"],
        }, ct);
        string output;
        await using (var stream = await _client.Exec.StartAsync(execId, tty, ct))
        {
            var (stdout, stderr) = await ReadAllAsync(stream, tty, ct);
            output = stdout + stderr;
        }
        Assert.Contains("OCI runtime exec failed", output, StringComparison.Ordinal);
        var inspect = await _client.Exec.InspectAsync(execId, ct);
        Assert.False(inspect.Running);
        Assert.Equal(127, inspect.ExitCode);
    }

    [Fact]
    public async Task Exec_in_a_stopped_container_is_a_conflict()
    {
        var id = await CreateAsync(Busybox("true"));
        Assert.Equal(0, (await RunAsync(id)).StatusCode);
        var error = await Assert.ThrowsAnyAsync<MockerApiException>(() =>
            _client.Exec.CreateAsync(id, new ExecConfig { AttachStdout = true, Cmd = ["true"] }, Bounded()));
        Assert.Equal(HttpStatusCode.Conflict, error.StatusCode);
        Assert.Contains("is not running", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tty_container_output_is_raw_in_attach_and_logs()
    {
        var id = await CreateAsync(Busybox("sh", "-c", "echo hi; echo err >&2") with { Tty = true });
        var ct = Bounded();
        string output;
        await using (var attach = await _client.Containers.AttachAsync(id, ct: ct))
        {
            var wait = await _client.Containers.BeginWaitAsync(id, "next-exit", ct);
            Assert.True(await _client.Containers.StartAsync(id, ct));
            (output, _) = await ReadAllAsync(attach, tty: true, ct);
            Assert.Equal(0, (await wait.WaitAsync(ct)).StatusCode);
        }
        Assert.Equal("hi\r\nerr\r\n", output);
        var logs = await CollectLogsAsync(_client.Containers.LogsAsync(id, ct: ct));
        Assert.Equal("hi\r\nerr\r\n", logs);
    }

    [Fact]
    public async Task Auto_remove_container_is_gone_when_the_removed_wait_returns()
    {
        var ct = Bounded();
        var id = await CreateAsync(Busybox("sh", "-c", "exit 7") with { HostConfig = new HostConfig { AutoRemove = true } });
        var wait = await _client.Containers.BeginWaitAsync(id, "removed", ct);
        Assert.True(await _client.Containers.StartAsync(id, ct));
        Assert.Equal(7, (await wait.WaitAsync(ct)).StatusCode);
        await Assert.ThrowsAsync<MockerNotFoundException>(() => _client.Containers.InspectAsync(id, ct: ct));
    }

    [Fact]
    public async Task Restart_runs_the_container_again_and_start_of_a_running_one_is_not_modified()
    {
        var ct = Bounded();
        var id = await StartSleeperAsync();
        Assert.False(await _client.Containers.StartAsync(id, ct));
        var before = await _client.Containers.InspectAsync(id, ct: ct);
        await _client.Containers.RestartAsync(id, 0, ct);
        var after = await _client.Containers.InspectAsync(id, ct: ct);
        Assert.True(after.State.Running);
        Assert.NotEqual(before.State.Pid, after.State.Pid);
        Assert.NotEqual(before.State.StartedAt, after.State.StartedAt);
    }

    [Fact]
    public async Task Create_with_a_taken_name_is_a_conflict()
    {
        var name = Names.Unique("taken");
        var id = await CreateAsync(Busybox("true"), name);
        var error = await Assert.ThrowsAnyAsync<MockerApiException>(() => _client.Containers.CreateAsync(Busybox("true"), name, Bounded()));
        Assert.Equal(HttpStatusCode.Conflict, error.StatusCode);
        Assert.Contains($"The container name \"/{name}\" is already in use by container \"{id}\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_escalates_after_the_timeout_and_a_second_stop_is_not_modified()
    {
        var id = await StartSleeperAsync();
        var ct = Bounded();
        Assert.True(await _client.Containers.StopAsync(id, timeoutSeconds: 1, ct));
        var inspect = await _client.Containers.InspectAsync(id, ct: ct);
        Assert.Equal("exited", inspect.State.Status);
        Assert.Equal(137, inspect.State.ExitCode);

        Assert.False(await _client.Containers.StopAsync(id, timeoutSeconds: 1, ct));

        var kill = await Assert.ThrowsAnyAsync<MockerApiException>(() => _client.Containers.KillAsync(id, ct: ct));
        Assert.Equal(HttpStatusCode.Conflict, kill.StatusCode);
        Assert.Contains("is not running", kill.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kill_ends_a_running_container_with_the_signal_status()
    {
        var ct = Bounded();
        var id = await StartSleeperAsync();
        var wait = await _client.Containers.BeginWaitAsync(id, ct: ct);
        await _client.Containers.KillAsync(id, "KILL", ct);
        Assert.Equal(137, (await wait.WaitAsync(ct)).StatusCode);
        var state = (await _client.Containers.InspectAsync(id, ct: ct)).State;
        Assert.Equal("exited", state.Status);
        Assert.Equal(137, state.ExitCode);
        Assert.NotEqual("0001-01-01T00:00:00Z", state.FinishedAt);
    }

    [Fact]
    public async Task Removing_a_running_container_needs_force()
    {
        var id = await StartSleeperAsync();
        var ct = Bounded();
        var error = await Assert.ThrowsAnyAsync<MockerApiException>(() => _client.Containers.RemoveAsync(id, ct: ct));
        Assert.Equal(HttpStatusCode.Conflict, error.StatusCode);
        Assert.True((await _client.Containers.InspectAsync(id, ct: ct)).State.Running);

        await _client.Containers.RemoveAsync(id, force: true, ct: ct);
        await Assert.ThrowsAsync<MockerNotFoundException>(() => _client.Containers.InspectAsync(id, ct: ct));
    }

    [Fact]
    public async Task Unknown_containers_and_images_are_not_found()
    {
        var ct = Bounded();
        var missing = Names.Unique("missing");
        var container = await Assert.ThrowsAsync<MockerNotFoundException>(() => _client.Containers.InspectAsync(missing, ct: ct));
        Assert.Equal(HttpStatusCode.NotFound, container.StatusCode);
        Assert.Equal($"No such container: {missing}", container.Message);
        await Assert.ThrowsAsync<MockerNotFoundException>(() => _client.Containers.StartAsync(missing, ct));
        await Assert.ThrowsAsync<MockerNotFoundException>(() => _client.Containers.RemoveAsync(missing, ct: ct));

        var image = await Assert.ThrowsAsync<MockerNotFoundException>(() => _client.Images.InspectAsync(missing + ":latest", ct));
        Assert.Contains("No such image", image.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<MockerNotFoundException>(() =>
            _client.Containers.CreateAsync(new ContainerCreateRequest { Image = missing, Cmd = ["true"] }, ct: ct));
    }

    [Fact]
    public async Task List_filters_by_label_name_and_status()
    {
        var ct = Bounded();
        var label = Names.Unique("group");
        var labels = new Dictionary<string, string> { ["it.group"] = label };
        var runningName = Names.Unique("running");
        var createdName = Names.Unique("created");
        var running = await StartSleeperAsync(runningName, labels);
        var created = await CreateAsync(Busybox("true") with { Labels = labels }, createdName);

        var byLabel = await _client.Containers.ListAsync(new ContainerListOptions
        {
            All = true,
            Filters = new Dictionary<string, IReadOnlyList<string>> { ["label"] = [$"it.group={label}"] },
        }, ct);
        Assert.Equal(new[] { created, running }.Order(), byLabel.Select(c => c.Id).Order());

        var runningOnly = await _client.Containers.ListAsync(new ContainerListOptions
        {
            Filters = new Dictionary<string, IReadOnlyList<string>> { ["label"] = [$"it.group={label}"] },
        }, ct);
        var summary = Assert.Single(runningOnly);
        Assert.Equal(running, summary.Id);
        Assert.Equal("running", summary.State);
        Assert.Equal(["/" + runningName], summary.Names);
        Assert.Equal(label, summary.Labels["it.group"]);

        var byName = await _client.Containers.ListAsync(new ContainerListOptions
        {
            All = true,
            Filters = new Dictionary<string, IReadOnlyList<string>> { ["name"] = [createdName] },
        }, ct);
        Assert.Equal(created, Assert.Single(byName).Id);

        var byStatus = await _client.Containers.ListAsync(new ContainerListOptions
        {
            All = true,
            Filters = new Dictionary<string, IReadOnlyList<string>>
            {
                ["label"] = [$"it.group={label}"],
                ["status"] = ["created"],
            },
        }, ct);
        Assert.Equal(created, Assert.Single(byStatus).Id);
    }

    [Fact]
    public async Task List_limit_returns_the_most_recently_created()
    {
        var first = await CreateAsync(Busybox("true"));
        var second = await CreateAsync(Busybox("true"));
        var listed = await _client.Containers.ListAsync(new ContainerListOptions { Limit = 1 }, Bounded());
        Assert.Equal(second, Assert.Single(listed).Id);
        var two = await _client.Containers.ListAsync(new ContainerListOptions { Limit = 2 }, Bounded());
        Assert.Equal([second, first], two.Select(c => c.Id));
    }

    [Fact]
    public async Task Inspect_reports_name_config_state_and_default_network_mode()
    {
        var name = Names.Unique("inspect");
        var id = await CreateAsync(Busybox("echo", "a b") with { Env = ["FOO=bar"] }, name);
        var inspect = await _client.Containers.InspectAsync(id, ct: Bounded());
        Assert.Equal(id, inspect.Id);
        Assert.Equal("/" + name, inspect.Name);
        Assert.Equal("created", inspect.State.Status);
        Assert.False(inspect.State.Running);
        Assert.Equal(["echo", "a b"], inspect.Config.Cmd);
        Assert.Equal("busybox", inspect.Config.Image);
        Assert.Contains("FOO=bar", inspect.Config.Env ?? []);
        Assert.Equal("none", inspect.HostConfig.NetworkMode);
        Assert.Equal("echo", inspect.Path);
        Assert.Equal(["a b"], inspect.Args);
        Assert.StartsWith("sha256:", inspect.Image, StringComparison.Ordinal);

        // By name and by unique ID prefix, as the CLI resolves them.
        Assert.Equal(id, (await _client.Containers.InspectAsync(name, ct: Bounded())).Id);
        Assert.Equal(id, (await _client.Containers.InspectAsync(id[..12], ct: Bounded())).Id);
    }

    [Fact]
    public async Task Rename_moves_the_name()
    {
        var ct = Bounded();
        var oldName = Names.Unique("old");
        var newName = Names.Unique("new");
        var id = await CreateAsync(Busybox("true"), oldName);
        await _client.Containers.RenameAsync(id, newName, ct);
        Assert.Equal("/" + newName, (await _client.Containers.InspectAsync(newName, ct: ct)).Name);
        await Assert.ThrowsAsync<MockerNotFoundException>(() => _client.Containers.InspectAsync(oldName, ct: ct));

        var other = await CreateAsync(Busybox("true"), oldName);
        var taken = await Assert.ThrowsAnyAsync<MockerApiException>(() => _client.Containers.RenameAsync(other, newName, ct));
        Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
    }

    [Fact]
    public async Task Top_lists_the_container_processes()
    {
        var id = await StartSleeperAsync();
        var top = await _client.Containers.TopAsync(id, ct: Bounded());
        var pid = top.Titles.IndexOf("PID");
        var cmd = top.Titles.IndexOf("CMD");
        Assert.True(pid >= 0 && cmd >= 0, "titles: " + string.Join(",", top.Titles));
        var process = Assert.Single(top.Processes);
        Assert.Equal("sleep 300", process[cmd]);
        Assert.Equal((await _client.Containers.InspectAsync(id, ct: Bounded())).State.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), process[pid]);

        await _client.Containers.StopAsync(id, 0, Bounded());
        var notRunning = await Assert.ThrowsAnyAsync<MockerApiException>(() => _client.Containers.TopAsync(id, ct: Bounded()));
        Assert.Equal(HttpStatusCode.Conflict, notRunning.StatusCode);
    }

    [Fact]
    public async Task Container_prune_removes_stopped_containers_only()
    {
        var ct = Bounded();
        var label = Names.Unique("prune");
        var labels = new Dictionary<string, string> { ["it.prune"] = label };
        var exited = await CreateAsync(Busybox("true") with { Labels = labels });
        Assert.Equal(0, (await RunAsync(exited)).StatusCode);
        var running = await StartSleeperAsync(labels: labels);

        var report = await _client.Containers.PruneAsync(
            new Dictionary<string, IReadOnlyList<string>> { ["label"] = [$"it.prune={label}"] }, ct);
        Assert.Equal([exited], report.ContainersDeleted);
        await Assert.ThrowsAsync<MockerNotFoundException>(() => _client.Containers.InspectAsync(exited, ct: ct));
        Assert.True((await _client.Containers.InspectAsync(running, ct: ct)).State.Running);
    }

    [Fact]
    public async Task Images_list_inspect_tag_history_and_remove_untags_before_deleting()
    {
        var ct = Bounded();
        var busybox = await _client.Images.InspectAsync("busybox", ct);
        Assert.StartsWith("sha256:", busybox.Id, StringComparison.Ordinal);
        Assert.Contains("busybox:latest", busybox.RepoTags);

        var repo = Names.Unique("client-tag");
        var reference = repo + ":v1";
        _images.Add(reference);
        await _client.Images.TagAsync("busybox", repo, "v1", ct);
        Assert.Equal(busybox.Id, (await _client.Images.InspectAsync(reference, ct)).Id);

        var listed = await _client.Images.ListAsync(ct: ct);
        var summary = Assert.Single(listed, i => i.Id == busybox.Id);
        Assert.Contains(reference, summary.RepoTags ?? []);
        Assert.Contains("busybox:latest", summary.RepoTags ?? []);
        var filtered = await _client.Images.ListAsync(filters: new Dictionary<string, IReadOnlyList<string>> { ["reference"] = [reference] }, ct: ct);
        Assert.Equal(busybox.Id, Assert.Single(filtered).Id);

        var history = await _client.Images.HistoryAsync(reference, ct);
        Assert.NotEmpty(history);
        Assert.Equal(busybox.Id, history[0].Id);
        Assert.Contains(reference, history[0].Tags ?? []);

        // An image with two references: removing by ID without force is refused, removing a reference only untags.
        var conflict = await Assert.ThrowsAnyAsync<MockerApiException>(() => _client.Images.RemoveAsync(busybox.Id, ct: ct));
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal($"conflict: unable to delete {busybox.Id[7..19]} (must be forced) - image is referenced in multiple repositories", conflict.Message);
        // Even while a container uses the image: another reference remains, so nothing is left dangling.
        await CreateAsync(Busybox("true"));
        var removed = await _client.Images.RemoveAsync(reference, ct: ct);
        Assert.Equal(reference, Assert.Single(removed).Untagged);
        Assert.DoesNotContain(removed, r => r.Deleted is not null);
        Assert.Equal(busybox.Id, (await _client.Images.InspectAsync("busybox", ct)).Id);
        await Assert.ThrowsAsync<MockerNotFoundException>(() => _client.Images.InspectAsync(reference, ct));

        await Assert.ThrowsAsync<MockerNotFoundException>(() => _client.Images.TagAsync(Names.Unique("missing"), repo, "v2", ct));
    }

    [Fact]
    public async Task Import_of_a_tar_built_in_the_test_applies_changes_and_runs()
    {
        var ct = Bounded();
        var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, "bin/") { Mode = (UnixFileMode)0b111_101_101 });
            await writer.WriteEntryAsync("/bin/busybox", "bin/busybox", ct);
            foreach (var applet in new[] { "sh", "cat" })
            {
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/" + applet) { LinkName = "busybox" }, ct);
            }
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "hello.txt")
            {
                Mode = (UnixFileMode)0b110_100_100,
                DataStream = new MemoryStream("from the tar\n"u8.ToArray()),
            }, ct);
        }
        tar.Position = 0;

        var reference = Names.Unique("client-import") + ":v1";
        _images.Add(reference);
        var messages = new List<JsonMessage>();
        await foreach (var message in _client.Images.ImportAsync(tar, reference,
            ["CMD [\"/bin/sh\", \"-c\", \"echo $GREETING; /bin/cat /hello.txt\"]", "ENV GREETING=hello"], "imported by a test", ct))
        {
            messages.Add(message);
        }
        Assert.DoesNotContain(messages, m => m.error is not null);
        var imageId = Assert.Single(messages, m => m.status?.StartsWith("sha256:", StringComparison.Ordinal) == true).status!;

        var inspect = await _client.Images.InspectAsync(reference, ct);
        Assert.Equal(imageId, inspect.Id);
        Assert.Equal(["/bin/sh", "-c", "echo $GREETING; /bin/cat /hello.txt"], inspect.Config?.Cmd);
        Assert.Contains("GREETING=hello", inspect.Config?.Env ?? []);
        Assert.Equal("imported by a test", inspect.Comment);
        Assert.Single(inspect.RootFS.Layers);

        var id = await CreateAsync(new ContainerCreateRequest { Image = reference, AttachStdout = true, AttachStderr = true });
        var (stdout, stderr, status) = await RunAsync(id);
        Assert.Equal("hello\nfrom the tar\n", stdout);
        Assert.Equal("", stderr);
        Assert.Equal(0, status);

        // Still used by a container: a plain removal is refused; once the container is gone it deletes the image.
        var conflict = await Assert.ThrowsAnyAsync<MockerApiException>(() => _client.Images.RemoveAsync(reference, ct: ct));
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal($"conflict: unable to remove repository reference \"{reference}\" (must force) - container {id[..12]} is using its referenced image {imageId[7..19]}", conflict.Message);
        await _client.Containers.RemoveAsync(id, ct: ct);
        var removed = await _client.Images.RemoveAsync(reference, ct: ct);
        Assert.Contains(removed, r => r.Untagged == reference);
        Assert.Contains(removed, r => r.Deleted == imageId);
        await Assert.ThrowsAsync<MockerNotFoundException>(() => _client.Images.InspectAsync(imageId, ct));
    }

    [Fact]
    public async Task Build_of_a_context_dir_runs_and_a_second_build_uses_the_cache()
    {
        var ct = Bounded();
        var context = TempDir();
        await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), """
            FROM busybox
            RUN echo built > /built.txt
            COPY greeting.txt /greeting.txt
            ENV WHO=world
            CMD ["sh", "-c", "cat /built.txt /greeting.txt; echo hello $WHO"]
            """, ct);
        await File.WriteAllTextAsync(Path.Combine(context, "greeting.txt"), "from the context\n", ct);
        var reference = Names.Unique("client-build") + ":latest";
        _images.Add(reference);

        async Task<(string Text, string? Id)> BuildAsync()
        {
            var text = new StringBuilder();
            string? id = null;
            var options = new BuildOptions { Tags = [reference], Labels = new Dictionary<string, string> { ["it.build"] = reference } };
            await foreach (var m in _client.Images.BuildAsync(context, options, ct))
            {
                Assert.True(m.error is null, $"build failed: {m.error}\n{text}");
                text.Append(m.stream);
                id ??= m.aux?.ID;
            }
            return (text.ToString(), id);
        }

        var (first, firstId) = await BuildAsync();
        // --label adds a LABEL step at the end, as the classic builder does.
        Assert.Contains("Step 1/6 : FROM busybox", first, StringComparison.Ordinal);
        Assert.True(first.Contains($"Step 6/6 : LABEL \"it.build\"=\"{reference}\"", StringComparison.Ordinal), first);
        Assert.Contains($"Successfully tagged {reference}", first, StringComparison.Ordinal);
        var image = await _client.Images.InspectAsync(reference, ct);
        Assert.Equal(image.Id, firstId);
        Assert.Contains("WHO=world", image.Config?.Env ?? []);
        Assert.Equal(reference, image.Config?.Labels?["it.build"]);
        var labelled = await _client.Images.ListAsync(filters: new Dictionary<string, IReadOnlyList<string>> { ["label"] = [$"it.build={reference}"] }, ct: ct);
        Assert.Equal(image.Id, Assert.Single(labelled).Id);

        var id = await CreateAsync(new ContainerCreateRequest { Image = reference, AttachStdout = true, AttachStderr = true });
        var (stdout, stderr, status) = await RunAsync(id);
        Assert.Equal("built\nfrom the context\nhello world\n", stdout);
        Assert.Equal("", stderr);
        Assert.Equal(0, status);

        var (second, secondId) = await BuildAsync();
        Assert.Contains("Using cache", second, StringComparison.Ordinal);
        Assert.Equal(firstId, secondId);
    }

    [Fact]
    public async Task Build_with_a_failing_run_reports_the_error_in_the_stream_and_leaves_no_image()
    {
        var ct = Bounded();
        var context = TempDir();
        await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), "FROM busybox\nRUN echo about to fail; exit 4\n", ct);
        var reference = Names.Unique("client-build-fail") + ":latest";
        _images.Add(reference);
        var messages = new List<JsonMessage>();
        await foreach (var m in _client.Images.BuildAsync(context, new BuildOptions { Tags = [reference] }, ct))
        {
            messages.Add(m);
        }
        var error = Assert.Single(messages, m => m.error is not null);
        Assert.Equal("The command '/bin/sh -c echo about to fail; exit 4' returned a non-zero code: 4", error.error);
        Assert.Equal(4, error.errorDetail?.code);
        Assert.Contains(messages, m => m.stream?.Contains("about to fail", StringComparison.Ordinal) == true);
        await Assert.ThrowsAsync<MockerNotFoundException>(() => _client.Images.InspectAsync(reference, ct));
    }
}

using System.Globalization;
using Mocker.Client;
using Mocker.Integration.Tests.Infrastructure;
using Xunit;

namespace Mocker.Integration.Tests;

/// <summary>Events, restart policies, pause and health checks through the docker and mocker CLIs (issue 5, "Resources and lifecycle").</summary>
[Collection(DaemonCollection.Name)]
public sealed class LifecycleTests(DaemonFixture fixture)
{
    private readonly DaemonInstance _d = fixture.Daemon;

    private static string Unix(DateTimeOffset t) =>
        ((t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (decimal)TimeSpan.TicksPerSecond).ToString("0.000000000", CultureInfo.InvariantCulture);

    [Fact]
    public async Task Docker_events_since_until_shows_the_runs_lifecycle()
    {
        var name = Names.Unique("it-ev");
        var t0 = DateTimeOffset.UtcNow.AddSeconds(-1);
        Expect.Ok(await _d.DockerAsync("run", "--rm", "--name", name, "--label", "evtest=1", "busybox", "true"));
        var r = Expect.Ok(await _d.DockerAsync("events", "--since", Unix(t0), "--until", Unix(DateTimeOffset.UtcNow),
            "--filter", "container=" + name, "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.image}}"));
        var lines = Expect.Lines(r.Stdout);
        Assert.Equal(
            new[] { "create", "attach", "start", "die", "destroy" }.Select(a => $"container {a} {name} busybox"),
            lines);
    }

    [Fact]
    public async Task Event_filters_select_by_event_label_and_type()
    {
        var name = Names.Unique("it-evf");
        var t0 = DateTimeOffset.UtcNow.AddSeconds(-1);
        Expect.Exit(await _d.DockerAsync("run", "--rm", "--name", name, "--label", "evf=" + name, "busybox", "sh", "-c", "exit 3"), 3);
        var until = Unix(DateTimeOffset.UtcNow);
        var die = Expect.Ok(await _d.MockerAsync("events", "--since", Unix(t0), "--until", until,
            "--filter", "event=die", "--filter", "label=evf=" + name, "--format", "{{.status}} {{.Actor.Attributes.exitCode}}"));
        Assert.Equal(["die 3"], Expect.Lines(die.Stdout));
        var images = Expect.Ok(await _d.MockerAsync("events", "--since", Unix(t0), "--until", until,
            "--filter", "type=image", "--filter", "label=evf=" + name));
        Assert.Empty(Expect.Lines(images.Stdout));
        var plain = Expect.Ok(await _d.MockerAsync("events", "--since", Unix(t0), "--until", until, "--filter", "container=" + name, "--filter", "event=destroy"));
        var line = Assert.Single(Expect.Lines(plain.Stdout));
        Assert.Matches($"^\\d{{4}}-\\d\\d-\\d\\dT[0-9:.]+(Z|[+-]\\d\\d:\\d\\d) container destroy [0-9a-f]{{64}} \\(evf={name}, image=busybox, name={name}\\)$", line);
    }

    [Fact]
    public async Task Events_stream_until_a_future_until_time_then_end()
    {
        var name = Names.Unique("it-evl");
        var t0 = DateTimeOffset.UtcNow.AddSeconds(-1);
        var until = DateTimeOffset.UtcNow.AddSeconds(8);
        // since makes the result independent of whether the stream was open before the run (replayed) or not (live).
        var events = _d.DockerAsync("events", "--since", Unix(t0), "--until", Unix(until), "--filter", "container=" + name, "--filter", "event=start", "--format", "{{.Action}}");
        Expect.Ok(await _d.DockerAsync("run", "-d", "--name", name, "busybox", "sleep", "1000"));
        try
        {
            var r = Expect.Ok(await events);
            Assert.True(DateTimeOffset.UtcNow >= until);
            Assert.Contains("start", Expect.Lines(r.Stdout));
        }
        finally
        {
            Expect.Ok(await _d.DockerAsync("rm", "-f", name));
        }
    }

    /// <summary>Reads the event stream from <paramref name="since"/> until <paramref name="count"/> events matched.</summary>
    private static async Task<List<Mocker.Api.EventMessage>> NextEventsAsync(DaemonInstance d, DateTimeOffset since, int count, params (string Key, string Value)[] filters)
    {
        using var client = new MockerClient(d.Host);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var map = filters.GroupBy(f => f.Key).ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.Select(f => f.Value).ToList());
        var got = new List<Mocker.Api.EventMessage>();
        await foreach (var m in client.System.EventsAsync(Unix(since), null, map, cts.Token))
        {
            got.Add(m);
            if (got.Count == count)
            {
                break;
            }
        }
        return got;
    }

    [Fact]
    public async Task Restart_on_failure_2_restarts_exactly_twice_then_stays_exited()
    {
        var name = Names.Unique("it-rof");
        var t0 = DateTimeOffset.UtcNow.AddSeconds(-1);
        try
        {
            Expect.Ok(await _d.DockerAsync("run", "-d", "--name", name, "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 1"));
            var dies = await NextEventsAsync(_d, t0, 3, ("container", name), ("event", "die"));
            Assert.All(dies, m => Assert.Equal("1", m.Actor.Attributes["exitCode"]));
            var state = Expect.Ok(await _d.DockerAsync("inspect", "--format", "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}", name));
            Assert.Equal("2 exited 1", state.Stdout.Trim());
        }
        finally
        {
            await _d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task Restart_always_restarts_after_exit_and_stop_ends_it()
    {
        var name = Names.Unique("it-ra");
        var t0 = DateTimeOffset.UtcNow.AddSeconds(-1);
        try
        {
            Expect.Ok(await _d.MockerAsync("run", "-d", "--name", name, "--restart", "always", "busybox", "true"));
            var starts = await NextEventsAsync(_d, t0, 3, ("container", name), ("event", "start"));
            Assert.Equal(3, starts.Count);
            Expect.Ok(await _d.DockerAsync("stop", name));
            var state = Expect.Ok(await _d.DockerAsync("inspect", "--format", "{{.State.Status}} {{.State.Restarting}} {{.HostConfig.RestartPolicy.Name}}", name));
            Assert.Equal("exited false always", state.Stdout.Trim());
            var count = int.Parse(Expect.Ok(await _d.DockerAsync("inspect", "--format", "{{.RestartCount}}", name)).Stdout.Trim(), CultureInfo.InvariantCulture);
            Assert.True(count >= 2, $"RestartCount {count}");
        }
        finally
        {
            await _d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task Restart_policies_are_honoured_when_mockerd_starts_again()
    {
        await using var d = await DaemonInstance.StartNewAsync();
        await d.BootstrapBusyboxAsync();
        Expect.Ok(await d.DockerAsync("run", "-d", "--name", "crashed", "--restart", "unless-stopped", "busybox", "sleep", "1000"));
        Expect.Ok(await d.DockerAsync("run", "-d", "--name", "stopped", "--restart", "unless-stopped", "busybox", "sleep", "1000"));
        Expect.Ok(await d.DockerAsync("stop", "-t", "0", "stopped"));
        var pid = Expect.Ok(await d.DockerAsync("inspect", "--format", "{{.State.Pid}}", "crashed")).Stdout.Trim();
        await d.KillAsync();
        // The container dies while no daemon watches it.
        Expect.Ok(await Proc.RunAsync("kill", ["-KILL", pid]));
        var t0 = DateTimeOffset.UtcNow.AddSeconds(-1);
        await d.StartAsync();
        await NextEventsAsync(d, t0, 1, ("container", "crashed"), ("event", "start"));
        var crashed = Expect.Ok(await d.DockerAsync("inspect", "--format", "{{.State.Status}} {{.RestartCount}}", "crashed"));
        Assert.Equal("running 1", crashed.Stdout.Trim());
        var stopped = Expect.Ok(await d.DockerAsync("inspect", "--format", "{{.State.Status}}", "stopped"));
        Assert.Equal("exited", stopped.Stdout.Trim());
        Expect.Ok(await d.DockerAsync("rm", "-f", "crashed", "stopped"));
    }

    [Fact]
    public async Task Pause_freezes_the_container_and_unpause_thaws_it()
    {
        var name = Names.Unique("it-pause");
        var t0 = DateTimeOffset.UtcNow.AddSeconds(-1);
        try
        {
            Expect.Ok(await _d.DockerAsync("run", "-d", "--name", name, "busybox", "sleep", "1000"));
            var id = Expect.Ok(await _d.DockerAsync("inspect", "--format", "{{.Id}}", name)).Stdout.Trim();
            var notPaused = Expect.Exit(await _d.DockerAsync("unpause", name), 1);
            Assert.Contains($"Container {id} is not paused", notPaused.Stderr, StringComparison.Ordinal);

            Assert.Equal(name + "\n", Expect.Ok(await _d.MockerAsync("pause", name)).Stdout);
            var state = Expect.Ok(await _d.DockerAsync("inspect", "--format", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", name));
            Assert.Equal("paused true true", state.Stdout.Trim());
            var pid = Expect.Ok(await _d.DockerAsync("inspect", "--format", "{{.State.Pid}}", name)).Stdout.Trim();
            // The kernel reports a frozen task in state D (or T on older freezers); never R/S.
            var procState = (await File.ReadAllTextAsync($"/proc/{pid}/stat")).Split(") ")[1][0];
            Assert.NotEqual('S', procState);
            var ps = Expect.Ok(await _d.DockerAsync("ps", "--filter", "name=" + name, "--format", "{{.Status}}"));
            Assert.EndsWith("(Paused)", ps.Stdout.Trim(), StringComparison.Ordinal);
            var again = Expect.Exit(await _d.DockerAsync("pause", name), 1);
            Assert.Contains($"Container {id} is already paused", again.Stderr, StringComparison.Ordinal);
            var exec = Expect.Exit(await _d.DockerAsync("exec", name, "true"), 1);
            Assert.Contains("is paused, unpause the container before exec", exec.Stderr, StringComparison.Ordinal);

            Expect.Ok(await _d.DockerAsync("unpause", name));
            Assert.Equal("running false true", Expect.Ok(await _d.DockerAsync("inspect", "--format", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", name)).Stdout.Trim());
            Expect.Ok(await _d.DockerAsync("exec", name, "true"));
            var events = await NextEventsAsync(_d, t0, 2, ("container", name), ("event", "pause"), ("event", "unpause"));
            Assert.Equal(["pause", "unpause"], events.Select(m => m.Action));

            Expect.Ok(await _d.DockerAsync("pause", name));
            Expect.Ok(await _d.DockerAsync("rm", "-f", name));
        }
        finally
        {
            await _d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task Pausing_a_stopped_container_is_a_conflict()
    {
        var name = Names.Unique("it-pause-x");
        try
        {
            Expect.Ok(await _d.DockerAsync("create", "--name", name, "busybox", "true"));
            var id = Expect.Ok(await _d.DockerAsync("inspect", "--format", "{{.Id}}", name)).Stdout.Trim();
            var r = Expect.Exit(await _d.DockerAsync("pause", name), 1);
            Assert.Contains($"Container {id} is not running", r.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await _d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task Health_goes_starting_healthy_unhealthy_as_the_check_starts_failing()
    {
        var name = Names.Unique("it-health");
        var t0 = DateTimeOffset.UtcNow.AddSeconds(-1);
        try
        {
            Expect.Ok(await _d.MockerAsync("run", "-d", "--name", name, "--health-cmd", "test ! -e /tmp/bad", "--health-interval", "200ms",
                "--health-retries", "2", "--health-timeout", "5s", "busybox", "sleep", "1000"));
            var healthy = await NextEventsAsync(_d, t0, 1, ("container", name), ("event", "health_status"));
            Assert.Equal("health_status: healthy", healthy[0].Action);
            var ps = Expect.Ok(await _d.DockerAsync("ps", "--filter", "name=" + name, "--format", "{{.Status}}"));
            Assert.EndsWith("(healthy)", ps.Stdout.Trim(), StringComparison.Ordinal);

            var t1 = DateTimeOffset.UtcNow;
            Expect.Ok(await _d.DockerAsync("exec", name, "touch", "/tmp/bad"));
            var unhealthy = await NextEventsAsync(_d, t1, 1, ("container", name), ("event", "health_status"));
            Assert.Equal("health_status: unhealthy", unhealthy[0].Action);
            var state = Expect.Ok(await _d.DockerAsync("inspect", "--format",
                "{{.State.Health.Status}} {{.State.Health.FailingStreak}} {{len .State.Health.Log}} {{(index .State.Health.Log 0).ExitCode}} {{json .Config.Healthcheck.Test}}", name));
            var parts = state.Stdout.Trim().Split(' ');
            Assert.Equal("unhealthy", parts[0]);
            Assert.True(int.Parse(parts[1], CultureInfo.InvariantCulture) >= 2, state.Stdout);
            Assert.InRange(int.Parse(parts[2], CultureInfo.InvariantCulture), 2, 5);
            Assert.Equal("[\"CMD-SHELL\",\"test ! -e /tmp/bad\"]", parts[4] + " " + parts[5] + " " + parts[6] + " " + parts[7]);
            var ps2 = Expect.Ok(await _d.DockerAsync("ps", "--filter", "name=" + name, "--format", "{{.Status}}"));
            Assert.EndsWith("(unhealthy)", ps2.Stdout.Trim(), StringComparison.Ordinal);
        }
        finally
        {
            await _d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task No_healthcheck_disables_the_check()
    {
        var name = Names.Unique("it-nohealth");
        try
        {
            Expect.Ok(await _d.MockerAsync("create", "--name", name, "--no-healthcheck", "busybox", "true"));
            var r = Expect.Ok(await _d.DockerAsync("inspect", "--format", "{{json .Config.Healthcheck.Test}} {{json .State.Health}}", name));
            Assert.Equal("[\"NONE\"] null", r.Stdout.Trim());
            var conflict = Expect.Exit(await _d.MockerAsync("create", "--no-healthcheck", "--health-cmd", "true", "busybox", "true"), 125);
            Assert.Contains("--no-healthcheck conflicts with --health-* options", conflict.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await _d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task Tag_and_rmi_emit_image_events()
    {
        var repo = Names.Unique("ev-img");
        var t0 = DateTimeOffset.UtcNow.AddSeconds(-1);
        Expect.Ok(await _d.DockerAsync("tag", "busybox", repo + ":1"));
        Expect.Ok(await _d.DockerAsync("rmi", repo + ":1"));
        var id = Expect.Ok(await _d.DockerAsync("image", "inspect", "--format", "{{.Id}}", "busybox")).Stdout.Trim();
        var r = Expect.Ok(await _d.DockerAsync("events", "--since", Unix(t0), "--until", Unix(DateTimeOffset.UtcNow),
            "--filter", "type=image", "--filter", "image=" + repo + ":1", "--format", "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}"));
        Assert.Equal([$"image tag {id} {repo}:1", $"image untag {id} {repo}:1"], Expect.Lines(r.Stdout));
    }

    [Fact]
    public async Task Save_and_load_emit_image_events()
    {
        var tar = Path.Combine(Path.GetTempPath(), Names.Unique("ev-save") + ".tar");
        try
        {
            var t0 = DateTimeOffset.UtcNow.AddSeconds(-1);
            Expect.Ok(await _d.DockerAsync("save", "-o", tar, "busybox"));
            Expect.Ok(await _d.DockerAsync("load", "-i", tar));
            var id = Expect.Ok(await _d.DockerAsync("image", "inspect", "--format", "{{.Id}}", "busybox")).Stdout.Trim();
            var r = Expect.Ok(await _d.DockerAsync("events", "--since", Unix(t0), "--until", Unix(DateTimeOffset.UtcNow),
                "--filter", "type=image", "--filter", "event=save", "--filter", "event=load", "--format", "{{.Action}} {{.Actor.ID}}"));
            Assert.Equal([$"save {id}", $"load {id}"], Expect.Lines(r.Stdout));
        }
        finally
        {
            File.Delete(tar);
        }
    }
}

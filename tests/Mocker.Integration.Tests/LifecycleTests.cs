using System.Globalization;
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
}

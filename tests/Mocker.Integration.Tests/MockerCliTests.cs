using Mocker.Integration.Tests.Infrastructure;
using Xunit;

namespace Mocker.Integration.Tests;

/// <summary>The mocker CLI against mockerd: the docker-compatible verbs plus <c>image bootstrap</c>.</summary>
[Collection(DaemonCollection.Name)]
public sealed class MockerCliTests(DaemonFixture fixture)
{
    private readonly DaemonInstance _d = fixture.Daemon;

    [Fact]
    public async Task Run_rm_prints_output_and_returns_exit_code()
    {
        var r = Expect.Ok(await _d.MockerAsync("run", "--rm", "busybox", "echo", "hello mocker"));
        Assert.Equal("hello mocker\n", r.Stdout);
        Expect.Exit(await _d.MockerAsync("run", "--rm", "busybox", "sh", "-c", "exit 6"), 6);
    }

    [Fact]
    public async Task Detached_run_ps_exec_and_forced_rm()
    {
        var name = Names.Unique("it-m");
        try
        {
            var run = Expect.Ok(await _d.MockerAsync("run", "-d", "--name", name, "busybox", "sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"));
            var id = run.Stdout.Trim();
            Assert.Matches("^[0-9a-f]{64}$", id);

            var quiet = Expect.Ok(await _d.MockerAsync("ps", "-a", "-q"));
            Assert.Contains(id[..12], Expect.Lines(quiet.Stdout));
            var names = Expect.Ok(await _d.MockerAsync("ps", "-a", "--format", "{{.Names}}"));
            Assert.Contains(name, Expect.Lines(names.Stdout));

            Expect.Exit(await _d.MockerAsync("exec", name, "sh", "-c", "exit 4"), 4);
            var exec = Expect.Ok(await _d.MockerAsync("exec", name, "cat", "/proc/1/cmdline"));
            Assert.StartsWith("sh", exec.Stdout, StringComparison.Ordinal);

            Expect.Ok(await _d.MockerAsync("rm", "-f", name));
            var after = Expect.Ok(await _d.MockerAsync("ps", "-a", "-q"));
            Assert.DoesNotContain(id[..12], Expect.Lines(after.Stdout));
        }
        finally
        {
            await _d.MockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task Logs_tail_returns_the_last_lines()
    {
        var name = Names.Unique("it-logs");
        try
        {
            // Foreground run: it returns after the container exited, so the log is complete.
            var run = Expect.Ok(await _d.MockerAsync("run", "--name", name, "busybox", "sh", "-c", "echo one; echo two; echo three"));
            Assert.Equal("one\ntwo\nthree\n", run.Stdout);
            var tail = Expect.Ok(await _d.MockerAsync("logs", "--tail", "2", name));
            Assert.Equal("two\nthree\n", tail.Stdout);
        }
        finally
        {
            await _d.MockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task Tag_then_rmi_untags_and_keeps_the_source()
    {
        var tag = Names.Unique("it-tag") + ":v1";
        try
        {
            Expect.Ok(await _d.MockerAsync("tag", "busybox", tag));
            var images = Expect.Ok(await _d.MockerAsync("images", "--format", "{{.Repository}}:{{.Tag}}"));
            Assert.Contains(tag, Expect.Lines(images.Stdout));

            var rmi = Expect.Ok(await _d.MockerAsync("rmi", tag));
            Assert.Contains($"Untagged: {tag}", rmi.Stdout, StringComparison.Ordinal);
            var after = Expect.Ok(await _d.MockerAsync("images", "--format", "{{.Repository}}:{{.Tag}}"));
            Assert.DoesNotContain(tag, Expect.Lines(after.Stdout));
            Assert.Contains("busybox:latest", Expect.Lines(after.Stdout));
        }
        finally
        {
            await _d.MockerAsync("rmi", "-f", tag);
        }
    }

    [Fact]
    public async Task Import_with_change_sets_the_command()
    {
        var tag = Names.Unique("it-mimport") + ":1";
        var dir = Path.Combine(_d.Root, Names.Unique("mimport"));
        try
        {
            var tar = await Tarballs.WriteBusyboxRootfsAsync(dir, "via mocker import\n");
            Expect.Ok(await _d.MockerAsync("import", "--change", "CMD [\"/bin/busybox\", \"cat\", \"/hello.txt\"]", tar, tag));
            var run = Expect.Ok(await _d.MockerAsync("run", "--rm", tag));
            Assert.Equal("via mocker import\n", run.Stdout);
        }
        finally
        {
            await _d.MockerAsync("rmi", "-f", tag);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Image_bootstrap_busybox_is_repeatable()
    {
        Expect.Ok(await _d.MockerAsync("image", "bootstrap", "busybox"));
        var images = Expect.Ok(await _d.MockerAsync("images", "--format", "{{.Repository}}:{{.Tag}}"));
        Assert.Contains("busybox:latest", Expect.Lines(images.Stdout));
        var run = Expect.Ok(await _d.MockerAsync("run", "--rm", "busybox", "busybox", "true"));
        Assert.Equal("", run.Stdout);
    }

    [Fact]
    public async Task Build_with_build_arg_no_cache_then_cache_hit()
    {
        var tag1 = Names.Unique("it-mbuild") + ":1";
        var tag2 = Names.Unique("it-mbuild") + ":2";
        var context = Path.Combine(_d.Root, Names.Unique("mctx"));
        Directory.CreateDirectory(context);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(context, "Mockerfile"), """
                FROM busybox
                ARG VALUE=unset
                RUN echo "value=$VALUE" > /value.txt
                CMD ["cat", "/value.txt"]
                """);
            var first = Expect.Ok(await _d.MockerAsync("build", "--no-cache", "--build-arg", "VALUE=one", "-t", tag1, context));
            Assert.DoesNotContain("Using cache", first.Stdout, StringComparison.Ordinal);

            var second = Expect.Ok(await _d.MockerAsync("build", "--build-arg", "VALUE=one", "-t", tag2, context));
            Assert.Contains("Using cache", second.Stdout, StringComparison.Ordinal);

            var ids = Expect.Ok(await _d.MockerAsync("image", "inspect", "-f", "{{.Id}}", tag1, tag2));
            var lines = Expect.Lines(ids.Stdout);
            Assert.Equal(2, lines.Count);
            Assert.Equal(lines[0], lines[1]);

            var run = Expect.Ok(await _d.MockerAsync("run", "--rm", tag2));
            Assert.Equal("value=one\n", run.Stdout);
        }
        finally
        {
            await _d.MockerAsync("rmi", "-f", tag1, tag2);
            Directory.Delete(context, recursive: true);
        }
    }

    [Fact]
    public async Task Unknown_flag_exits_125()
    {
        var r = Expect.Exit(await _d.MockerAsync("ps", "--no-such-flag"), 125);
        Assert.Contains("no-such-flag", r.Stderr, StringComparison.Ordinal);
    }
}

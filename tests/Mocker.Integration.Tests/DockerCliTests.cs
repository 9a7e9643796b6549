using Mocker.Integration.Tests.Infrastructure;
using Xunit;

namespace Mocker.Integration.Tests;

/// <summary>
/// The docker CLI 28 (client only) against mockerd, through DOCKER_HOST=unix://…: the workflows of
/// engine-api-trace.md §1 must behave as they do against dockerd.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class DockerCliTests(DaemonFixture fixture)
{
    private readonly DaemonInstance _d = fixture.Daemon;

    [Fact]
    public async Task Version_reports_client_and_server_with_api_1_41()
    {
        var r = Expect.Ok(await _d.DockerAsync("version", "--format", "{{.Server.APIVersion}}|{{.Server.Os}}"));
        Assert.Equal("1.41|linux", r.Stdout.Trim());
    }

    [Fact]
    public async Task Info_reports_the_daemon()
    {
        var r = Expect.Ok(await _d.DockerAsync("info", "--format", "{{.OSType}}|{{.Driver}}"));
        Assert.Equal("linux|overlay2", r.Stdout.Trim());
    }

    [Fact]
    public async Task Run_rm_echo_prints_and_leaves_no_container()
    {
        var before = await _d.ContainerIdsAsync();
        var r = Expect.Ok(await _d.DockerAsync("run", "--rm", "busybox", "echo", "hi"));
        Assert.Equal("hi\n", r.Stdout);
        Assert.Equal(before.Order(), (await _d.ContainerIdsAsync()).Order());
    }

    [Fact]
    public async Task Run_returns_the_container_exit_code()
    {
        Expect.Exit(await _d.DockerAsync("run", "--rm", "busybox", "sh", "-c", "exit 3"), 3);
    }

    [Fact]
    public async Task Run_of_a_missing_command_exits_127()
    {
        var r = Expect.Exit(await _d.DockerAsync("run", "--rm", "busybox", "nosuchcmd"), 127);
        Assert.Contains("nosuchcmd", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_i_pipes_stdin_into_the_container()
    {
        var r = Expect.Ok(await _d.DockerWithInputAsync("data\n", "run", "-i", "--rm", "busybox", "cat"));
        Assert.Equal("data\n", r.Stdout);
    }

    [Fact]
    public async Task Detached_container_lifecycle_ps_exec_stop_logs_rm()
    {
        var name = Names.Unique("it-web");
        try
        {
            // The TERM trap lets `stop` end the container at once with exit code 0.
            var run = Expect.Ok(await _d.DockerAsync(
                "run", "-d", "--name", name, "busybox", "sh", "-c", "trap 'exit 0' TERM; echo started; sleep 1000 & wait"));
            var id = run.Stdout.Trim();
            Assert.Matches("^[0-9a-f]{64}$", id);

            var ps = Expect.Ok(await _d.DockerAsync("ps", "-a", "--format", "{{.Names}} {{.ID}}"));
            Assert.Contains($"{name} {id[..12]}", Expect.Lines(ps.Stdout));

            var running = Expect.Ok(await _d.DockerAsync("ps", "--format", "{{.Names}}"));
            Assert.Contains(name, Expect.Lines(running.Stdout));

            var exec = Expect.Ok(await _d.DockerAsync("exec", name, "echo", "from-exec"));
            Assert.Equal("from-exec\n", exec.Stdout);
            Expect.Exit(await _d.DockerAsync("exec", name, "sh", "-c", "exit 5"), 5);

            Expect.Ok(await _d.DockerAsync("stop", name));
            var state = Expect.Ok(await _d.DockerAsync("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name));
            Assert.Equal("exited 0", state.Stdout.Trim());

            // The process echoed before it could be stopped, so the log is complete now.
            var logs = Expect.Ok(await _d.DockerAsync("logs", name));
            Assert.Equal("started\n", logs.Stdout);

            Expect.Ok(await _d.DockerAsync("rm", name));
            var after = Expect.Ok(await _d.DockerAsync("ps", "-a", "--format", "{{.Names}}"));
            Assert.DoesNotContain(name, Expect.Lines(after.Stdout));
        }
        finally
        {
            await _d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task Images_lists_busybox()
    {
        var r = Expect.Ok(await _d.DockerAsync("images", "--format", "{{.Repository}}:{{.Tag}}"));
        Assert.Contains("busybox:latest", Expect.Lines(r.Stdout));
    }

    [Fact]
    public async Task System_prune_removes_stopped_containers_and_keeps_tagged_images()
    {
        var name = Names.Unique("pruned");
        Expect.Ok(await _d.DockerAsync("run", "--name", name, "--label", "prune-test=" + name, "busybox", "true"));
        // docker system prune also prunes networks and the build cache: every endpoint it calls must answer.
        var r = Expect.Ok(await _d.DockerAsync("system", "prune", "-f", "--filter", "label=prune-test=" + name));
        Assert.Contains("Total reclaimed space", r.Stdout, StringComparison.Ordinal);
        Assert.NotEqual(0, (await _d.DockerAsync("inspect", "--type", "container", name)).ExitCode);
        Assert.Contains("busybox:latest", Expect.Lines(Expect.Ok(await _d.DockerAsync("images", "--format", "{{.Repository}}:{{.Tag}}")).Stdout));
    }

    [Fact]
    public async Task Inspect_resolves_containers_and_images_and_reports_missing_objects()
    {
        var name = Names.Unique("it-insp");
        try
        {
            Expect.Ok(await _d.DockerAsync("create", "--name", name, "busybox", "true"));
            var container = Expect.Ok(await _d.DockerAsync("inspect", "-f", "{{.Name}} {{.State.Status}} {{.Path}}", name));
            Assert.Equal($"/{name} created true", container.Stdout.Trim());

            // No container is called busybox: the CLI falls back to the image on the container's 404.
            var image = Expect.Ok(await _d.DockerAsync("inspect", "-f", "{{.Os}} {{.RootFS.Type}}", "busybox"));
            Assert.Equal("linux layers", image.Stdout.Trim());

            var missing = Expect.Exit(await _d.DockerAsync("inspect", "nosuch-object-xyz"), 1);
            Assert.Contains("No such object", missing.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await _d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task Build_with_the_legacy_builder_then_run_the_image()
    {
        var tag = Names.Unique("it-built") + ":1";
        var context = Path.Combine(_d.Root, Names.Unique("ctx"));
        Directory.CreateDirectory(context);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(context, "msg.txt"), "hello from the context\n");
            await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), """
                FROM busybox
                ARG SUFFIX=default
                ENV GREETING=howdy
                COPY msg.txt /msg.txt
                RUN cat /msg.txt > /built.txt && echo "$GREETING-$SUFFIX" >> /built.txt
                WORKDIR /srv
                CMD ["sh", "-c", "cat /built.txt; pwd"]
                """);
            var build = Expect.Ok(await _d.DockerAsync("build", "-t", tag, "--build-arg", "SUFFIX=arg", context));
            Assert.Contains("Successfully tagged", build.Stdout, StringComparison.Ordinal);

            var run = Expect.Ok(await _d.DockerAsync("run", "--rm", tag));
            Assert.Equal("hello from the context\nhowdy-arg\n/srv\n", run.Stdout);
        }
        finally
        {
            await _d.DockerAsync("rmi", "-f", tag);
            Directory.Delete(context, recursive: true);
        }
    }

    [Fact]
    public async Task Import_of_a_rootfs_tar_with_change_then_run()
    {
        var tag = Names.Unique("it-imported") + ":1";
        var dir = Path.Combine(_d.Root, Names.Unique("import"));
        try
        {
            var tar = await Tarballs.WriteBusyboxRootfsAsync(dir, "imported content\n");
            var import = Expect.Ok(await _d.DockerAsync("import", "-c", "CMD [\"/bin/busybox\", \"cat\", \"/hello.txt\"]", "-m", "it import", tar, tag));
            Assert.Matches("sha256:[0-9a-f]{64}", import.Stdout);

            var run = Expect.Ok(await _d.DockerAsync("run", "--rm", tag));
            Assert.Equal("imported content\n", run.Stdout);

            var history = Expect.Ok(await _d.DockerAsync("history", "--format", "{{.Comment}}", tag));
            Assert.Contains("it import", history.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await _d.DockerAsync("rmi", "-f", tag);
            Directory.Delete(dir, recursive: true);
        }
    }
}

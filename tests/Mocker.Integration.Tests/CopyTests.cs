using System.Formats.Tar;
using System.Text;
using Mocker.Integration.Tests.Infrastructure;
using Xunit;

namespace Mocker.Integration.Tests;

/// <summary>
/// docker cp and docker diff against mockerd (engine-api-trace.md §1.14, §1.20), both ways, on running and stopped
/// containers; and the CVE-2018-15664 class: symlinks inside the container never lead a copy to the host.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class CopyTests(DaemonFixture fixture) : IDisposable
{
    private readonly DaemonInstance _d = fixture.Daemon;
    private readonly string _host = Directory.CreateTempSubdirectory("mocker-cp-test-").FullName;
    private readonly List<string> _containers = [];

    public void Dispose()
    {
        foreach (var c in _containers)
        {
            _d.DockerAsync("rm", "-f", c).GetAwaiter().GetResult();
        }
        Directory.Delete(_host, recursive: true);
    }

    private async Task<string> RunningAsync(string setup)
    {
        var name = Names.Unique("it-cp");
        _containers.Add(name);
        Expect.Ok(await _d.DockerAsync("run", "-d", "--name", name, "busybox", "sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"));
        Expect.Ok(await _d.DockerAsync("exec", name, "sh", "-c", setup));
        return name;
    }

    private async Task<string> StoppedAsync(string setup)
    {
        var name = Names.Unique("it-cp");
        _containers.Add(name);
        Expect.Ok(await _d.DockerAsync("run", "--name", name, "busybox", "sh", "-c", setup));
        return name;
    }

    private Task<ProcResult> ShellAsync(string script) => Proc.RunAsync("/bin/sh", ["-c", script], _d.DockerEnv);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Docker_cp_copies_a_file_and_a_directory_in_and_out(bool running)
    {
        const string setup = "mkdir -p /data/sub && echo inside > /data/sub/f.txt";
        var c = running ? await RunningAsync(setup) : await StoppedAsync(setup);
        File.WriteAllText(Path.Combine(_host, "single.txt"), "single\n");
        Directory.CreateDirectory(Path.Combine(_host, "cpdir", "sub"));
        File.WriteAllText(Path.Combine(_host, "cpdir", "a.txt"), "a\n");
        File.WriteAllText(Path.Combine(_host, "cpdir", "sub", "b.txt"), "b\n");

        Expect.Ok(await _d.DockerAsync("cp", Path.Combine(_host, "single.txt"), $"{c}:/single.txt"));
        Expect.Ok(await _d.DockerAsync("cp", Path.Combine(_host, "cpdir"), $"{c}:/"));
        Expect.Ok(await _d.DockerAsync("cp", $"{c}:/single.txt", Path.Combine(_host, "back.txt")));
        Expect.Ok(await _d.DockerAsync("cp", $"{c}:/cpdir", Path.Combine(_host, "cpout")));
        Expect.Ok(await _d.DockerAsync("cp", $"{c}:/data", Path.Combine(_host, "dataout")));

        Assert.Equal("single\n", File.ReadAllText(Path.Combine(_host, "back.txt")));
        Assert.Equal("a\n", File.ReadAllText(Path.Combine(_host, "cpout", "a.txt")));
        Assert.Equal("b\n", File.ReadAllText(Path.Combine(_host, "cpout", "sub", "b.txt")));
        Assert.Equal("inside\n", File.ReadAllText(Path.Combine(_host, "dataout", "sub", "f.txt")));

        var missing = await _d.DockerAsync("cp", $"{c}:/nonexistent", Path.Combine(_host, "x"));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains($"Could not find the file /nonexistent in container {c}", missing.Stderr, StringComparison.Ordinal);
        var noParent = await _d.DockerAsync("cp", Path.Combine(_host, "single.txt"), $"{c}:/nodir/x.txt");
        Assert.NotEqual(0, noParent.ExitCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Mocker_cp_copies_files_directories_and_contents_both_ways(bool running)
    {
        const string setup = "mkdir -p /data/sub && echo inside > /data/sub/f.txt && ln -s /data/sub/f.txt /flink";
        var c = running ? await RunningAsync(setup) : await StoppedAsync(setup);
        File.WriteAllText(Path.Combine(_host, "single.txt"), "single\n");
        Directory.CreateDirectory(Path.Combine(_host, "cpdir", "sub"));
        File.WriteAllText(Path.Combine(_host, "cpdir", "sub", "b.txt"), "b\n");

        Expect.Ok(await _d.MockerAsync("cp", Path.Combine(_host, "single.txt"), $"{c}:/renamed.txt"));
        Expect.Ok(await _d.MockerAsync("cp", Path.Combine(_host, "cpdir"), $"{c}:/"));
        Expect.Ok(await _d.MockerAsync("cp", Path.Combine(_host, "cpdir") + "/.", $"{c}:/data"));
        Expect.Ok(await _d.MockerAsync("cp", $"{c}:/renamed.txt", Path.Combine(_host, "back.txt")));
        Expect.Ok(await _d.MockerAsync("cp", $"{c}:/cpdir", Path.Combine(_host, "cpout")));
        Expect.Ok(await _d.MockerAsync("cp", $"{c}:/data/.", Path.Combine(_host, "contents")));
        Expect.Ok(await _d.MockerAsync("cp", "-L", $"{c}:/flink", Path.Combine(_host, "followed.txt")));
        Expect.Ok(await _d.MockerAsync("cp", $"{c}:/flink", Path.Combine(_host, "link")));

        Assert.Equal("single\n", File.ReadAllText(Path.Combine(_host, "back.txt")));
        Assert.Equal("b\n", File.ReadAllText(Path.Combine(_host, "cpout", "sub", "b.txt")));
        Assert.Equal("inside\n", File.ReadAllText(Path.Combine(_host, "contents", "sub", "f.txt")));
        Assert.Equal("b\n", File.ReadAllText(Path.Combine(_host, "contents", "sub", "b.txt")));
        Assert.Equal("inside\n", File.ReadAllText(Path.Combine(_host, "followed.txt")));
        Assert.Equal("/data/sub/f.txt", new FileInfo(Path.Combine(_host, "link")).LinkTarget);

        var missing = await _d.MockerAsync("cp", $"{c}:/nonexistent", Path.Combine(_host, "x"));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains($"Could not find the file /nonexistent in container {c}", missing.Stderr, StringComparison.Ordinal);

        var diff = Expect.Lines(Expect.Ok(await _d.MockerAsync("diff", c)).Stdout);
        Assert.Contains("A /renamed.txt", diff);
        Assert.Contains("A /cpdir/sub/b.txt", diff);
    }

    [Fact]
    public async Task Mocker_cp_dash_and_archive_mode_keep_the_tar_and_its_owners()
    {
        var c = await RunningAsync("echo payload > /p.txt && chown 123:456 /p.txt && mkdir /in /in2");
        var tarPath = Path.Combine(_host, "out.tar");
        Expect.Ok(await Proc.RunAsync("/bin/sh", ["-c", $"{Binaries.Mocker} cp {c}:/p.txt - > {tarPath}"], _d.MockerEnv));
        await using (var reader = new TarReader(File.OpenRead(tarPath)))
        {
            var entry = await reader.GetNextEntryAsync();
            Assert.NotNull(entry);
            Assert.Equal(("p.txt", 123, 456), (entry.Name, entry.Uid, entry.Gid));
        }
        Expect.Ok(await Proc.RunAsync("/bin/sh", ["-c", $"{Binaries.Mocker} cp -a - {c}:/in < {tarPath}"], _d.MockerEnv));
        Expect.Ok(await Proc.RunAsync("/bin/sh", ["-c", $"{Binaries.Mocker} cp - {c}:/in2 < {tarPath}"], _d.MockerEnv));
        Assert.Equal("123:456\n0:0\n", Expect.Ok(await _d.DockerAsync("exec", c, "stat", "-c", "%u:%g", "/in/p.txt", "/in2/p.txt")).Stdout);
    }

    [Fact]
    public async Task Docker_cp_dash_streams_a_tar_out_and_in()
    {
        var c = await RunningAsync("echo payload > /p.txt");
        var tarPath = Path.Combine(_host, "out.tar");
        Expect.Ok(await ShellAsync($"docker cp {c}:/p.txt - > {tarPath}"));
        await using (var reader = new TarReader(File.OpenRead(tarPath)))
        {
            var entry = await reader.GetNextEntryAsync();
            Assert.NotNull(entry);
            Assert.Equal("p.txt", entry.Name);
        }
        Expect.Ok(await _d.DockerAsync("exec", c, "mkdir", "/in"));
        Expect.Ok(await ShellAsync($"docker cp - {c}:/in < {tarPath}"));
        Assert.Equal("payload\n", Expect.Ok(await _d.DockerAsync("exec", c, "cat", "/in/p.txt")).Stdout);
    }

    [Fact]
    public async Task Archive_endpoints_carry_the_stat_header_and_a_bodiless_head_404()
    {
        var c = await StoppedAsync("echo hi > /f.txt");
        using var head = await _d.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/containers/{c}/archive?path=%2Ff.txt"));
        Assert.Equal(200, (int)head.StatusCode);
        var stat = Encoding.UTF8.GetString(Convert.FromBase64String(head.Headers.GetValues("X-Docker-Container-Path-Stat").Single()));
        Assert.Contains("\"name\":\"f.txt\",\"size\":3,\"mode\":420,", stat, StringComparison.Ordinal);

        using var missing = await _d.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/containers/{c}/archive?path=%2Fnope"));
        Assert.Equal(404, (int)missing.StatusCode);
        Assert.Equal("application/json", missing.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await missing.Content.ReadAsByteArrayAsync());

        using var get = await _d.Http.GetAsync($"/containers/{c}/archive?path=%2F");
        Assert.Equal("application/x-tar", get.Content.Headers.ContentType?.MediaType);
        var root = Encoding.UTF8.GetString(Convert.FromBase64String(get.Headers.GetValues("X-Docker-Container-Path-Stat").Single()));
        Assert.Contains("\"name\":\"/\"", root, StringComparison.Ordinal);
        Assert.Contains($"\"mode\":{(1u << 31) | 0x1ED}", root, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Docker_diff_lists_added_modified_and_deleted_paths()
    {
        var c = await StoppedAsync("mkdir /added && echo x > /added/f && rm /bin/ls && touch /bin/newtool");
        var diff = Expect.Lines(Expect.Ok(await _d.DockerAsync("diff", c)).Stdout);
        Assert.Contains("A /added", diff);
        Assert.Contains("A /added/f", diff);
        Assert.Contains("C /bin", diff);
        Assert.Contains("D /bin/ls", diff);
        Assert.Contains("A /bin/newtool", diff);
        var untouched = await StoppedAsync("true");
        Assert.Equal("", Expect.Ok(await _d.DockerAsync("diff", untouched)).Stdout);
    }

    [Theory]
    [InlineData("docker", true)]
    [InlineData("docker", false)]
    [InlineData("mocker", true)]
    [InlineData("mocker", false)]
    public async Task Hostile_symlinks_in_the_container_never_reach_the_host(string tool, bool running)
    {
        var (cli, env) = tool == "docker" ? (Binaries.Docker, _d.DockerEnv) : (Binaries.Mocker, _d.MockerEnv);
        Task<ProcResult> Cp(params string[] args) => Proc.RunAsync(cli, ["cp", .. args], env);
        Task<ProcResult> Sh(string script) => Proc.RunAsync("/bin/sh", ["-c", script], env);
        var sentinel = Path.Combine("/tmp", "mocker-cp-sentinel-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(sentinel, "host-sentinel\n");
        try
        {
            var sentinelName = Path.GetFileName(sentinel);
            var setup = "mkdir -p /etc /tmp && echo container-passwd-marker > /etc/passwd && ln -s / /escape && ln -s /etc /etc2 " +
                "&& mkdir -p /a/b && ln -s ../../../../../../.. /a/b/up && ln -s /a/b/up /chain " +
                $"&& ln -s {sentinel} /tmp/{sentinelName}";
            var c = running ? await RunningAsync(setup) : await StoppedAsync(setup);
            File.WriteAllText(Path.Combine(_host, "x"), "overwritten\n");

            // Copy out through links that point at "/" and walk "..": always the container's /etc/passwd.
            foreach (var path in new[] { "/escape/etc/passwd", "/etc2/passwd", "/etc2/../../etc/passwd", "/chain/etc/passwd", "/a/b/up/etc/passwd" })
            {
                var tarPath = Path.Combine(_host, "o.tar");
                Expect.Ok(await Sh($"{cli} cp {c}:{path} - > {tarPath}"));
                var text = File.ReadAllText(tarPath);
                Assert.Contains("container-passwd-marker", text, StringComparison.Ordinal);
                Assert.DoesNotContain("root:x:0:0", text, StringComparison.Ordinal);
            }

            // Copy in through the same links and onto a link that names the host sentinel.
            Expect.Ok(await Cp(Path.Combine(_host, "x"), $"{c}:/escape/tmp/x"));
            Expect.Ok(await Cp(Path.Combine(_host, "x"), $"{c}:/chain/tmp/{sentinelName}"));
            Expect.Ok(await Cp(Path.Combine(_host, "x"), $"{c}:/etc2/../../tmp/y"));
            Assert.False(File.Exists("/tmp/x") && File.ReadAllText("/tmp/x") == "overwritten\n");
            Assert.False(File.Exists("/tmp/y"));

            // A tar with "../" entries is refused; one with an absolute symlink and a file beneath it stays inside.
            var evil = Path.Combine(_host, "evil.tar");
            await WriteTarAsync(evil, ("../../../../.." + sentinel, null));
            Assert.NotEqual(0, (await Sh($"{cli} cp - {c}:/tmp < {evil}")).ExitCode);
            var linkTar = Path.Combine(_host, "link.tar");
            await WriteTarAsync(linkTar, ("hostroot", "/"), ("hostroot" + sentinel, null));
            Expect.Ok(await Sh($"{cli} cp - {c}:/ < {linkTar}"));

            Assert.Equal("host-sentinel\n", File.ReadAllText(sentinel));
            foreach (var path in new[] { "/tmp/x", "/tmp/y", "/hostroot" + sentinel })
            {
                var tarPath = Path.Combine(_host, "in.tar");
                Expect.Ok(await Sh($"{cli} cp {c}:{path} - > {tarPath}"));
                Assert.Contains("overwritten", File.ReadAllText(tarPath), StringComparison.Ordinal);
            }
        }
        finally
        {
            File.Delete(sentinel);
        }
    }

    private static async Task WriteTarAsync(string path, params (string Name, string? LinkTarget)[] entries)
    {
        await using var writer = new TarWriter(File.Create(path), TarEntryFormat.Pax, leaveOpen: false);
        foreach (var (name, target) in entries)
        {
            var entry = target is null
                ? new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes("overwritten\n")) }
                : new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target };
            entry.Mode = (UnixFileMode)0b110_100_100;
            await writer.WriteEntryAsync(entry);
        }
    }
}

using System.Diagnostics;
using System.Text.RegularExpressions;
using Mocker.Integration.Tests.Infrastructure;
using Mocker.Tests.Shared;
using Xunit;

namespace Mocker.Integration.Tests;

/// <summary>
/// Registry pull/push, save/load, commit and export/import through mockerd, driven by the mocker CLI and the docker
/// CLI 28 (engine-api-trace.md §1.11–§1.13, §1.17), against a real registry (Debian's docker-registry) on 127.0.0.1.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed partial class DistributionTests(DaemonFixture fixture)
{
    private readonly DaemonInstance _d = fixture.Daemon;

    [GeneratedRegex("digest: (sha256:[0-9a-f]{64})")]
    private static partial Regex PushedDigest();

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("mocker-dist-it-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    private async Task<string> ImageIdAsync(string name) =>
        Expect.Ok(await _d.MockerAsync("image", "inspect", "--format", "{{.Id}}", name)).Stdout.Trim();

    private async Task RemoveImagesAsync(params string[] names)
    {
        foreach (var name in names)
        {
            await _d.MockerAsync("rmi", "-f", name);
        }
    }

    [Fact]
    public async Task Mocker_push_rmi_pull_and_run()
    {
        using var registry = await LocalRegistry.StartAsync();
        var name = $"{registry.Host}/it/bb:1";
        try
        {
            Expect.Ok(await _d.MockerAsync("tag", "busybox", name));
            var push = Expect.Ok(await _d.MockerAsync("push", name));
            Assert.Matches(PushedDigest(), push.Stdout);
            Expect.Ok(await _d.MockerAsync("rmi", name));
            Expect.Exit(await _d.MockerAsync("image", "inspect", name), 1);
            var pull = Expect.Ok(await _d.MockerAsync("pull", name));
            Assert.Contains("Digest: sha256:", pull.Stdout, StringComparison.Ordinal);
            Assert.Equal(await ImageIdAsync("busybox"), await ImageIdAsync(name));
            var run = Expect.Ok(await _d.MockerAsync("run", "--rm", name, "echo", "pulled"));
            Assert.Equal("pulled\n", run.Stdout);

            // run pulls a missing image first, as docker run does (pull policy "missing").
            Expect.Ok(await _d.MockerAsync("rmi", name));
            var autoPull = Expect.Ok(await _d.MockerAsync("run", "--rm", name, "echo", "auto-pulled"));
            Assert.Equal("auto-pulled\n", autoPull.Stdout);
            Assert.Contains($"Unable to find image '{name}' locally", autoPull.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await RemoveImagesAsync(name);
        }
    }

    [Fact]
    public async Task Docker_cli_pushes_and_pulls_by_tag_and_digest()
    {
        using var registry = await LocalRegistry.StartAsync();
        var repo = $"{registry.Host}/it/dk";
        try
        {
            Expect.Ok(await _d.DockerAsync("tag", "busybox", repo + ":2"));
            var push = Expect.Ok(await _d.DockerAsync("push", repo + ":2"));
            var digest = PushedDigest().Match(push.Stdout).Groups[1].Value;
            Assert.StartsWith("sha256:", digest, StringComparison.Ordinal);
            Expect.Ok(await _d.DockerAsync("rmi", repo + ":2"));
            var pull = Expect.Ok(await _d.DockerAsync("pull", repo + ":2"));
            Assert.Contains("Digest: " + digest, pull.Stdout, StringComparison.Ordinal);
            Expect.Ok(await _d.DockerAsync("pull", repo + "@" + digest));
            var run = Expect.Ok(await _d.DockerAsync("run", "--rm", repo + ":2", "echo", "docker-pulled"));
            Assert.Equal("docker-pulled\n", run.Stdout);
            Expect.Ok(await _d.DockerAsync("rmi", repo + ":2"));
            var autoPull = Expect.Ok(await _d.DockerAsync("run", "--rm", repo + ":2", "echo", "auto-pulled"));
            Assert.Equal("auto-pulled\n", autoPull.Stdout);
            var missing = Expect.Exit(await _d.DockerAsync("pull", repo + ":nosuch"), 1);
            Assert.Contains("manifest unknown", missing.Stderr, StringComparison.Ordinal);
            var missingRun = await _d.MockerAsync("run", "--rm", repo + ":nosuch");
            Assert.NotEqual(0, missingRun.ExitCode);
            Assert.Contains($"manifest for {repo}:nosuch not found", missingRun.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await RemoveImagesAsync(repo + ":2");
        }
    }

    [Fact]
    public async Task Docker_save_and_load_keep_the_image_id()
    {
        using var dir = new TempDir();
        var name = "it-saved/" + Names.Unique("docker") + ":1";
        var file = System.IO.Path.Combine(dir.Path, "saved.tar");
        try
        {
            Expect.Ok(await _d.DockerAsync("tag", "busybox", name));
            var id = await ImageIdAsync(name);
            Expect.Ok(await _d.DockerAsync("save", "-o", file, name));
            Expect.Ok(await _d.DockerAsync("rmi", name));
            var load = Expect.Ok(await _d.DockerAsync("load", "-i", file));
            Assert.Contains("Loaded image: " + name, load.Stdout, StringComparison.Ordinal);
            Assert.Equal(id, await ImageIdAsync(name));
        }
        finally
        {
            await RemoveImagesAsync(name);
        }
    }

    [Fact]
    public async Task Mocker_save_and_load_keep_the_image_id()
    {
        using var dir = new TempDir();
        var name = "it-saved/" + Names.Unique("mocker") + ":1";
        var file = System.IO.Path.Combine(dir.Path, "saved.tar");
        try
        {
            Expect.Ok(await _d.MockerAsync("tag", "busybox", name));
            var id = await ImageIdAsync(name);
            Expect.Ok(await _d.MockerAsync("save", "-o", file, name));
            Assert.True(new FileInfo(file).Length > 0);
            Expect.Ok(await _d.MockerAsync("rmi", name));
            var load = Expect.Ok(await _d.MockerAsync("load", "-i", file));
            Assert.Contains("Loaded image: " + name, load.Stdout, StringComparison.Ordinal);
            Assert.Equal(id, await ImageIdAsync(name));
        }
        finally
        {
            await RemoveImagesAsync(name);
        }
    }

    [Fact]
    public async Task Commit_keeps_the_container_changes_and_applies_changes()
    {
        var container = Names.Unique("it-commit");
        var dockerImage = "it-committed/" + Names.Unique("docker") + ":1";
        var mockerImage = "it-committed/" + Names.Unique("mocker") + ":2";
        try
        {
            Expect.Ok(await _d.DockerAsync("run", "--name", container, "busybox", "sh", "-c", "echo made-in-container > /made.txt"));
            Expect.Ok(await _d.DockerAsync("commit", "-m", "docker commit", "-a", "tester", container, dockerImage));
            var fromDocker = Expect.Ok(await _d.DockerAsync("run", "--rm", dockerImage, "cat", "/made.txt"));
            Assert.Equal("made-in-container\n", fromDocker.Stdout);
            var author = Expect.Ok(await _d.DockerAsync("image", "inspect", "--format", "{{.Author}}|{{.Comment}}", dockerImage));
            Assert.Equal("tester|docker commit", author.Stdout.Trim());

            var id = Expect.Ok(await _d.MockerAsync("commit", "-c", "ENV X=1", "-m", "mocker commit", container, mockerImage)).Stdout.Trim();
            Assert.StartsWith("sha256:", id, StringComparison.Ordinal);
            var fromMocker = Expect.Ok(await _d.MockerAsync("run", "--rm", mockerImage, "sh", "-c", "cat /made.txt; echo X=$X"));
            Assert.Equal("made-in-container\nX=1\n", fromMocker.Stdout);
        }
        finally
        {
            await _d.MockerAsync("rm", "-f", container);
            await RemoveImagesAsync(dockerImage, mockerImage);
        }
    }

    [Fact]
    public async Task Export_then_import_runs_with_the_container_files()
    {
        using var dir = new TempDir();
        var container = Names.Unique("it-export");
        var dockerImage = "it-imported/" + Names.Unique("docker") + ":1";
        var mockerImage = "it-imported/" + Names.Unique("mocker") + ":1";
        var dockerTar = System.IO.Path.Combine(dir.Path, "docker.tar");
        var mockerTar = System.IO.Path.Combine(dir.Path, "mocker.tar");
        try
        {
            Expect.Ok(await _d.DockerAsync("run", "--name", container, "busybox", "sh", "-c", "echo exported > /exported.txt"));
            Expect.Ok(await _d.DockerAsync("export", "-o", dockerTar, container));
            Expect.Ok(await _d.DockerAsync("import", dockerTar, dockerImage));
            var fromDocker = Expect.Ok(await _d.DockerAsync("run", "--rm", dockerImage, "/bin/cat", "/exported.txt"));
            Assert.Equal("exported\n", fromDocker.Stdout);

            Expect.Ok(await _d.MockerAsync("export", "-o", mockerTar, container));
            Expect.Ok(await _d.MockerAsync("import", mockerTar, mockerImage));
            var fromMocker = Expect.Ok(await _d.MockerAsync("run", "--rm", mockerImage, "/bin/cat", "/exported.txt"));
            Assert.Equal("exported\n", fromMocker.Stdout);
        }
        finally
        {
            await _d.MockerAsync("rm", "-f", container);
            await RemoveImagesAsync(dockerImage, mockerImage);
        }
    }

    [Fact]
    public async Task Export_of_a_running_container_sees_its_live_files()
    {
        using var dir = new TempDir();
        var container = Names.Unique("it-export-live");
        var tar = System.IO.Path.Combine(dir.Path, "live.tar");
        try
        {
            Expect.Ok(await _d.MockerAsync("run", "-d", "--name", container, "busybox", "sh", "-c", "echo live > /live.txt; exec sleep 600"));
            Expect.Ok(await _d.MockerAsync("exec", container, "cat", "/live.txt"));
            Expect.Ok(await _d.MockerAsync("export", "-o", tar, container));
            var list = Expect.Ok(await Proc.RunAsync("tar", ["-tf", tar]));
            Assert.Contains("live.txt", Expect.Lines(list.Stdout).Select(l => l.TrimStart('.', '/')));
        }
        finally
        {
            await _d.MockerAsync("rm", "-f", container);
        }
    }

    [Fact]
    public async Task Login_stores_credentials_that_push_uses_and_logout_removes_them()
    {
        var htpasswd = Process.Start(new ProcessStartInfo("/usr/bin/htpasswd", ["-Bbn", "itest", "s3cret"]) { RedirectStandardOutput = true })!;
        var line = (await htpasswd.StandardOutput.ReadToEndAsync()).Trim();
        await htpasswd.WaitForExitAsync();
        Assert.Equal(0, htpasswd.ExitCode);
        using var registry = await LocalRegistry.StartAsync(line);
        using var home = new TempDir();
        var env = new Dictionary<string, string>(_d.MockerEnv) { ["HOME"] = home.Path };
        var name = $"{registry.Host}/auth/bb:1";
        try
        {
            Expect.Ok(await _d.MockerAsync("tag", "busybox", name));
            var denied = await Proc.RunAsync(Binaries.Mocker, ["push", name], env);
            Assert.NotEqual(0, denied.ExitCode);

            var wrong = await Proc.RunAsync(Binaries.Mocker, ["login", "-u", "itest", "--password-stdin", registry.Host], env, "nope\n");
            Assert.NotEqual(0, wrong.ExitCode);
            Assert.False(File.Exists(System.IO.Path.Combine(home.Path, ".mocker", "config.json")));

            var login = Expect.Ok(await Proc.RunAsync(Binaries.Mocker, ["login", "-u", "itest", "--password-stdin", registry.Host], env, "s3cret\n"));
            Assert.Contains("Login Succeeded", login.Stdout, StringComparison.Ordinal);
            var config = System.IO.Path.Combine(home.Path, ".mocker", "config.json");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(config));
            Assert.Contains(registry.Host, await File.ReadAllTextAsync(config), StringComparison.Ordinal);

            Expect.Ok(await Proc.RunAsync(Binaries.Mocker, ["push", name], env));
            Expect.Ok(await _d.MockerAsync("rmi", name));
            Expect.Ok(await Proc.RunAsync(Binaries.Mocker, ["pull", name], env));

            // The docker CLI logs in through POST /auth and sends its stored credential in X-Registry-Auth.
            var dockerDenied = await _d.DockerAsync("push", name);
            Assert.NotEqual(0, dockerDenied.ExitCode);
            var dockerLogin = Expect.Ok(await _d.DockerWithInputAsync("s3cret\n", "login", "-u", "itest", "--password-stdin", registry.Host));
            Assert.Contains("Login Succeeded", dockerLogin.Stdout, StringComparison.Ordinal);
            try
            {
                Expect.Ok(await _d.DockerAsync("push", name));
            }
            finally
            {
                await _d.DockerAsync("logout", registry.Host);
            }

            var logout = Expect.Ok(await Proc.RunAsync(Binaries.Mocker, ["logout", registry.Host], env));
            Assert.Contains("Removing login credentials for " + registry.Host, logout.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain(registry.Host, await File.ReadAllTextAsync(config), StringComparison.Ordinal);
        }
        finally
        {
            await RemoveImagesAsync(name);
        }
    }
}

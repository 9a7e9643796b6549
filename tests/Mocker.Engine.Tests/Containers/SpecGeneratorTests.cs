using System.Text.Json.Nodes;
using Mocker.Api;
using Mocker.Engine.Containers;
using Mocker.Engine.Errors;
using Xunit;

namespace Mocker.Engine.Tests.Containers;

public sealed class SpecGeneratorTests : IDisposable
{
    private readonly string _rootfs = Path.Combine(Path.GetTempPath(), "specgen-" + Guid.NewGuid().ToString("N"));

    public SpecGeneratorTests()
    {
        Directory.CreateDirectory(Path.Combine(_rootfs, "etc"));
        File.WriteAllText(Path.Combine(_rootfs, "etc", "passwd"),
            "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n");
        File.WriteAllText(Path.Combine(_rootfs, "etc", "group"),
            "root:x:0:\nwww:x:33:\napp:x:1000:\naudio:x:29:app,www\nvideo:x:44:app\n");
    }

    public void Dispose() => Directory.Delete(_rootfs, recursive: true);

    private static List<string> Strings(JsonNode? n) => n!.AsArray().Select(x => x!.GetValue<string>()).ToList();

    [Fact]
    public void DefaultCapabilitiesAreDockers14()
    {
        var caps = SpecGenerator.Capabilities(false, [], []);
        Assert.Equal(14, caps.Count);
        Assert.Contains("CAP_NET_BIND_SERVICE", caps);
        Assert.DoesNotContain("CAP_SYS_ADMIN", caps);
    }

    [Fact]
    public void CapAddDropAndPrivileged()
    {
        var caps = SpecGenerator.Capabilities(false, ["SYS_ADMIN", "cap_net_admin"], ["MKNOD", "CAP_CHOWN"]);
        Assert.Contains("CAP_SYS_ADMIN", caps);
        Assert.Contains("CAP_NET_ADMIN", caps);
        Assert.DoesNotContain("CAP_MKNOD", caps);
        Assert.DoesNotContain("CAP_CHOWN", caps);
        Assert.Equal(["CAP_KILL"], SpecGenerator.Capabilities(false, ["KILL"], ["ALL"]));
        Assert.Equal(SpecGenerator.AllCaps.Count, SpecGenerator.Capabilities(true, [], []).Count);
        Assert.Throws<MockerException>(() => SpecGenerator.Capabilities(false, ["NOPE"], []));
    }

    [Fact]
    public void SpecHasMaskedReadonlyPathsMountsAndNamespaces()
    {
        var spec = SpecGenerator.Generate(new SpecInput { RootfsPath = _rootfs, Args = ["sh"], Hostname = "abc", NetworkMode = "none" });
        var linux = spec["linux"]!;
        Assert.Contains("/proc/kcore", Strings(linux["maskedPaths"]));
        Assert.Contains("/sys/devices/virtual/powercap", Strings(linux["maskedPaths"]));
        Assert.Equal(SpecGenerator.DefaultReadonlyPaths, Strings(linux["readonlyPaths"]));
        var ns = linux["namespaces"]!.AsArray().Select(n => n!["type"]!.GetValue<string>()).ToList();
        Assert.Equal(["pid", "ipc", "uts", "mount", "network"], ns);
        var mounts = spec["mounts"]!.AsArray().Select(m => m!["destination"]!.GetValue<string>()).ToList();
        Assert.Equal(["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"], mounts);
        var shm = spec["mounts"]!.AsArray().First(m => m!["destination"]!.GetValue<string>() == "/dev/shm");
        Assert.Contains($"size={64 * 1024 * 1024}", Strings(shm!["options"]));
        var env = Strings(spec["process"]!["env"]);
        Assert.Contains("PATH=" + SpecGenerator.DefaultPath, env);
        Assert.Contains("HOSTNAME=abc", env);
        Assert.Contains("HOME=/root", env);
        Assert.Equal("SCMP_ACT_ERRNO", spec["linux"]!["seccomp"]!["defaultAction"]!.GetValue<string>());

        var host = SpecGenerator.Generate(new SpecInput { RootfsPath = _rootfs, Args = ["sh"], NetworkMode = "host", Tty = true, Privileged = true });
        Assert.DoesNotContain(host["linux"]!["namespaces"]!.AsArray(), n => n!["type"]!.GetValue<string>() == "network");
        Assert.Null(host["linux"]!["seccomp"]);
        Assert.Empty(host["linux"]!["maskedPaths"]!.AsArray());
        Assert.Contains("TERM=xterm", Strings(host["process"]!["env"]));
        Assert.True(host["process"]!["terminal"]!.GetValue<bool>());
    }

    [Fact]
    public void WorkingDirIsCreatedInRootfs()
    {
        SpecGenerator.Generate(new SpecInput { RootfsPath = _rootfs, Args = ["sh"], WorkingDir = "/srv/app" });
        Assert.True(Directory.Exists(Path.Combine(_rootfs, "srv", "app")));
    }

    [Fact]
    public void RlimitsNeverExceedHostHardLimit()
    {
        var limits = SpecGenerator.Rlimits([new Ulimit { Name = "nofile", Soft = 10_000_000, Hard = 10_000_000 }, new Ulimit { Name = "nproc", Soft = 100, Hard = 200 }]);
        var nofile = limits.First(l => l!["type"]!.GetValue<string>() == "RLIMIT_NOFILE")!;
        Assert.True(nofile["hard"]!.GetValue<ulong>() <= SpecGenerator.HostNofileHard);
        Assert.True(nofile["soft"]!.GetValue<ulong>() <= nofile["hard"]!.GetValue<ulong>());
        var nproc = limits.First(l => l!["type"]!.GetValue<string>() == "RLIMIT_NPROC")!;
        Assert.Equal(200UL, nproc["hard"]!.GetValue<ulong>());
        var defaults = SpecGenerator.Rlimits([]);
        Assert.True(defaults.Single()!["hard"]!.GetValue<ulong>() <= SpecGenerator.HostNofileHard);
    }

    [Fact]
    public void UserResolution()
    {
        var root = SpecGenerator.ResolveUser(_rootfs, "");
        Assert.Equal((0u, 0u, "/root"), (root.Uid, root.Gid, root.Home));
        var www = SpecGenerator.ResolveUser(_rootfs, "www");
        Assert.Equal((33u, 33u, "/var/www"), (www.Uid, www.Gid, www.Home));
        Assert.Equal([29u], www.AdditionalGids);
        var app = SpecGenerator.ResolveUser(_rootfs, "1000");
        Assert.Equal([29u, 44u], app.AdditionalGids);
        var mixed = SpecGenerator.ResolveUser(_rootfs, "app:www");
        Assert.Equal((1000u, 33u), (mixed.Uid, mixed.Gid));
        Assert.Empty(mixed.AdditionalGids);
        var numeric = SpecGenerator.ResolveUser(_rootfs, "4242:4343");
        Assert.Equal((4242u, 4343u, "/"), (numeric.Uid, numeric.Gid, numeric.Home));
        var ex = Assert.Throws<MockerException>(() => SpecGenerator.ResolveUser(_rootfs, "ghost"));
        Assert.Equal("unable to find user ghost: no matching entries in passwd file", ex.Message);
    }

    [Fact]
    public void SeccompConversionFiltersByArchAndCaps()
    {
        var profile = Seccomp.LoadProfile(null);
        var plain = Seccomp.Convert(profile, SpecGenerator.DefaultCaps.ToList(), "amd64");
        Assert.Equal(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], Strings(plain["architectures"]));
        Assert.Equal(1, plain["defaultErrnoRet"]!.GetValue<int>());
        static List<string> Names(JsonObject p) => p["syscalls"]!.AsArray()
            .Where(s => s!["action"]!.GetValue<string>() == "SCMP_ACT_ALLOW" && s["args"] is null)
            .SelectMany(s => Strings(s!["names"])).ToList();
        var allowed = Names(plain);
        Assert.Contains("arch_prctl", allowed);
        Assert.Contains("chroot", allowed);
        Assert.DoesNotContain("s390_runtime_instr", allowed);
        Assert.DoesNotContain("mount", allowed);
        Assert.DoesNotContain("clone3", allowed);
        var admin = Names(Seccomp.Convert(profile, [.. SpecGenerator.DefaultCaps, "CAP_SYS_ADMIN"], "amd64"));
        Assert.Contains("mount", admin);
        Assert.Contains("clone3", admin);
    }
}

public sealed class ContainerTextTests
{
    [Theory]
    [InlineData("web", true)]
    [InlineData("/web_1.a-b", true)]
    [InlineData("a", false)]
    [InlineData("-bad", false)]
    [InlineData("bad name", false)]
    public void NameValidation(string name, bool valid) => Assert.Equal(valid, ContainerNames.IsValid(name));

    [Fact]
    public void RandomNamesAreValid()
    {
        for (var i = 0; i < 50; i++)
        {
            var n = ContainerNames.Random(i % 3);
            Assert.True(ContainerNames.IsValid(n), n);
            Assert.Contains('_', n);
        }
    }

    [Fact]
    public void StatusTexts()
    {
        var now = DateTimeOffset.UtcNow;
        Assert.Equal("Up Less than a second", StatusText.For("running", 0, now, null, now));
        Assert.Equal("Up 3 seconds", StatusText.For("running", 0, now.AddSeconds(-3), null, now));
        Assert.Equal("Up About a minute", StatusText.For("running", 0, now.AddSeconds(-80), null, now));
        Assert.Equal("Exited (0) 5 seconds ago", StatusText.For("exited", 0, now.AddSeconds(-9), now.AddSeconds(-5), now));
        Assert.Equal("Exited (137) 2 hours ago", StatusText.For("exited", 137, null, now.AddHours(-2), now));
        Assert.Equal("Created", StatusText.For("created", 0, null, null, now));
        Assert.Equal("Up 2 minutes (Paused)", StatusText.For("paused", 0, now.AddMinutes(-2), null, now));
    }

    [Fact]
    public void SignalParsing()
    {
        Assert.Equal(9, ContainerHelpers.ParseSignal(null));
        Assert.Equal(1, ContainerHelpers.ParseSignal("HUP"));
        Assert.Equal(1, ContainerHelpers.ParseSignal("SIGHUP"));
        Assert.Equal(15, ContainerHelpers.ParseSignal("15"));
        Assert.Equal(10, ContainerHelpers.ParseSignal("sigusr1"));
        Assert.Null(ContainerHelpers.ParseSignal("NOPE"));
    }

    [Fact]
    public void Rfc3339Nano()
    {
        Assert.Equal("0001-01-01T00:00:00Z", ContainerHelpers.Rfc3339Nano(null));
        var t = new DateTimeOffset(2026, 11, 22, 3, 35, 41, TimeSpan.Zero).AddTicks(116779);
        Assert.Equal("2026-11-22T03:35:41.0116779Z", ContainerHelpers.Rfc3339Nano(t));
    }

    [Fact]
    public void MergeFollowsDockerEntrypointRules()
    {
        var image = new ContainerConfig { Entrypoint = ["/entry"], Cmd = ["default"], Env = ["A=1", "B=2"], WorkingDir = "/w", Labels = new() { ["x"] = "1" } };
        var m1 = ContainerHelpers.Merge(new ContainerConfig { Env = ["B=3"] }, image);
        Assert.Equal(["/entry"], m1.Entrypoint);
        Assert.Equal(["default"], m1.Cmd);
        Assert.Equal(["A=1", "B=3"], m1.Env);
        Assert.Equal("/w", m1.WorkingDir);
        var m2 = ContainerHelpers.Merge(new ContainerConfig { Cmd = ["other"] }, image);
        Assert.Equal(["/entry"], m2.Entrypoint);
        Assert.Equal(["other"], m2.Cmd);
        var m3 = ContainerHelpers.Merge(new ContainerConfig { Entrypoint = ["/bin/sh"] }, image);
        Assert.Equal(["/bin/sh"], m3.Entrypoint);
        Assert.Null(m3.Cmd);
    }
}

public sealed class K8sFileLogTests
{
    [Fact]
    public void ParsesAndJoinsPartialLines()
    {
        var lines = new[]
        {
            "2026-11-22T05:17:08.594539295+00:00 stdout P hel",
            "2026-11-22T05:17:08.594600000+00:00 stderr F oops",
            "2026-11-22T05:17:08.594700000+00:00 stdout F lo",
            "2026-11-22T05:17:08.594800000+00:00 stdout F ",
        };
        var joiner = new K8sFileLog.Joiner();
        var entries = new List<LogEntry>();
        foreach (var l in lines)
        {
            var rec = K8sFileLog.ParseLine(System.Text.Encoding.UTF8.GetBytes(l));
            Assert.NotNull(rec);
            if (joiner.Add(rec.Value) is { } e)
            {
                entries.Add(e);
            }
        }
        Assert.Equal(3, entries.Count);
        Assert.Equal(StdStream.Stderr, entries[0].Stream);
        Assert.Equal("oops\n", System.Text.Encoding.UTF8.GetString(entries[0].Data.Span));
        Assert.Equal("hello\n", System.Text.Encoding.UTF8.GetString(entries[1].Data.Span));
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 5, 17, 8, TimeSpan.Zero).AddTicks(5945393), entries[1].Time);
        Assert.Equal("\n", System.Text.Encoding.UTF8.GetString(entries[2].Data.Span));
        Assert.Null(K8sFileLog.ParseLine("garbage"u8));
    }
}

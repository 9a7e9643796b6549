using System.Text.Json.Nodes;
using Mocker.Engine.Errors;
using Mocker.Engine.Native;
using Mocker.Engine.Runtime;

namespace Mocker.Engine.Containers;

/// <summary>A resolved user: uid, gid, supplementary groups and the passwd home directory.</summary>
public sealed record ResolvedUser(uint Uid, uint Gid, IReadOnlyList<uint> AdditionalGids, string Home);

/// <summary>Everything the OCI config of one container depends on. Paths are host paths.</summary>
public sealed record SpecInput
{
    public required string RootfsPath { get; init; }
    public required IReadOnlyList<string> Args { get; init; }
    public IReadOnlyList<string> Env { get; init; } = [];
    public string WorkingDir { get; init; } = "/";
    public string User { get; init; } = "";
    public string Hostname { get; init; } = "";
    public bool Tty { get; init; }
    /// <summary>"none" (new network namespace) or "host" (the host's).</summary>
    public string NetworkMode { get; init; } = "none";
    public bool Privileged { get; init; }
    public IReadOnlyList<string> CapAdd { get; init; } = [];
    public IReadOnlyList<string> CapDrop { get; init; } = [];
    public IReadOnlyList<string> GroupAdd { get; init; } = [];
    public bool ReadonlyRootfs { get; init; }
    public IReadOnlyList<string> SecurityOpt { get; init; } = [];
    public IReadOnlyList<Api.Ulimit> Ulimits { get; init; } = [];
    public long Memory { get; init; }
    public long CpuShares { get; init; }
    public long NanoCpus { get; init; }
    public long? PidsLimit { get; init; }
    /// <summary>Size of /dev/shm in bytes; 0 = Docker's 64 MiB.</summary>
    public long ShmSize { get; init; }
    /// <summary>linux.cgroupsPath, e.g. "/mocker/&lt;id&gt;"; null leaves the cgroup to runc.</summary>
    public string? CgroupsPath { get; init; }
    public IReadOnlyList<OciMount> ExtraMounts { get; init; } = [];
    public IReadOnlyList<string>? MaskedPaths { get; init; }
    public IReadOnlyList<string>? ReadonlyPaths { get; init; }
    public IReadOnlyDictionary<string, string> Sysctls { get; init; } = new Dictionary<string, string>();
    public string? SeccompProfilePath { get; init; }
}

/// <summary>
/// Builds OCI runtime-spec config.json documents with Docker's defaults (moby oci/defaults.go and
/// daemon/oci_linux.go): default capabilities, masked and read-only paths, /dev and /proc mounts, device cgroup
/// rules, the default seccomp profile, rlimits clamped to the host's hard limit, and user resolution against
/// the image's /etc/passwd and /etc/group.
/// </summary>
public static class SpecGenerator
{
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>Docker's default capability set (moby oci/caps/defaults.go).</summary>
    public static readonly IReadOnlyList<string> DefaultCaps =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    /// <summary>Every capability runc 1.1 knows (used for Privileged and "ALL").</summary>
    public static readonly IReadOnlyList<string> AllCaps =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
        "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ];

    public static readonly IReadOnlyList<string> DefaultMaskedPaths =
    [
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ];

    public static readonly IReadOnlyList<string> DefaultReadonlyPaths =
        ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    /// <summary>The host's RLIMIT_NOFILE hard limit; container rlimits never exceed it.</summary>
    public static ulong HostNofileHard { get; } = ReadHostNofileHard();

    private static unsafe ulong ReadHostNofileHard()
    {
        Libc.RLimit l;
        return Libc.getrlimit(Libc.RLIMIT_NOFILE, &l) == 0 ? l.Max : 1048576;
    }

    /// <summary>Effective capabilities: Docker's defaults (or all when privileged), plus CapAdd, minus CapDrop; "ALL" accepted; names with or without "CAP_".</summary>
    public static List<string> Capabilities(bool privileged, IReadOnlyList<string> capAdd, IReadOnlyList<string> capDrop)
    {
        if (privileged)
        {
            return [.. AllCaps];
        }
        static string Norm(string c) => c.ToUpperInvariant() is var u && u.StartsWith("CAP_", StringComparison.Ordinal) ? u : "CAP_" + u;
        var add = capAdd.Select(Norm).ToList();
        var drop = capDrop.Select(Norm).ToList();
        var caps = add.Contains("CAP_ALL") ? [.. AllCaps] : new List<string>(DefaultCaps);
        foreach (var c in add.Where(c => c != "CAP_ALL" && !caps.Contains(c)))
        {
            if (!AllCaps.Contains(c))
            {
                throw MockerException.InvalidArgument($"invalid capability: {c}");
            }
            caps.Add(c);
        }
        if (drop.Contains("CAP_ALL"))
        {
            return [.. caps.Where(add.Contains)];
        }
        caps.RemoveAll(drop.Contains);
        return caps;
    }

    /// <summary>
    /// Resolves <paramref name="user"/> ("", "name", "uid", "uid:gid", "name:group", "uid:group") against the rootfs'
    /// /etc/passwd and /etc/group (moby/sys/user GetExecUser). Throws InvalidArgument
    /// "unable to find user X: no matching entries in passwd file" as Docker.
    /// </summary>
    public static ResolvedUser ResolveUser(string rootfs, string user, IReadOnlyList<string>? groupAdd = null)
    {
        var passwd = ReadDb(Path.Combine(rootfs, "etc/passwd"));
        var groups = ReadDb(Path.Combine(rootfs, "etc/group"));
        var (userPart, groupPart) = user.IndexOf(':') is var i and >= 0 ? (user[..i], user[(i + 1)..]) : (user, (string?)null);
        uint uid = 0, gid = 0;
        string home = "/";
        string? userName = null;
        if (userPart.Length == 0)
        {
            userPart = "0";
        }
        var entry = passwd.FirstOrDefault(p => p.Length >= 7 && (p[0] == userPart || p[2] == userPart));
        if (entry is not null)
        {
            userName = entry[0];
            uid = uint.Parse(entry[2]);
            gid = uint.TryParse(entry[3], out var g) ? g : 0;
            home = entry[5].Length > 0 ? entry[5] : "/";
        }
        else if (uint.TryParse(userPart, out var numeric))
        {
            uid = numeric;
        }
        else
        {
            throw MockerException.InvalidArgument($"unable to find user {userPart}: no matching entries in passwd file");
        }
        if (groupPart is { Length: > 0 })
        {
            var ge = groups.FirstOrDefault(g => g.Length >= 3 && (g[0] == groupPart || g[2] == groupPart));
            if (ge is not null)
            {
                gid = uint.Parse(ge[2]);
            }
            else if (uint.TryParse(groupPart, out var ng))
            {
                gid = ng;
            }
            else
            {
                throw MockerException.InvalidArgument($"unable to find group {groupPart}: no matching entries in group file");
            }
        }
        var extra = new List<uint>();
        if (userName is not null && groupPart is null)
        {
            foreach (var g in groups)
            {
                if (g.Length >= 4 && g[3].Split(',').Contains(userName) && uint.TryParse(g[2], out var sg) && sg != gid && !extra.Contains(sg))
                {
                    extra.Add(sg);
                }
            }
        }
        foreach (var ga in groupAdd ?? [])
        {
            var ge = groups.FirstOrDefault(g => g.Length >= 3 && (g[0] == ga || g[2] == ga));
            var id = ge is not null ? uint.Parse(ge[2]) : uint.TryParse(ga, out var n) ? n
                : throw MockerException.InvalidArgument($"Unable to find group {ga}: no matching entries in group file");
            if (!extra.Contains(id))
            {
                extra.Add(id);
            }
        }
        return new ResolvedUser(uid, gid, extra, home);
    }

    private static List<string[]> ReadDb(string path)
    {
        try
        {
            return File.ReadAllLines(path).Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split(':')).ToList();
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>Env with PATH defaulted, HOSTNAME and HOME (from passwd) added when absent, TERM=xterm for a TTY.</summary>
    public static List<string> BuildEnv(IReadOnlyList<string> env, string hostname, string home, bool tty)
    {
        var result = new List<string>();
        bool Has(string key) => result.Any(e => e.StartsWith(key + "=", StringComparison.Ordinal));
        if (!env.Any(e => e.StartsWith("PATH=", StringComparison.Ordinal)))
        {
            result.Add("PATH=" + DefaultPath);
        }
        if (hostname.Length > 0)
        {
            result.Add("HOSTNAME=" + hostname);
        }
        if (tty)
        {
            result.Add("TERM=xterm");
        }
        foreach (var e in env)
        {
            var key = e.Split('=', 2)[0];
            result.RemoveAll(x => x.Split('=', 2)[0] == key);
            result.Add(e);
        }
        if (!Has("HOME"))
        {
            result.Add("HOME=" + home);
        }
        return result;
    }

    /// <summary>RLIMIT_NOFILE and HostConfig.Ulimits as OCI rlimits, each clamped to the host's hard nofile limit.</summary>
    public static JsonArray Rlimits(IReadOnlyList<Api.Ulimit> ulimits)
    {
        var limits = new Dictionary<string, (ulong Soft, ulong Hard)>
        {
            ["RLIMIT_NOFILE"] = (Math.Min(1048576UL, HostNofileHard), Math.Min(1048576UL, HostNofileHard)),
        };
        foreach (var u in ulimits)
        {
            if (string.IsNullOrEmpty(u.Name))
            {
                continue;
            }
            var name = "RLIMIT_" + u.Name.ToUpperInvariant();
            var hard = (ulong)Math.Max(0, u.Hard);
            var soft = (ulong)Math.Max(0, u.Soft);
            if (name == "RLIMIT_NOFILE")
            {
                hard = Math.Min(hard, HostNofileHard);
                soft = Math.Min(soft, hard);
            }
            limits[name] = (soft, hard);
        }
        var arr = new JsonArray();
        foreach (var (name, (soft, hard)) in limits)
        {
            arr.Add(new JsonObject { ["type"] = name, ["hard"] = hard, ["soft"] = soft });
        }
        return arr;
    }

    /// <summary>The OCI "process" object for the container's init or an exec.</summary>
    public static JsonObject Process(string rootfs, IReadOnlyList<string> args, IReadOnlyList<string> env, string user, string cwd,
        string hostname, bool tty, List<string> caps, IReadOnlyList<Api.Ulimit> ulimits, bool noNewPrivileges, IReadOnlyList<string>? groupAdd = null)
    {
        var u = ResolveUser(rootfs, user, groupAdd);
        var capsArr = new JsonArray(caps.Select(c => (JsonNode)JsonValue.Create(c)!).ToArray());
        var userObj = new JsonObject { ["uid"] = u.Uid, ["gid"] = u.Gid };
        if (u.AdditionalGids.Count > 0)
        {
            userObj["additionalGids"] = new JsonArray(u.AdditionalGids.Select(g => (JsonNode)JsonValue.Create(g)!).ToArray());
        }
        return new JsonObject
        {
            ["terminal"] = tty,
            ["user"] = userObj,
            ["args"] = new JsonArray(args.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray()),
            ["env"] = new JsonArray(BuildEnv(env, hostname, u.Home, tty).Select(e => (JsonNode)JsonValue.Create(e)!).ToArray()),
            ["cwd"] = cwd.Length == 0 ? "/" : cwd,
            ["capabilities"] = new JsonObject
            {
                ["bounding"] = capsArr.DeepClone(),
                ["effective"] = capsArr.DeepClone(),
                ["permitted"] = capsArr.DeepClone(),
                ["inheritable"] = new JsonArray(),
                ["ambient"] = new JsonArray(),
            },
            ["rlimits"] = Rlimits(ulimits),
            ["noNewPrivileges"] = noNewPrivileges,
        };
    }

    /// <summary>Builds the whole config.json. Creates the working directory in the rootfs when missing (as Docker does).</summary>
    public static JsonObject Generate(SpecInput s)
    {
        var caps = Capabilities(s.Privileged, s.CapAdd, s.CapDrop);
        var noNewPriv = s.SecurityOpt.Any(o => o is "no-new-privileges" or "no-new-privileges:true" or "no-new-privileges=true");
        var seccompUnconfined = s.Privileged || s.SecurityOpt.Any(o => o is "seccomp=unconfined" or "seccomp:unconfined");
        var cwd = string.IsNullOrEmpty(s.WorkingDir) ? "/" : s.WorkingDir;
        EnsureWorkingDir(s.RootfsPath, cwd);
        var process = Process(s.RootfsPath, s.Args, s.Env, s.User, cwd, s.Hostname, s.Tty, caps, s.Ulimits, noNewPriv, s.GroupAdd);

        var shm = s.ShmSize > 0 ? s.ShmSize : 64L * 1024 * 1024;
        var mounts = new JsonArray
        {
            Mnt("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
            Mnt("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
            Mnt("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
            Mnt("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"),
            Mnt("/sys/fs/cgroup", "cgroup", "cgroup", "ro", "nosuid", "noexec", "nodev"),
            Mnt("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
            Mnt("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", $"size={shm}"),
        };
        foreach (var m in s.ExtraMounts)
        {
            mounts.Add(Mnt(m.Destination, m.Type, m.Source, [.. m.Options]));
        }

        var namespaces = new JsonArray
        {
            new JsonObject { ["type"] = "pid" },
            new JsonObject { ["type"] = "ipc" },
            new JsonObject { ["type"] = "uts" },
            new JsonObject { ["type"] = "mount" },
        };
        if (s.NetworkMode != "host")
        {
            namespaces.Add(new JsonObject { ["type"] = "network" });
        }

        var resources = new JsonObject { ["devices"] = DeviceRules(s.Privileged) };
        if (s.Memory > 0)
        {
            resources["memory"] = new JsonObject { ["limit"] = s.Memory };
        }
        var cpu = new JsonObject();
        if (s.CpuShares > 0)
        {
            cpu["shares"] = (ulong)s.CpuShares;
        }
        if (s.NanoCpus > 0)
        {
            const long period = 100000;
            cpu["period"] = (ulong)period;
            cpu["quota"] = s.NanoCpus * period / 1_000_000_000;
        }
        if (cpu.Count > 0)
        {
            resources["cpu"] = cpu;
        }
        if (s.PidsLimit is > 0)
        {
            resources["pids"] = new JsonObject { ["limit"] = s.PidsLimit.Value };
        }

        var linux = new JsonObject
        {
            ["resources"] = resources,
            ["namespaces"] = namespaces,
            ["maskedPaths"] = s.Privileged ? new JsonArray() : Strings(s.MaskedPaths ?? DefaultMaskedPaths),
            ["readonlyPaths"] = s.Privileged ? new JsonArray() : Strings(s.ReadonlyPaths ?? DefaultReadonlyPaths),
        };
        if (s.CgroupsPath is not null)
        {
            linux["cgroupsPath"] = s.CgroupsPath;
        }
        if (s.Sysctls.Count > 0)
        {
            var sc = new JsonObject();
            foreach (var (k, v) in s.Sysctls)
            {
                sc[k] = v;
            }
            linux["sysctl"] = sc;
        }
        if (!seccompUnconfined)
        {
            linux["seccomp"] = Seccomp.ForCaps(s.SeccompProfilePath, caps);
        }

        return new JsonObject
        {
            ["ociVersion"] = "1.0.2-dev",
            ["process"] = process,
            ["root"] = new JsonObject { ["path"] = s.RootfsPath, ["readonly"] = s.ReadonlyRootfs },
            ["hostname"] = s.Hostname,
            ["mounts"] = mounts,
            ["linux"] = linux,
        };
    }

    private static void EnsureWorkingDir(string rootfs, string cwd)
    {
        var full = Path.Combine(rootfs, cwd.TrimStart('/'));
        var rootFull = Path.GetFullPath(rootfs);
        if (!Path.GetFullPath(full).StartsWith(rootFull, StringComparison.Ordinal) || Directory.Exists(full) || File.Exists(full))
        {
            return;
        }
        try
        {
            // A symlink component may point anywhere on the host: resolve each one inside the rootfs only by refusing links.
            var current = rootFull;
            foreach (var part in cwd.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                current = Path.Combine(current, part);
                var info = new DirectoryInfo(current);
                if (info.LinkTarget is not null)
                {
                    return;
                }
                if (!info.Exists)
                {
                    info.Create();
                }
            }
        }
        catch (IOException)
        {
            // runc reports the missing directory itself with Docker's wording.
        }
    }

    private static JsonArray Strings(IEnumerable<string> items) => new(items.Select(i => (JsonNode)JsonValue.Create(i)!).ToArray());

    private static JsonObject Mnt(string dest, string type, string source, params string[] options) => new()
    {
        ["destination"] = dest,
        ["type"] = type,
        ["source"] = source,
        ["options"] = Strings(options),
    };

    /// <summary>Docker's device cgroup rules (moby oci/devices_linux.go, DefaultLinuxSpec): deny all, then the standard devices.</summary>
    private static JsonArray DeviceRules(bool privileged)
    {
        if (privileged)
        {
            return [new JsonObject { ["allow"] = true, ["access"] = "rwm" }];
        }
        JsonObject Rule(string type, long? major, long? minor, string access) => new()
        {
            ["allow"] = true,
            ["type"] = type,
            ["major"] = major,
            ["minor"] = minor,
            ["access"] = access,
        };
        return
        [
            new JsonObject { ["allow"] = false, ["access"] = "rwm" },
            Rule("c", null, null, "m"),
            Rule("b", null, null, "m"),
            Rule("c", 1, 3, "rwm"),
            Rule("c", 1, 8, "rwm"),
            Rule("c", 1, 7, "rwm"),
            Rule("c", 5, 0, "rwm"),
            Rule("c", 1, 5, "rwm"),
            Rule("c", 1, 9, "rwm"),
            Rule("c", 136, null, "rwm"),
            Rule("c", 5, 2, "rwm"),
            Rule("c", 10, 200, "rwm"),
        ];
    }
}

using System.Globalization;
using Mocker.Api;

namespace Mocker.Engine.Containers;

/// <summary>Pure helpers of <see cref="ContainerService"/>: config merging, signals, times, /proc reading.</summary>
public static class ContainerHelpers
{
    /// <summary>RFC 3339 with nanoseconds in UTC, as Go's time.RFC3339Nano prints (trailing zeros trimmed); null → Go's zero time.</summary>
    public static string Rfc3339Nano(DateTimeOffset? t)
    {
        if (t is null)
        {
            return "0001-01-01T00:00:00Z";
        }
        var u = t.Value.UtcDateTime;
        var frac = (u.Ticks % TimeSpan.TicksPerSecond * 100).ToString("D9", CultureInfo.InvariantCulture).TrimEnd('0');
        return u.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + (frac.Length > 0 ? "." + frac : "") + "Z";
    }

    /// <summary>Signal number for "KILL", "SIGKILL", "9"; null when unknown.</summary>
    public static int? ParseSignal(string? signal)
    {
        if (string.IsNullOrEmpty(signal))
        {
            return 9;
        }
        if (int.TryParse(signal, out var n))
        {
            return n is > 0 and < 65 ? n : null;
        }
        var name = signal.ToUpperInvariant();
        if (name.StartsWith("SIG", StringComparison.Ordinal))
        {
            name = name[3..];
        }
        return name switch
        {
            "HUP" => 1,
            "INT" => 2,
            "QUIT" => 3,
            "ILL" => 4,
            "TRAP" => 5,
            "ABRT" => 6,
            "IOT" => 6,
            "BUS" => 7,
            "FPE" => 8,
            "KILL" => 9,
            "USR1" => 10,
            "SEGV" => 11,
            "USR2" => 12,
            "PIPE" => 13,
            "ALRM" => 14,
            "TERM" => 15,
            "STKFLT" => 16,
            "CHLD" => 17,
            "CONT" => 18,
            "STOP" => 19,
            "TSTP" => 20,
            "TTIN" => 21,
            "TTOU" => 22,
            "URG" => 23,
            "XCPU" => 24,
            "XFSZ" => 25,
            "VTALRM" => 26,
            "PROF" => 27,
            "WINCH" => 28,
            "IO" => 29,
            "POLL" => 29,
            "PWR" => 30,
            "SYS" => 31,
            _ when name.StartsWith("RTMIN+", StringComparison.Ordinal) && int.TryParse(name[6..], out var r) => 34 + r,
            _ when name.StartsWith("RTMAX-", StringComparison.Ordinal) && int.TryParse(name[6..], out var r2) => 64 - r2,
            _ => null,
        };
    }

    /// <summary>
    /// moby daemon/commit.go merge: the user's health settings win field by field; an empty Test and zero durations or
    /// retries inherit the image's HEALTHCHECK.
    /// </summary>
    internal static HealthConfig? MergeHealth(HealthConfig? user, HealthConfig? image)
    {
        if (user is null || image is null)
        {
            return user ?? image;
        }
        return new HealthConfig
        {
            Test = user.Test is { Count: > 0 } ? user.Test : image.Test,
            Interval = user.Interval != 0 ? user.Interval : image.Interval,
            Timeout = user.Timeout != 0 ? user.Timeout : image.Timeout,
            StartPeriod = user.StartPeriod != 0 ? user.StartPeriod : image.StartPeriod,
            StartInterval = user.StartInterval != 0 ? user.StartInterval : image.StartInterval,
            Retries = user.Retries != 0 ? user.Retries : image.Retries,
        };
    }

    /// <summary>
    /// Merges the image config under the request (moby daemon/commit.go merge + create.go): request Env overrides image Env by
    /// key; when the request has no Entrypoint, an empty request Cmd takes the image Cmd and a null Entrypoint the image's;
    /// WorkingDir, User, StopSignal fall back to the image's; Labels, ExposedPorts and Volumes are unions.
    /// </summary>
    public static ContainerConfig Merge(ContainerConfig req, ContainerConfig? image)
    {
        if (image is null)
        {
            return req;
        }
        var env = new List<string>(image.Env ?? []);
        foreach (var e in req.Env ?? [])
        {
            var key = e.Split('=', 2)[0];
            env.RemoveAll(x => x.Split('=', 2)[0] == key);
            env.Add(e);
        }
        var cmd = req.Cmd;
        var entrypoint = req.Entrypoint;
        if (entrypoint is null || entrypoint.Count == 0)
        {
            if (cmd is null || cmd.Count == 0)
            {
                cmd = image.Cmd;
            }
            entrypoint ??= image.Entrypoint;
        }
        Dictionary<string, T>? Union<T>(Dictionary<string, T>? a, Dictionary<string, T>? b)
        {
            if (a is null && b is null)
            {
                return null;
            }
            var d = new Dictionary<string, T>(a ?? []);
            foreach (var (k, v) in b ?? [])
            {
                d[k] = v;
            }
            return d;
        }
        return req with
        {
            Env = env,
            Cmd = cmd,
            Entrypoint = entrypoint is { Count: 0 } ? null : entrypoint,
            WorkingDir = string.IsNullOrEmpty(req.WorkingDir) ? image.WorkingDir : req.WorkingDir,
            User = string.IsNullOrEmpty(req.User) ? image.User : req.User,
            StopSignal = string.IsNullOrEmpty(req.StopSignal) ? image.StopSignal : req.StopSignal,
            Labels = Union(image.Labels, req.Labels) ?? [],
            ExposedPorts = Union(image.ExposedPorts, req.ExposedPorts),
            Volumes = Union(image.Volumes, req.Volumes),
            Healthcheck = MergeHealth(req.Healthcheck, image.Healthcheck),
            Shell = req.Shell ?? image.Shell,
            OnBuild = req.OnBuild,
        };
    }

    /// <summary>Docker's default /etc/hosts for a container with its own network namespace.</summary>
    public static string DefaultHosts(IEnumerable<string> extraHosts)
    {
        var lines = new List<string>
        {
            "127.0.0.1\tlocalhost",
            "::1\tlocalhost ip6-localhost ip6-loopback",
            "fe00::0\tip6-localnet",
            "ff00::0\tip6-mcastprefix",
            "ff02::1\tip6-allnodes",
            "ff02::2\tip6-allrouters",
        };
        foreach (var h in extraHosts)
        {
            var i = h.IndexOf(':');
            if (i > 0)
            {
                lines.Add($"{h[(i + 1)..]}\t{h[..i]}");
            }
        }
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>One row of `docker top` for a host PID (UID PID PPID C STIME TTY TIME CMD), read from /proc; null when the process is gone.</summary>
    public static List<string>? ProcRow(int pid, DateTimeOffset bootTime)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            var fields = stat[(close + 2)..].Split(' ');
            var ppid = fields[1];
            var ttyNr = int.Parse(fields[4], CultureInfo.InvariantCulture);
            const double hz = 100.0;
            var cpuTicks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            var start = bootTime.AddSeconds(long.Parse(fields[19], CultureInfo.InvariantCulture) / hz);
            var uid = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1];
            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline").TrimEnd('\0').Replace('\0', ' ');
            if (cmdline.Length == 0)
            {
                cmdline = "[" + stat[(stat.IndexOf('(') + 1)..close] + "]";
            }
            var cpu = TimeSpan.FromSeconds(cpuTicks / hz);
            var tty = ttyNr == 0 ? "?" : (ttyNr >> 8) == 136 ? $"pts/{(ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00)}" : "?";
            var stime = start.ToLocalTime().Date == DateTimeOffset.Now.Date ? start.ToLocalTime().ToString("HH:mm", CultureInfo.InvariantCulture) : start.ToLocalTime().ToString("MMMdd", CultureInfo.InvariantCulture);
            return [uid == "0" ? "root" : uid, pid.ToString(CultureInfo.InvariantCulture), ppid, "0", stime, tty, $"{(int)cpu.TotalHours:D2}:{cpu.Minutes:D2}:{cpu.Seconds:D2}", cmdline];
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Boot time from /proc/stat "btime".</summary>
    public static DateTimeOffset BootTime()
    {
        var line = File.ReadLines("/proc/stat").FirstOrDefault(l => l.StartsWith("btime ", StringComparison.Ordinal));
        return line is null ? DateTimeOffset.UnixEpoch : DateTimeOffset.FromUnixTimeSeconds(long.Parse(line[6..], CultureInfo.InvariantCulture));
    }
}

using System.CommandLine;
using System.Globalization;
using Mocker.Api;

namespace Mocker.Cli;

/// <summary>The flags shared by <c>run</c> and <c>create</c> (docker's <c>containerOptions</c>) and their mapping to the create body.</summary>
internal sealed class RunOptions
{
    public readonly Option<bool> Interactive = new("--interactive", "-i") { Description = "Keep STDIN open even if not attached" };
    public readonly Option<bool> Tty = new("--tty", "-t") { Description = "Allocate a pseudo-TTY" };
    public readonly Option<bool> Rm = new("--rm") { Description = "Automatically remove the container when it exits" };
    public readonly Option<string?> Name = new("--name") { Description = "Assign a name to the container" };
    public readonly Option<string[]> Env = new("--env", "-e") { Description = "Set environment variables" };
    public readonly Option<string[]> EnvFile = new("--env-file") { Description = "Read in a file of environment variables" };
    public readonly Option<string?> Workdir = new("--workdir", "-w") { Description = "Working directory inside the container" };
    public readonly Option<string?> User = new("--user", "-u") { Description = "Username or UID (format: <name|uid>[:<group|gid>])" };
    public readonly Option<string?> Entrypoint = new("--entrypoint") { Description = "Overwrite the default ENTRYPOINT of the image" };
    public readonly Option<string[]> Label = new("--label", "-l") { Description = "Set meta data on a container" };
    public readonly Option<string?> Network = new("--network", "--net") { Description = "Connect a container to a network (\"none\", \"host\")" };
    public readonly Option<string?> Hostname = new("--hostname", "-h") { Description = "Container host name" };
    public readonly Option<string?> Restart = new("--restart") { Description = "Restart policy to apply when a container exits" };
    public readonly Option<bool> Init = new("--init") { Description = "Run an init inside the container that forwards signals and reaps processes" };
    public readonly Option<bool> Privileged = new("--privileged") { Description = "Give extended privileges to this container" };
    public readonly Option<string[]> CapAdd = new("--cap-add") { Description = "Add Linux capabilities" };
    public readonly Option<string[]> CapDrop = new("--cap-drop") { Description = "Drop Linux capabilities" };
    public readonly Option<string[]> SecurityOpt = new("--security-opt") { Description = "Security Options" };
    public readonly Option<bool> ReadOnly = new("--read-only") { Description = "Mount the container's root filesystem as read only" };
    public readonly Option<string[]> Ulimit = new("--ulimit") { Description = "Ulimit options" };
    public readonly Option<string?> Memory = new("--memory", "-m") { Description = "Memory limit" };
    public readonly Option<string?> Cpus = new("--cpus") { Description = "Number of CPUs" };
    public readonly Option<string?> StopSignal = new("--stop-signal") { Description = "Signal to stop the container" };
    public readonly Option<int?> StopTimeout = new("--stop-timeout") { Description = "Timeout (in seconds) to stop a container" };
    public readonly Option<string[]> Attach = new("--attach", "-a") { Description = "Attach to STDIN, STDOUT or STDERR" };
    public readonly Option<string[]> Volume = new("--volume", "-v") { Description = "Bind mount a volume" };
    public readonly Option<string[]> Tmpfs = new("--tmpfs") { Description = "Mount a tmpfs directory" };
    public readonly Option<string[]> AddHost = new("--add-host") { Description = "Add a custom host-to-IP mapping (host:ip)" };
    public readonly Option<string[]> Dns = new("--dns") { Description = "Set custom DNS servers" };
    public readonly Option<string?> Pids = new("--pids-limit") { Description = "Tune container pids limit (set -1 for unlimited)" };
    public readonly Option<string?> ShmSize = new("--shm-size") { Description = "Size of /dev/shm" };
    public readonly Option<string[]> Sysctl = new("--sysctl") { Description = "Sysctl options" };
    public readonly Option<string?> Platform = new("--platform") { Description = "Set platform if server is multi-platform capable" };
    public readonly Option<string?> Pull = new("--pull") { Description = "Pull image before running (\"always\", \"missing\", \"never\")" };
    public readonly Option<string?> HealthCmd = new("--health-cmd") { Description = "Command to run to check health" };
    public readonly Option<string?> HealthInterval = new("--health-interval") { Description = "Time between running the check (ms|s|m|h) (default 0s)" };
    public readonly Option<string?> HealthTimeout = new("--health-timeout") { Description = "Maximum time to allow one check to run (ms|s|m|h) (default 0s)" };
    public readonly Option<string?> HealthStartPeriod = new("--health-start-period") { Description = "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)" };
    public readonly Option<int?> HealthRetries = new("--health-retries") { Description = "Consecutive failures needed to report unhealthy" };
    public readonly Option<bool> NoHealthcheck = new("--no-healthcheck") { Description = "Disable any container-specified HEALTHCHECK" };
    public readonly Argument<string> Image = new("IMAGE");
    public readonly Argument<string[]> Command = new("COMMAND") { Arity = ArgumentArity.ZeroOrMore };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[]
                 {
                     Interactive, Tty, Rm, Name, Env, EnvFile, Workdir, User, Entrypoint, Label, Network, Hostname, Restart, Init,
                     Privileged, CapAdd, CapDrop, SecurityOpt, ReadOnly, Ulimit, Memory, Cpus, StopSignal, StopTimeout, Attach, Volume,
                     Tmpfs, AddHost, Dns, Pids, ShmSize, Sysctl, Platform, Pull,
                     HealthCmd, HealthInterval, HealthTimeout, HealthStartPeriod, HealthRetries, NoHealthcheck,
                 })
            command.Options.Add(o);
        command.Arguments.Add(Image);
        command.Arguments.Add(Command);
    }

    /// <summary>Builds the create body as the docker CLI fills it (engine-api-trace.md §1.2–1.4).</summary>
    /// <exception cref="UsageException">A flag value is malformed.</exception>
    public ContainerCreateRequest BuildRequest(System.CommandLine.ParseResult pr, bool detach)
    {
        var interactive = pr.GetValue(Interactive);
        var tty = pr.GetValue(Tty);
        var attach = pr.GetValue(Attach) ?? [];
        bool attachStdin, attachStdout, attachStderr;
        if (attach.Length > 0)
        {
            if (detach) throw new UsageException("Conflicting options: -a and -d");
            foreach (var a in attach)
                if (a.ToLowerInvariant() is not ("stdin" or "stdout" or "stderr"))
                    throw new UsageException($"invalid argument \"{a}\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR");
            attachStdin = attach.Any(a => a.Equals("stdin", StringComparison.OrdinalIgnoreCase));
            attachStdout = attach.Any(a => a.Equals("stdout", StringComparison.OrdinalIgnoreCase));
            attachStderr = attach.Any(a => a.Equals("stderr", StringComparison.OrdinalIgnoreCase));
        }
        else
        {
            attachStdin = interactive && !detach;
            attachStdout = !detach;
            attachStderr = !detach;
        }

        var cmd = pr.GetValue(Command) ?? [];
        var entrypoint = pr.GetValue(Entrypoint);
        var memory = pr.GetValue(Memory);
        var cpus = pr.GetValue(Cpus);
        var network = pr.GetValue(Network);
        long nanoCpus = 0;
        if (!string.IsNullOrEmpty(cpus))
        {
            if (!decimal.TryParse(cpus, NumberStyles.Number, CultureInfo.InvariantCulture, out var c) || c < 0)
                throw new UsageException($"invalid argument \"{cpus}\" for \"--cpus\" flag: failed to parse {cpus} as a rational number");
            nanoCpus = (long)(c * 1_000_000_000m);
        }
        long memoryBytes = 0;
        if (!string.IsNullOrEmpty(memory))
        {
            try { memoryBytes = Units.RamInBytes(memory); }
            catch (FormatException) { throw new UsageException($"invalid argument \"{memory}\" for \"-m, --memory\" flag: invalid size: '{memory}'"); }
        }
        long shm = 0;
        if (pr.GetValue(ShmSize) is { Length: > 0 } shmText)
        {
            try { shm = Units.RamInBytes(shmText); }
            catch (FormatException) { throw new UsageException($"invalid argument \"{shmText}\" for \"--shm-size\" flag: invalid size: '{shmText}'"); }
        }
        long? pids = null;
        if (pr.GetValue(Pids) is { Length: > 0 } pidsText)
            pids = long.TryParse(pidsText, out var p) ? p : throw new UsageException($"invalid argument \"{pidsText}\" for \"--pids-limit\" flag");

        var binds = new List<string>();
        var anonymous = new Dictionary<string, EmptyObject>();
        foreach (var v in pr.GetValue(Volume) ?? [])
        {
            if (v.Contains(':', StringComparison.Ordinal)) binds.Add(v);
            else anonymous[v] = new EmptyObject();
        }
        var tmpfs = new Dictionary<string, string>();
        foreach (var t in pr.GetValue(Tmpfs) ?? [])
        {
            var colon = t.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) tmpfs[t] = "";
            else tmpfs[t[..colon]] = t[(colon + 1)..];
        }
        var sysctls = new Dictionary<string, string>();
        foreach (var s in pr.GetValue(Sysctl) ?? [])
        {
            var eq = s.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new UsageException($"invalid argument \"{s}\" for \"--sysctl\" flag: sysctl '{s}' is not allowed");
            sysctls[s[..eq]] = s[(eq + 1)..];
        }

        return new ContainerCreateRequest
        {
            Hostname = pr.GetValue(Hostname) ?? "",
            Domainname = "",
            User = pr.GetValue(User) ?? "",
            AttachStdin = attachStdin,
            AttachStdout = attachStdout,
            AttachStderr = attachStderr,
            Tty = tty,
            OpenStdin = interactive,
            StdinOnce = interactive && attachStdin,
            Env = ParseEnv(pr.GetValue(EnvFile) ?? [], pr.GetValue(Env) ?? []) is { Count: > 0 } env ? env : null,
            Cmd = cmd.Length > 0 ? [.. cmd] : null,
            Image = pr.GetValue(Image),
            Volumes = anonymous.Count > 0 ? anonymous : [],
            WorkingDir = pr.GetValue(Workdir) ?? "",
            Entrypoint = entrypoint is null ? null : entrypoint.Length == 0 ? [""] : [entrypoint],
            Labels = ParseLabels(pr.GetValue(Label) ?? []),
            StopSignal = pr.GetValue(StopSignal),
            StopTimeout = pr.GetValue(StopTimeout),
            Healthcheck = ParseHealth(pr),
            HostConfig = new HostConfig
            {
                Binds = binds.Count > 0 ? binds : null,
                NetworkMode = string.IsNullOrEmpty(network) ? "default" : network,
                RestartPolicy = ParseRestart(pr.GetValue(Restart)),
                AutoRemove = pr.GetValue(Rm),
                CapAdd = NullIfEmpty(pr.GetValue(CapAdd)),
                CapDrop = NullIfEmpty(pr.GetValue(CapDrop)),
                Privileged = pr.GetValue(Privileged),
                ReadonlyRootfs = pr.GetValue(ReadOnly),
                SecurityOpt = NullIfEmpty(pr.GetValue(SecurityOpt)),
                Ulimits = ParseUlimits(pr.GetValue(Ulimit) ?? []),
                Memory = memoryBytes,
                NanoCpus = nanoCpus,
                PidsLimit = pids,
                ShmSize = shm,
                Init = pr.GetValue(Init) ? true : null,
                Tmpfs = tmpfs.Count > 0 ? tmpfs : null,
                ExtraHosts = NullIfEmpty(pr.GetValue(AddHost)),
                Dns = NullIfEmpty(pr.GetValue(Dns)),
                Sysctls = sysctls.Count > 0 ? sysctls : null,
                LogConfig = new LogConfig { Type = "" },
                PortBindings = [],
                MemorySwappiness = -1,
                ConsoleSize = tty && Terminal.GetSize(1) is { } size ? [size.Height, size.Width] : [0, 0],
            },
            NetworkingConfig = new NetworkingConfig
            {
                EndpointsConfig = string.IsNullOrEmpty(network) ? new Dictionary<string, EndpointSettings?> { ["default"] = new EndpointSettings() } : [],
            },
        };
    }

    private static List<string>? NullIfEmpty(string[]? values) => values is { Length: > 0 } ? [.. values] : null;

    /// <summary><c>-e KEY=value</c>, <c>-e KEY</c> (copied from this environment when set) and <c>--env-file</c> lines.</summary>
    public static List<string> ParseEnv(IEnumerable<string> envFiles, IEnumerable<string> values)
    {
        var result = new List<string>();
        foreach (var file in envFiles)
        {
            if (!File.Exists(file)) throw new UsageException($"open {file}: no such file or directory");
            foreach (var raw in File.ReadAllLines(file))
            {
                var line = raw.TrimStart();
                if (line.Length == 0 || line.StartsWith('#')) continue;
                AddEnv(result, line);
            }
        }
        foreach (var v in values) AddEnv(result, v);
        return result;
    }

    private static void AddEnv(List<string> result, string v)
    {
        if (v.StartsWith('=')) throw new UsageException($"invalid environment variable: {v}");
        if (v.Contains('=', StringComparison.Ordinal)) { result.Add(v); return; }
        if (Environment.GetEnvironmentVariable(v) is { } fromHost) result.Add(v + "=" + fromHost);
    }

    public static Dictionary<string, string> ParseLabels(IEnumerable<string> values)
    {
        var labels = new Dictionary<string, string>();
        foreach (var l in values)
        {
            var eq = l.IndexOf('=', StringComparison.Ordinal);
            if (eq == 0) throw new UsageException($"invalid label: {l}");
            if (eq < 0) labels[l] = "";
            else labels[l[..eq]] = l[(eq + 1)..];
        }
        return labels;
    }

    /// <summary><c>--restart no|always|unless-stopped|on-failure[:N]</c>.</summary>
    /// <summary>docker cli/command/container/opts.go: --no-healthcheck is Test ["NONE"]; any --health-* flag builds a HealthConfig (durations in ns).</summary>
    private HealthConfig? ParseHealth(ParseResult pr)
    {
        var cmd = pr.GetValue(HealthCmd);
        long Nanos(Option<string?> o, string flag)
        {
            var v = pr.GetValue(o);
            if (string.IsNullOrEmpty(v)) return 0;
            if (!TimeArgs.TryParseGoDuration(v, out var d)) throw new UsageException($"invalid argument \"{v}\" for \"{flag}\" flag: time: invalid duration \"{v}\"");
            if (d < TimeSpan.Zero) throw new UsageException($"{flag} cannot be negative");
            return d.Ticks * 100;
        }
        var interval = Nanos(HealthInterval, "--health-interval");
        var timeout = Nanos(HealthTimeout, "--health-timeout");
        var startPeriod = Nanos(HealthStartPeriod, "--health-start-period");
        var retries = pr.GetValue(HealthRetries);
        var any = !string.IsNullOrEmpty(cmd) || interval != 0 || timeout != 0 || startPeriod != 0 || retries is not null;
        if (pr.GetValue(NoHealthcheck))
        {
            if (any) throw new UsageException("--no-healthcheck conflicts with --health-* options");
            return new HealthConfig { Test = ["NONE"] };
        }
        if (!any) return null;
        if (retries < 0) throw new UsageException("--health-retries cannot be negative");
        return new HealthConfig
        {
            Test = string.IsNullOrEmpty(cmd) ? null : ["CMD-SHELL", cmd],
            Interval = interval,
            Timeout = timeout,
            StartPeriod = startPeriod,
            Retries = retries ?? 0,
        };
    }

    public static RestartPolicy ParseRestart(string? value)
    {
        if (string.IsNullOrEmpty(value)) return new RestartPolicy { Name = "no" };
        var parts = value.Split(':', 2);
        var name = parts[0];
        if (name is not ("no" or "always" or "unless-stopped" or "on-failure"))
            throw new UsageException($"invalid restart policy {value}");
        var max = 0;
        if (parts.Length == 2)
        {
            if (name != "on-failure") throw new UsageException($"invalid restart policy format: maximum retry count can only be used with 'on-failure'");
            if (!int.TryParse(parts[1], out max) || max < 0) throw new UsageException($"invalid restart policy format: maximum retry count must be an integer");
        }
        return new RestartPolicy { Name = name, MaximumRetryCount = max };
    }

    /// <summary><c>--ulimit name=soft[:hard]</c>.</summary>
    public static List<Ulimit>? ParseUlimits(IEnumerable<string> values)
    {
        var result = new List<Ulimit>();
        foreach (var v in values)
        {
            var eq = v.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new UsageException($"invalid argument \"{v}\" for \"--ulimit\" flag: invalid ulimit argument: {v}");
            var limits = v[(eq + 1)..].Split(':');
            if (!long.TryParse(limits[0], out var soft) || (limits.Length > 1 && !long.TryParse(limits[1], out _)) || limits.Length > 2)
                throw new UsageException($"invalid argument \"{v}\" for \"--ulimit\" flag: invalid ulimit argument: {v}");
            var hard = limits.Length > 1 ? long.Parse(limits[1], CultureInfo.InvariantCulture) : soft;
            if (soft > hard) throw new UsageException($"invalid argument \"{v}\" for \"--ulimit\" flag: ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}");
            result.Add(new Ulimit { Name = v[..eq], Soft = soft, Hard = hard });
        }
        return result.Count > 0 ? result : null;
    }
}

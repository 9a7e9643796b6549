using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Mocker.Api;
using Mocker.Client;

namespace Mocker.Cli;

/// <summary>Container verbs: run, create, start, stop, kill, restart, rm, ps, logs, exec, attach, wait, rename, top, prune.</summary>
internal static class ContainerCommands
{
    public static Command Run(string name = "run")
    {
        var o = new RunOptions();
        var detach = new Option<bool>("--detach", "-d") { Description = "Run container in background and print container ID" };
        var sigProxy = new Option<bool>("--sig-proxy") { Description = "Proxy received signals to the process", DefaultValueFactory = _ => true };
        var cmd = new Command(name, "Create and run a new container from an image");
        o.AddTo(cmd);
        cmd.Options.Add(detach);
        cmd.Options.Add(sigProxy);
        cmd.SetAction((pr, ct) => Cli.Run(pr, c => RunAsync(c, pr, o, pr.GetValue(detach), pr.GetValue(sigProxy), ct)));
        return cmd;
    }

    /// <summary>
    /// Creates the container, pulling its image first with <c>--pull=always</c> or when the daemon reports "No such image"
    /// (docker's default policy "missing"); "never" only reports. A failed pull surfaces as the create's 404.
    /// </summary>
    private static async Task<ContainerCreateResponse> CreateWithPullAsync(MockerClient c, ContainerCreateRequest req, string? name, string? policy, string? platform, CancellationToken ct)
    {
        if (policy == "always" && await DistributionCommands.PullForRunAsync(c, req.Image!, platform, announce: false, ct).ConfigureAwait(false) is { } failed)
            throw new MockerNotFoundException(failed);
        try
        {
            return await c.Containers.CreateAsync(req, name, ct).ConfigureAwait(false);
        }
        catch (MockerNotFoundException e) when (e.Message.StartsWith("No such image", StringComparison.Ordinal))
        {
            if (policy == "never")
            {
                Cli.ErrLine($"Unable to find image '{req.Image}' locally");
                throw;
            }
            if (await DistributionCommands.PullForRunAsync(c, req.Image!, platform, announce: true, ct).ConfigureAwait(false) is { } error)
                throw new MockerNotFoundException(error);
        }
        return await c.Containers.CreateAsync(req, name, ct).ConfigureAwait(false);
    }

    private static async Task<int> RunAsync(MockerClient c, ParseResult pr, RunOptions o, bool detach, bool sigProxy, CancellationToken ct)
    {
        var path = Cli.CommandPath(pr.CommandResult.Command);
        var req = o.BuildRequest(pr, detach);
        string id;
        try
        {
            var created = await CreateWithPullAsync(c, req, pr.GetValue(o.Name), pr.GetValue(o.Pull), pr.GetValue(o.Platform), ct).ConfigureAwait(false);
            foreach (var w in created.Warnings) Cli.ErrLine("WARNING: " + w);
            id = created.Id;
        }
        catch (MockerApiException e)
        {
            return Cli.Usage(path, "Error response from daemon: " + e.Message);
        }

        if (detach)
        {
            try
            {
                await c.Containers.StartAsync(id, ct).ConfigureAwait(false);
            }
            catch (MockerApiException e)
            {
                Cli.Usage(path, "Error response from daemon: " + e.Message);
                return StartErrorCode(e.Message);
            }
            Cli.OutLine(id);
            return 0;
        }

        HijackedStream? stream = null;
        Terminal? raw = null;
        var registrations = new List<PosixSignalRegistration>();
        try
        {
            if (req.AttachStdin || req.AttachStdout || req.AttachStderr)
            {
                stream = await c.Containers.AttachAsync(id, new ContainerAttachOptions
                {
                    Stdin = req.AttachStdin,
                    Stdout = req.AttachStdout,
                    Stderr = req.AttachStderr,
                }, ct).ConfigureAwait(false);
            }
            // The wait must be registered (its headers received) before start, or a fast container's exit is missed (§1.2).
            var wait = await c.Containers.BeginWaitAsync(id, req.HostConfig!.AutoRemove ? "removed" : "next-exit", ct).ConfigureAwait(false);
            if (req.Tty && req.AttachStdin) raw = Terminal.MakeRaw(0);
            try
            {
                await c.Containers.StartAsync(id, ct).ConfigureAwait(false);
            }
            catch (MockerApiException e)
            {
                raw?.Dispose();
                Cli.Usage(path, "Error response from daemon: " + e.Message);
                if (req.HostConfig.AutoRemove)
                {
                    try { await wait.ConfigureAwait(false); }
                    catch (MockerApiException) { }
                }
                return StartErrorCode(e.Message);
            }
            if (req.Tty) registrations.AddRange(TrackResize(h => c.Containers.ResizeAsync(id, h.Height, h.Width, CancellationToken.None)));
            if (!req.Tty && sigProxy) registrations.AddRange(ProxySignals(sig => c.Containers.KillAsync(id, sig, CancellationToken.None)));
            if (stream is not null)
            {
                if (req.AttachStdin) _ = PumpStdinAsync(stream);
                await CopyOutputAsync(stream, req.Tty, ct).ConfigureAwait(false);
            }
            var status = await wait.ConfigureAwait(false);
            if (status.Error?.Message is { Length: > 0 } message) Cli.ErrLine(message);
            return (int)status.StatusCode;
        }
        finally
        {
            foreach (var r in registrations) r.Dispose();
            raw?.Dispose();
            if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>docker's <c>runStartContainerErr</c>: 127 when the command was not found, 126 when it cannot be executed, else 125.</summary>
    public static int StartErrorCode(string message)
    {
        if (message.Contains("executable file not found", StringComparison.Ordinal) || message.Contains("no such file or directory", StringComparison.Ordinal))
            return 127;
        if (message.Contains("permission denied", StringComparison.Ordinal) || message.Contains("is a directory", StringComparison.Ordinal))
            return 126;
        return 125;
    }

    private static async Task CopyOutputAsync(HijackedStream stream, bool tty, CancellationToken ct)
    {
        try
        {
            await stream.CopyOutputAsync(Cli.Stdout, Cli.Stderr, tty, ct).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The daemon closed the connection abruptly: the output ended; the exit status comes from wait/inspect.
        }
    }

    private static async Task PumpStdinAsync(HijackedStream stream)
    {
        try
        {
            await stream.CopyStdinAsync(Cli.OpenStdin()).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The connection closed while stdin was still open (the process exited): nothing more to send.
        }
    }

    /// <summary>Sends the terminal size now and on every SIGWINCH.</summary>
    private static IEnumerable<PosixSignalRegistration> TrackResize(Func<(int Height, int Width), Task> resize)
    {
        async Task SendAsync()
        {
            if (Terminal.GetSize(1) is not { } size) return;
            try { await resize(size).ConfigureAwait(false); }
            catch (MockerApiException) { }
        }
        _ = SendAsync();
        return [PosixSignalRegistration.Create(PosixSignal.SIGWINCH, ctx => { _ = SendAsync(); })];
    }

    /// <summary>Forwards SIGINT/SIGTERM to the container instead of ending the CLI (docker's <c>--sig-proxy</c>).</summary>
    private static IEnumerable<PosixSignalRegistration> ProxySignals(Func<string, Task> kill)
    {
        PosixSignalRegistration Register(PosixSignal signal, string name) => PosixSignalRegistration.Create(signal, ctx =>
        {
            ctx.Cancel = true;
            _ = Task.Run(async () =>
            {
                try { await kill(name).ConfigureAwait(false); }
                catch (MockerApiException) { }
            });
        });
        return [Register(PosixSignal.SIGINT, "SIGINT"), Register(PosixSignal.SIGTERM, "SIGTERM")];
    }

    public static Command Create(string name = "create")
    {
        var o = new RunOptions();
        var cmd = new Command(name, "Create a new container");
        o.AddTo(cmd);
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var req = o.BuildRequest(pr, detach: false);
            try
            {
                var created = await CreateWithPullAsync(c, req, pr.GetValue(o.Name), pr.GetValue(o.Pull), pr.GetValue(o.Platform), ct).ConfigureAwait(false);
                foreach (var w in created.Warnings) Cli.ErrLine("WARNING: " + w);
                Cli.OutLine(created.Id);
                return 0;
            }
            catch (MockerNotFoundException e) when (e.Message.StartsWith("No such image", StringComparison.Ordinal))
            {
                return Cli.Usage(Cli.CommandPath(pr.CommandResult.Command), "Error response from daemon: " + e.Message);
            }
        }));
        return cmd;
    }

    public static Command Start(string name = "start")
    {
        var attach = new Option<bool>("--attach", "-a") { Description = "Attach STDOUT/STDERR and forward signals" };
        var interactive = new Option<bool>("--interactive", "-i") { Description = "Attach container's STDIN" };
        var containers = new Argument<string[]>("CONTAINER") { Arity = ArgumentArity.OneOrMore };
        var cmd = new Command(name, "Start one or more stopped containers") { attach, interactive, containers };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var targets = pr.GetValue(containers)!;
            if (!pr.GetValue(attach) && !pr.GetValue(interactive))
                return await Cli.ForEach(targets, async t => { await c.Containers.StartAsync(t, ct).ConfigureAwait(false); Cli.OutLine(t); }).ConfigureAwait(false);
            if (targets.Length > 1) throw new UsageException("you cannot start and attach multiple containers at once");
            var info = await c.Containers.InspectAsync(targets[0], ct: ct).ConfigureAwait(false);
            var withStdin = pr.GetValue(interactive) && info.Config.OpenStdin;
            await using var stream = await c.Containers.AttachAsync(info.Id, new ContainerAttachOptions { Stdin = withStdin }, ct).ConfigureAwait(false);
            var wait = await c.Containers.BeginWaitAsync(info.Id, "next-exit", ct).ConfigureAwait(false);
            using var raw = info.Config.Tty && withStdin ? Terminal.MakeRaw(0) : null;
            await c.Containers.StartAsync(info.Id, ct).ConfigureAwait(false);
            var regs = info.Config.Tty ? TrackResize(s => c.Containers.ResizeAsync(info.Id, s.Height, s.Width, CancellationToken.None)).ToList() : [];
            try
            {
                if (withStdin) _ = PumpStdinAsync(stream);
                await CopyOutputAsync(stream, info.Config.Tty, ct).ConfigureAwait(false);
                return (int)(await wait.ConfigureAwait(false)).StatusCode;
            }
            finally
            {
                foreach (var r in regs) r.Dispose();
            }
        }));
        return cmd;
    }

    public static Command Stop(string name = "stop") =>
        TimedVerb(name, "Stop one or more running containers", (c, id, t, ct) => c.Containers.StopAsync(id, t, ct));

    public static Command Restart(string name = "restart") =>
        TimedVerb(name, "Restart one or more containers", (c, id, t, ct) => c.Containers.RestartAsync(id, t, ct));

    /// <summary>stop and restart: the same flags and output (each name echoed), different calls.</summary>
    private static Command TimedVerb(string name, string description, Func<MockerClient, string, int?, CancellationToken, Task> call)
    {
        var time = new Option<int?>("--time", "-t", "--timeout") { Description = "Seconds to wait before killing the container" };
        var containers = new Argument<string[]>("CONTAINER") { Arity = ArgumentArity.OneOrMore };
        var cmd = new Command(name, description) { time, containers };
        cmd.SetAction((pr, ct) => Cli.Run(pr, c => Cli.ForEach(pr.GetValue(containers)!, async t =>
        {
            await call(c, t, pr.GetValue(time), ct).ConfigureAwait(false);
            Cli.OutLine(t);
        })));
        return cmd;
    }

    public static Command Kill(string name = "kill")
    {
        var signal = new Option<string?>("--signal", "-s") { Description = "Signal to send to the container" };
        var containers = new Argument<string[]>("CONTAINER") { Arity = ArgumentArity.OneOrMore };
        var cmd = new Command(name, "Kill one or more running containers") { signal, containers };
        cmd.SetAction((pr, ct) => Cli.Run(pr, c => Cli.ForEach(pr.GetValue(containers)!, async t =>
        {
            await c.Containers.KillAsync(t, pr.GetValue(signal), ct).ConfigureAwait(false);
            Cli.OutLine(t);
        })));
        return cmd;
    }

    public static Command Remove(string name = "rm")
    {
        var force = new Option<bool>("--force", "-f") { Description = "Force the removal of a running container (uses SIGKILL)" };
        var volumes = new Option<bool>("--volumes", "-v") { Description = "Remove anonymous volumes associated with the container" };
        var containers = new Argument<string[]>("CONTAINER") { Arity = ArgumentArity.OneOrMore };
        var cmd = new Command(name, "Remove one or more containers") { force, volumes, containers };
        cmd.SetAction((pr, ct) => Cli.Run(pr, c => Cli.ForEach(pr.GetValue(containers)!, async t =>
        {
            await c.Containers.RemoveAsync(t, pr.GetValue(force), pr.GetValue(volumes), ct).ConfigureAwait(false);
            Cli.OutLine(t);
        })));
        return cmd;
    }

    private static readonly Dictionary<string, string> PsHeaders = new()
    {
        ["ID"] = "CONTAINER ID",
        ["Image"] = "IMAGE",
        ["Command"] = "COMMAND",
        ["CreatedAt"] = "CREATED AT",
        ["RunningFor"] = "CREATED",
        ["Ports"] = "PORTS",
        ["State"] = "STATE",
        ["Status"] = "STATUS",
        ["Size"] = "SIZE",
        ["Names"] = "NAMES",
        ["Labels"] = "LABELS",
        ["Mounts"] = "MOUNTS",
        ["Networks"] = "NETWORKS",
        ["LocalVolumes"] = "LOCAL VOLUMES",
    };

    public static Command Ps(string name = "ps", params string[] aliases)
    {
        var all = new Option<bool>("--all", "-a") { Description = "Show all containers (default shows just running)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only display container IDs" };
        var last = new Option<int?>("--last", "-n") { Description = "Show n last created containers (includes all states)" };
        var latest = new Option<bool>("--latest", "-l") { Description = "Show the latest created container (includes all states)" };
        var filter = new Option<string[]>("--filter", "-f") { Description = "Filter output based on conditions provided" };
        var format = new Option<string?>("--format") { Description = "Format output using a custom template: 'table', 'json' or a Go template" };
        var noTrunc = new Option<bool>("--no-trunc") { Description = "Don't truncate output" };
        var size = new Option<bool>("--size", "-s") { Description = "Display total file sizes" };
        var cmd = new Command(name, "List containers") { all, quiet, last, latest, filter, format, noTrunc, size };
        foreach (var a in aliases) cmd.Aliases.Add(a);
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var limit = pr.GetValue(latest) ? 1 : pr.GetValue(last) is { } n and > 0 ? n : (int?)null;
            var fmt = pr.GetValue(format);
            var withSize = pr.GetValue(size) || (fmt?.Contains(".Size", StringComparison.Ordinal) ?? false);
            var list = await c.Containers.ListAsync(new ContainerListOptions
            {
                All = pr.GetValue(all) || limit is not null,
                Limit = limit,
                Size = withSize,
                Filters = Cli.Filters(pr.GetValue(filter)),
            }, ct).ConfigureAwait(false);
            var trunc = !pr.GetValue(noTrunc);
            if (pr.GetValue(quiet))
            {
                Cli.Out(string.Concat(list.Select(x => (trunc ? Units.ShortId(x.Id) : x.Id) + "\n")));
                return 0;
            }
            var table = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}" + (withSize && fmt is null ? "\t{{.Size}}" : "");
            Output.Render(fmt, table, list.Select(x => PsRow(x, trunc)).ToList(), PsHeaders);
            return 0;
        }));
        return cmd;
    }

    /// <summary>One <c>ps</c> row with docker's field names and renderings (cli/command/formatter/container.go).</summary>
    public static SortedDictionary<string, string> PsRow(ContainerSummary x, bool trunc)
    {
        var names = x.Names.Select(n => n.TrimStart('/')).Where(n => !trunc || !n.Contains('/', StringComparison.Ordinal));
        var image = x.Image;
        if (trunc && image.StartsWith("sha256:", StringComparison.Ordinal)) image = Units.ShortId(image);
        var command = trunc ? Units.Ellipsis(x.Command, 20) : x.Command;
        return new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["ID"] = trunc ? Units.ShortId(x.Id) : x.Id,
            ["Image"] = image,
            ["Command"] = Units.GoQuote(command),
            ["CreatedAt"] = DateTimeOffset.FromUnixTimeSeconds(x.Created).ToString("yyyy-MM-dd HH:mm:ss +0000 'UTC'", CultureInfo.InvariantCulture),
            ["RunningFor"] = Units.Ago(x.Created),
            ["Ports"] = FormatPorts(x.Ports),
            ["State"] = x.State,
            ["Status"] = x.Status,
            ["Size"] = x.SizeRw is null && x.SizeRootFs is null ? "0B"
                : Units.HumanSize(x.SizeRw ?? 0) + " (virtual " + Units.HumanSize(x.SizeRootFs ?? 0) + ")",
            ["Names"] = string.Join(',', names),
            ["Labels"] = string.Join(',', x.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value)),
            ["Mounts"] = string.Join(',', x.Mounts.Select(m => m.Name is { Length: > 0 } n ? (trunc ? Units.Ellipsis(n, 15) : n) : m.Source ?? "")),
            ["Networks"] = string.Join(',', x.NetworkSettings.Networks.Keys.Order(StringComparer.Ordinal)),
            ["LocalVolumes"] = x.Mounts.Count(m => m.Driver == "local").ToString(CultureInfo.InvariantCulture),
        };
    }

    /// <summary>docker's <c>DisplayablePorts</c>: "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp", unpublished ones as "80/tcp".</summary>
    public static string FormatPorts(IEnumerable<PortSummary> ports) => string.Join(", ", ports
        .OrderBy(p => p.PrivatePort).ThenBy(p => p.Type, StringComparer.Ordinal)
        .Select(p => p.PublicPort is { } pub
            ? $"{(p.IP is { } ip && ip.Contains(':', StringComparison.Ordinal) ? "[" + ip + "]" : p.IP)}:{pub}->{p.PrivatePort}/{p.Type}"
            : $"{p.PrivatePort}/{p.Type}")
        .Distinct());

    public static Command Logs(string name = "logs")
    {
        var follow = new Option<bool>("--follow", "-f") { Description = "Follow log output" };
        var timestamps = new Option<bool>("--timestamps", "-t") { Description = "Show timestamps" };
        var tail = new Option<string>("--tail", "-n") { Description = "Number of lines to show from the end of the logs", DefaultValueFactory = _ => "all" };
        var since = new Option<string?>("--since") { Description = "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\")" };
        var until = new Option<string?>("--until") { Description = "Show logs before a timestamp or relative" };
        var details = new Option<bool>("--details") { Description = "Show extra details provided to logs" };
        var container = new Argument<string>("CONTAINER");
        var cmd = new Command(name, "Fetch the logs of a container") { follow, timestamps, tail, since, until, details, container };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var now = DateTimeOffset.UtcNow;
            string? Time(Option<string?> o, string flag)
            {
                var v = pr.GetValue(o);
                if (string.IsNullOrEmpty(v)) return null;
                try { return TimeArgs.ToApiTimestamp(v, now); }
                catch (FormatException e) { throw new UsageException($"invalid value for \"{flag}\": {e.Message}"); }
            }
            var options = new ContainerLogsOptions
            {
                Follow = pr.GetValue(follow),
                Timestamps = pr.GetValue(timestamps),
                Tail = pr.GetValue(tail) ?? "all",
                Since = Time(since, "since"),
                Until = Time(until, "until"),
            };
            var info = await c.Containers.InspectAsync(pr.GetValue(container)!, ct: ct).ConfigureAwait(false);
            await foreach (var chunk in c.Containers.LogsAsync(info.Id, options, info.Config.Tty, ct).ConfigureAwait(false))
            {
                var target = chunk.Stream is StdStream.Stderr or StdStream.SystemErr ? Cli.Stderr : Cli.Stdout;
                target.Write(chunk.Data.Span);
                target.Flush();
            }
            return 0;
        }));
        return cmd;
    }

    public static Command Exec(string name = "exec")
    {
        var detach = new Option<bool>("--detach", "-d") { Description = "Detached mode: run command in the background" };
        var interactive = new Option<bool>("--interactive", "-i") { Description = "Keep STDIN open even if not attached" };
        var tty = new Option<bool>("--tty", "-t") { Description = "Allocate a pseudo-TTY" };
        var env = new Option<string[]>("--env", "-e") { Description = "Set environment variables" };
        var envFile = new Option<string[]>("--env-file") { Description = "Read in a file of environment variables" };
        var workdir = new Option<string?>("--workdir", "-w") { Description = "Working directory inside the container" };
        var user = new Option<string?>("--user", "-u") { Description = "Username or UID (format: \"<name|uid>[:<group|gid>]\")" };
        var privileged = new Option<bool>("--privileged") { Description = "Give extended privileges to the command" };
        var container = new Argument<string>("CONTAINER");
        var command = new Argument<string[]>("COMMAND") { Arity = ArgumentArity.OneOrMore };
        var cmd = new Command(name, "Execute a command in a running container")
            { detach, interactive, tty, env, envFile, workdir, user, privileged, container, command };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var isTty = pr.GetValue(tty);
            var isDetach = pr.GetValue(detach);
            var stdin = pr.GetValue(interactive) && !isDetach;
            var target = pr.GetValue(container)!;
            var config = new ExecConfig
            {
                User = pr.GetValue(user) ?? "",
                Privileged = pr.GetValue(privileged),
                Tty = isTty,
                AttachStdin = stdin,
                AttachStdout = !isDetach,
                AttachStderr = !isDetach,
                Detach = isDetach,
                DetachKeys = "",
                Env = RunOptions.ParseEnv(pr.GetValue(envFile) ?? [], pr.GetValue(env) ?? []) is { Count: > 0 } e ? e : null,
                WorkingDir = pr.GetValue(workdir) ?? "",
                Cmd = [.. pr.GetValue(command)!],
            };
            var execId = await c.Exec.CreateAsync(target, config, ct).ConfigureAwait(false);
            if (isDetach)
            {
                await c.Exec.StartDetachedAsync(execId, isTty, ct).ConfigureAwait(false);
                return 0;
            }
            await using (var stream = await c.Exec.StartAsync(execId, isTty, ct).ConfigureAwait(false))
            {
                using var raw = isTty && stdin ? Terminal.MakeRaw(0) : null;
                var regs = isTty ? TrackResize(s => c.Exec.ResizeAsync(execId, s.Height, s.Width, CancellationToken.None)).ToList() : [];
                try
                {
                    if (stdin) _ = PumpStdinAsync(stream);
                    await CopyOutputAsync(stream, isTty, ct).ConfigureAwait(false);
                }
                finally
                {
                    foreach (var r in regs) r.Dispose();
                }
            }
            var result = await c.Exec.InspectAsync(execId, ct).ConfigureAwait(false);
            return result.ExitCode ?? 0;
        }));
        return cmd;
    }

    public static Command Attach(string name = "attach")
    {
        var noStdin = new Option<bool>("--no-stdin") { Description = "Do not attach STDIN" };
        var sigProxy = new Option<bool>("--sig-proxy") { Description = "Proxy all received signals to the process", DefaultValueFactory = _ => true };
        var container = new Argument<string>("CONTAINER");
        var cmd = new Command(name, "Attach local standard input, output, and error streams to a running container") { noStdin, sigProxy, container };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var target = pr.GetValue(container)!;
            var wait = await c.Containers.BeginWaitAsync(target, null, ct).ConfigureAwait(false);
            var info = await c.Containers.InspectAsync(target, ct: ct).ConfigureAwait(false);
            if (!info.State.Running) throw new MockerApiException(System.Net.HttpStatusCode.Conflict, "You cannot attach to a stopped container, start it first");
            var withStdin = info.Config.OpenStdin && !pr.GetValue(noStdin);
            await using var stream = await c.Containers.AttachAsync(info.Id, new ContainerAttachOptions { Stdin = withStdin }, ct).ConfigureAwait(false);
            using var raw = info.Config.Tty && withStdin ? Terminal.MakeRaw(0) : null;
            var regs = info.Config.Tty ? TrackResize(s => c.Containers.ResizeAsync(info.Id, s.Height, s.Width, CancellationToken.None)).ToList()
                : pr.GetValue(sigProxy) ? ProxySignals(sig => c.Containers.KillAsync(info.Id, sig, CancellationToken.None)).ToList() : [];
            try
            {
                if (withStdin) _ = PumpStdinAsync(stream);
                await CopyOutputAsync(stream, info.Config.Tty, ct).ConfigureAwait(false);
                return (int)(await wait.ConfigureAwait(false)).StatusCode;
            }
            finally
            {
                foreach (var r in regs) r.Dispose();
            }
        }));
        return cmd;
    }

    public static Command Wait(string name = "wait")
    {
        var containers = new Argument<string[]>("CONTAINER") { Arity = ArgumentArity.OneOrMore };
        var cmd = new Command(name, "Block until one or more containers stop, then print their exit codes") { containers };
        cmd.SetAction((pr, ct) => Cli.Run(pr, c => Cli.ForEach(pr.GetValue(containers)!, async t =>
        {
            var r = await c.Containers.WaitAsync(t, null, ct).ConfigureAwait(false);
            Cli.OutLine(r.StatusCode.ToString(CultureInfo.InvariantCulture));
        })));
        return cmd;
    }

    public static Command Rename(string name = "rename")
    {
        var container = new Argument<string>("CONTAINER");
        var newName = new Argument<string>("NEW_NAME");
        var cmd = new Command(name, "Rename a container") { container, newName };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var n = pr.GetValue(newName)!.Trim();
            if (n.Length == 0) throw new UsageException("Error: neither old nor new names may be empty");
            await c.Containers.RenameAsync(pr.GetValue(container)!, n, ct).ConfigureAwait(false);
            return 0;
        }));
        return cmd;
    }

    public static Command Pause(string name = "pause") =>
        SimpleVerb(name, "Pause all processes within one or more containers", (c, id, ct) => c.Containers.PauseAsync(id, ct));

    public static Command Unpause(string name = "unpause") =>
        SimpleVerb(name, "Unpause all processes within one or more containers", (c, id, ct) => c.Containers.UnpauseAsync(id, ct));

    /// <summary>pause and unpause: each container named is acted on and echoed, as docker does.</summary>
    private static Command SimpleVerb(string name, string description, Func<MockerClient, string, CancellationToken, Task> call)
    {
        var containers = new Argument<string[]>("CONTAINER") { Arity = ArgumentArity.OneOrMore };
        var cmd = new Command(name, description) { containers };
        cmd.SetAction((pr, ct) => Cli.Run(pr, c => Cli.ForEach(pr.GetValue(containers)!, async t =>
        {
            await call(c, t, ct).ConfigureAwait(false);
            Cli.OutLine(t);
        })));
        return cmd;
    }

    public static Command Top(string name = "top")
    {
        var container = new Argument<string>("CONTAINER");
        var psArgs = new Argument<string[]>("OPTIONS") { Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command(name, "Display the running processes of a container") { container, psArgs };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var top = await c.Containers.TopAsync(pr.GetValue(container)!, string.Join(' ', pr.GetValue(psArgs) ?? []), ct).ConfigureAwait(false);
            var lines = new List<string> { string.Join('\t', top.Titles) };
            lines.AddRange(top.Processes.Select(p => string.Join('\t', p)));
            Cli.Out(TabWriter.Format(lines, minWidth: 20));
            return 0;
        }));
        return cmd;
    }

    public static Command Prune()
    {
        var force = new Option<bool>("--force", "-f") { Description = "Do not prompt for confirmation" };
        var filter = new Option<string[]>("--filter") { Description = "Provide filter values (e.g. \"until=<timestamp>\")" };
        var cmd = new Command("prune", "Remove all stopped containers") { force, filter };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            if (!pr.GetValue(force) && !Cli.Confirm("WARNING! This will remove all stopped containers.")) return 0;
            var r = await c.Containers.PruneAsync(Cli.Filters(pr.GetValue(filter)), ct).ConfigureAwait(false);
            if (r.ContainersDeleted is { Count: > 0 } deleted) Cli.Out("Deleted Containers:\n" + string.Concat(deleted.Select(d => d + "\n")) + "\n");
            Cli.OutLine("Total reclaimed space: " + Units.HumanSize(r.SpaceReclaimed));
            return 0;
        }));
        return cmd;
    }
}

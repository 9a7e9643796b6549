using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Mocker.Api;
using Mocker.Engine.Errors;
using Mocker.Engine.Events;
using Mocker.Engine.Images;
using Mocker.Engine.Runtime;
using Mocker.Engine.Snapshots;
using Mocker.Engine.State;

namespace Mocker.Engine.Containers;

/// <summary>
/// The container lifecycle on runc + conmon (one conmon per container, as Podman). Layout: persistent files
/// (hostname, hosts, resolv.conf, container.log, conmon persist dir) under &lt;DataRoot&gt;/containers/&lt;id&gt;;
/// the bundle (config.json, mounted rootfs, conmon's attach socket and FIFOs) under &lt;ExecRoot&gt;/ctr/&lt;id&gt;;
/// exit files in &lt;ExecRoot&gt;/exits; runc state in &lt;ExecRoot&gt;/runc. Error texts follow engine-api-trace.md §1.7, §1.8, §4.
/// </summary>
public sealed partial class ContainerService : IContainerService, IDisposable
{
    private readonly EngineOptions _options;
    private readonly ContainerStore _store;
    private readonly IImageStore _images;
    private readonly ISnapshotter _snapshots;
    private readonly ILogger _log;
    private readonly ExitWatcher _exits;
    private readonly ConcurrentDictionary<string, Entry> _entries = new();
    private readonly ConcurrentDictionary<string, ExecEntry> _execs = new();
    private readonly Dictionary<string, (RuncRuntime Runc, ConmonMonitor Conmon)> _runtimes = [];

    private readonly EventBus _events;

    /// <param name="events">Where container events go (engine-api-trace.md §1.18); null = a private bus nobody reads.</param>
    public ContainerService(EngineOptions options, MetadataDb db, IImageStore images, ISnapshotter snapshots, ILoggerFactory loggerFactory, EventBus? events = null)
    {
        _options = options;
        _events = events ?? new EventBus();
        _store = new ContainerStore(db);
        _images = images;
        _snapshots = snapshots;
        _log = loggerFactory.CreateLogger<ContainerService>();
        Directory.CreateDirectory(options.ContainersRoot);
        Directory.CreateDirectory(Path.Combine(options.ExecRoot, "ctr"));
        _exits = new ExitWatcher(Path.Combine(options.ExecRoot, "exits"));
        foreach (var rec in _store.LoadAll())
        {
            _entries[rec.Id] = new Entry(rec);
        }
    }

    private sealed class Entry(ContainerRecord rec)
    {
        public ContainerRecord Rec = rec;
        public readonly SemaphoreSlim Lock = new(1, 1);
        public readonly List<Waiter> Waiters = [];
        public readonly List<AttachSession> Sessions = [];
        public readonly List<string> ExecIds = [];
        /// <summary>Completes once the current run's exit is recorded.</summary>
        public TaskCompletionSource ExitHandled = Completed();
        public bool ManuallyStopped;
        /// <summary>The delay before the next policy restart: Docker's restartmanager (100 ms, doubling, at most 1 min, reset after 10 s of running).</summary>
        public TimeSpan Backoff;
        /// <summary>Cancels the health-check loop of the current run.</summary>
        public CancellationTokenSource? HealthCts;
        public int Removed;

        private static TaskCompletionSource Completed()
        {
            var t = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            t.SetResult();
            return t;
        }
    }

    private sealed class Waiter(Entry entry, string condition) : IContainerWaiter
    {
        public readonly string Condition = condition;
        public readonly TaskCompletionSource<ContainerWaitResponse> Tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<ContainerWaitResponse> Completion => Tcs.Task;

        public void Dispose()
        {
            lock (entry.Waiters)
            {
                entry.Waiters.Remove(this);
            }
        }
    }

    private sealed class ExecEntry(string id, string containerId, ExecConfig config)
    {
        public readonly string Id = id;
        public readonly string ContainerId = containerId;
        public readonly ExecConfig Config = config;
        public bool Running;
        public bool Started;
        public int? ExitCode;
        public int Pid;
        /// <summary>The conmon exec bundle of a TTY exec (attach socket, winsz FIFO); null otherwise.</summary>
        public string? Dir;
    }

    /// <summary>The statically linked tini bind-mounted for HostConfig.Init (Debian package tini).</summary>
    private const string InitBinary = "/usr/bin/tini-static";

    private string ContainerDir(string id) => Path.Combine(_options.ContainersRoot, id);

    private string BundleDir(string id) => Path.Combine(_options.ExecRoot, "ctr", id);

    private string LogPath(string id) => Path.Combine(ContainerDir(id), "container.log");

    private (RuncRuntime Runc, ConmonMonitor Conmon) RuntimeFor(string? name)
    {
        name = string.IsNullOrEmpty(name) ? _options.DefaultRuntime : name;
        lock (_runtimes)
        {
            if (!_runtimes.TryGetValue(name, out var rt))
            {
                if (!_options.Runtimes.TryGetValue(name, out var path))
                {
                    throw MockerException.InvalidArgument($"Unknown runtime specified {name}");
                }
                var runc = new RuncRuntime(path, Path.Combine(_options.ExecRoot, "runc"));
                rt = (runc, new ConmonMonitor(_options.ConmonPath, runc));
                _runtimes[name] = rt;
            }
            return rt;
        }
    }

    private Entry Resolve(string idOrName)
    {
        if (_entries.TryGetValue(idOrName, out var e))
        {
            return e;
        }
        var name = idOrName.StartsWith('/') ? idOrName : "/" + idOrName;
        var byName = _entries.Values.FirstOrDefault(x => x.Rec.Name == name);
        if (byName is not null)
        {
            return byName;
        }
        if (idOrName.Length > 0 && !idOrName.StartsWith('/'))
        {
            var matches = _entries.Values.Where(x => x.Rec.Id.StartsWith(idOrName, StringComparison.Ordinal)).Take(2).ToList();
            if (matches.Count == 1)
            {
                return matches[0];
            }
            if (matches.Count > 1)
            {
                throw MockerException.InvalidArgument($"multiple IDs found with provided prefix: {idOrName}");
            }
        }
        throw MockerException.NoSuchContainer(idOrName);
    }

    private static bool IsRunning(ContainerRecord r) => r.Status is "running" or "paused" or "restarting";

    private async Task SaveAsync(Entry e, Func<ContainerRecord, ContainerRecord> change)
    {
        ContainerRecord rec;
        lock (e)
        {
            rec = change(e.Rec);
            e.Rec = rec;
        }
        if (Volatile.Read(ref e.Removed) == 0)
        {
            await _store.UpdateAsync(rec, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task RecoverAsync(CancellationToken ct)
    {
        foreach (var e in _entries.Values)
        {
            var rec = e.Rec;
            if (!IsRunning(rec))
            {
                continue;
            }
            if (ConmonMonitor.IsAlive(rec.ConmonPid) || (_exits.ReadExitCode(rec.Id) is null && ConmonMonitor.IsAlive(rec.Pid)))
            {
                e.ExitHandled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                ArmExit(e);
                StartHealth(e);
                continue;
            }
            var code = _exits.ReadExitCode(rec.Id) ?? 255;
            e.ExitHandled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await OnExitAsync(e, code).ConfigureAwait(false);
        }
        // Docker's restore: "always" comes back even after a user stop; "unless-stopped" only when the user did not stop it.
        foreach (var e in _entries.Values.Where(x => x.Rec.Status == "exited"
            && (x.Rec.HostConfig.RestartPolicy?.Name is "always" || (x.Rec.HostConfig.RestartPolicy?.Name is "unless-stopped" && !x.Rec.ManuallyStopped))))
        {
            e.ManuallyStopped = false;
            try
            {
                await StartAsync(e.Rec.Id, ct).ConfigureAwait(false);
            }
            catch (MockerException ex)
            {
                _log.LogWarning("restart of {Id} at recovery failed: {Message}", e.Rec.Id, ex.Message);
            }
        }
    }

    /// <inheritdoc />
    public async Task<ContainerCreateResponse> CreateAsync(string? name, ContainerCreateRequest request, CancellationToken ct)
    {
        if (!string.IsNullOrEmpty(name) && !ContainerNames.IsValid(name))
        {
            throw MockerException.InvalidArgument(ContainerNames.InvalidMessage(name));
        }
        if (string.IsNullOrEmpty(request.Image))
        {
            throw MockerException.InvalidArgument("Config cannot be empty in order to create a container");
        }
        var hostConfig = request.HostConfig ?? new HostConfig();
        RuntimeFor(hostConfig.Runtime);
        var image = await _images.GetAsync(request.Image, ct).ConfigureAwait(false);
        var config = ContainerHelpers.Merge(request.ToConfig(), image.Config.Config);
        var argv = new List<string>(config.Entrypoint ?? []);
        argv.AddRange(config.Cmd ?? []);
        if (argv.Count == 0)
        {
            throw MockerException.InvalidArgument("No command specified");
        }
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        config = config with { Hostname = string.IsNullOrEmpty(config.Hostname) ? id[..12] : config.Hostname, Image = request.Image };
        var netMode = hostConfig.NetworkMode is null or "" or "default" or "bridge" ? _options.DefaultNetworkMode : hostConfig.NetworkMode;
        if (netMode != "host")
        {
            netMode = "none";
        }
        hostConfig = hostConfig with { NetworkMode = hostConfig.NetworkMode is null or "" or "default" ? netMode : hostConfig.NetworkMode };
        SpecGenerator.Capabilities(hostConfig.Privileged, hostConfig.CapAdd ?? [], hostConfig.CapDrop ?? []);

        if (!string.IsNullOrEmpty(name))
        {
            var full = name.StartsWith('/') ? name : "/" + name;
            if (_entries.Values.FirstOrDefault(x => x.Rec.Name == full) is { } clash)
            {
                throw NameConflict(full, clash.Rec.Id);
            }
        }
        var dir = ContainerDir(id);
        await _snapshots.PrepareAsync(id, image.TopChainId, ct).ConfigureAwait(false);
        try
        {
            Directory.CreateDirectory(dir);
            Directory.CreateDirectory(Path.Combine(dir, "persist"));
            await File.WriteAllTextAsync(Path.Combine(dir, "hostname"), config.Hostname + "\n", ct).ConfigureAwait(false);
            var hosts = netMode == "host" && File.Exists("/etc/hosts") ? await File.ReadAllTextAsync("/etc/hosts", ct).ConfigureAwait(false)
                : ContainerHelpers.DefaultHosts(hostConfig.ExtraHosts ?? []);
            await File.WriteAllTextAsync(Path.Combine(dir, "hosts"), hosts, ct).ConfigureAwait(false);
            var resolv = File.Exists("/etc/resolv.conf") ? await File.ReadAllTextAsync("/etc/resolv.conf", ct).ConfigureAwait(false) : "";
            if (hostConfig.Dns is { Count: > 0 } || hostConfig.DnsSearch is { Count: > 0 } || hostConfig.DnsOptions is { Count: > 0 })
            {
                var sb = new StringBuilder();
                foreach (var ns in hostConfig.Dns ?? [])
                {
                    sb.Append("nameserver ").Append(ns).Append('\n');
                }
                if (hostConfig.DnsSearch is { Count: > 0 })
                {
                    sb.Append("search ").Append(string.Join(' ', hostConfig.DnsSearch)).Append('\n');
                }
                if (hostConfig.DnsOptions is { Count: > 0 })
                {
                    sb.Append("options ").Append(string.Join(' ', hostConfig.DnsOptions)).Append('\n');
                }
                resolv = sb.ToString();
            }
            await File.WriteAllTextAsync(Path.Combine(dir, "resolv.conf"), resolv, ct).ConfigureAwait(false);

            for (var attempt = 0; ; attempt++)
            {
                var finalName = string.IsNullOrEmpty(name) ? "/" + ContainerNames.Random(attempt) : name.StartsWith('/') ? name : "/" + name;
                var rec = new ContainerRecord
                {
                    Id = id,
                    Name = finalName,
                    ImageId = image.Id.ToString(),
                    ImageName = request.Image,
                    Config = config,
                    HostConfig = hostConfig,
                    Path = argv[0],
                    Args = argv.Skip(1).ToList(),
                    Created = DateTimeOffset.UtcNow,
                    NetworkMode = netMode,
                };
                if (await _store.InsertAsync(rec, ct).ConfigureAwait(false))
                {
                    _entries[id] = new Entry(rec);
                    Emit(rec, "create");
                    return new ContainerCreateResponse { Id = id };
                }
                if (!string.IsNullOrEmpty(name) || attempt > 5)
                {
                    var clash = _entries.Values.FirstOrDefault(x => x.Rec.Name == finalName);
                    throw NameConflict(finalName, clash?.Rec.Id ?? "");
                }
            }
        }
        catch
        {
            await _snapshots.RemoveAsync(id, CancellationToken.None).ConfigureAwait(false);
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
            throw;
        }
    }

    private static MockerException NameConflict(string name, string id) => MockerException.Conflict(
        $"Conflict. The container name \"{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.");

    /// <inheritdoc />
    public async Task StartAsync(string id, CancellationToken ct)
    {
        var e = Resolve(id);
        await e.Lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (IsRunning(e.Rec))
            {
                throw MockerException.NotModified();
            }
            e.ManuallyStopped = false;
            await StartLockedAsync(e, ct).ConfigureAwait(false);
        }
        finally
        {
            e.Lock.Release();
        }
    }

    private JsonObject BuildSpec(ContainerRecord rec, string rootfs)
    {
        var hc = rec.HostConfig;
        var dir = ContainerDir(rec.Id);
        var extra = new List<OciMount>
        {
            new("/etc/resolv.conf", "bind", Path.Combine(dir, "resolv.conf"), ["rbind", "rprivate"]),
            new("/etc/hostname", "bind", Path.Combine(dir, "hostname"), ["rbind", "rprivate"]),
            new("/etc/hosts", "bind", Path.Combine(dir, "hosts"), ["rbind", "rprivate"]),
        };
        foreach (var b in hc.Binds ?? [])
        {
            var parts = b.Split(':');
            if (parts.Length >= 2 && parts[0].StartsWith('/'))
            {
                var ro = parts.Length > 2 && parts[2].Split(',').Contains("ro");
                extra.Add(new OciMount(parts[1], "bind", parts[0], ["rbind", ro ? "ro" : "rw", "rprivate"]));
            }
        }
        foreach (var m in hc.Mounts ?? [])
        {
            if (m.Type == "bind" && m.Source is not null && m.Target is not null)
            {
                extra.Add(new OciMount(m.Target, "bind", m.Source, ["rbind", m.ReadOnly ? "ro" : "rw", "rprivate"]));
            }
            else if (m.Type == "tmpfs" && m.Target is not null)
            {
                extra.Add(new OciMount(m.Target, "tmpfs", "tmpfs", ["nosuid", "nodev", "noexec"]));
            }
        }
        foreach (var (target, opts) in hc.Tmpfs ?? [])
        {
            var o = new List<string> { "nosuid", "nodev", "noexec" };
            o.AddRange(opts.Split(',', StringSplitOptions.RemoveEmptyEntries));
            extra.Add(new OciMount(target, "tmpfs", "tmpfs", o));
        }
        IReadOnlyList<string> args = [rec.Path, .. rec.Args];
        if (hc.Init == true && File.Exists(InitBinary))
        {
            // docker run --init: tini as PID 1 (moby daemon/oci_linux.go mounts docker-init at /sbin/docker-init).
            extra.Add(new OciMount("/sbin/docker-init", "bind", InitBinary, ["bind", "ro"]));
            args = ["/sbin/docker-init", "--", .. args];
        }
        return SpecGenerator.Generate(new SpecInput
        {
            RootfsPath = rootfs,
            Args = args,
            Env = rec.Config.Env ?? [],
            WorkingDir = rec.Config.WorkingDir ?? "/",
            User = rec.Config.User ?? "",
            Hostname = rec.Config.Hostname ?? rec.Id[..12],
            Tty = rec.Config.Tty,
            NetworkMode = rec.NetworkMode,
            Privileged = hc.Privileged,
            CapAdd = hc.CapAdd ?? [],
            CapDrop = hc.CapDrop ?? [],
            GroupAdd = hc.GroupAdd ?? [],
            ReadonlyRootfs = hc.ReadonlyRootfs,
            SecurityOpt = hc.SecurityOpt ?? [],
            Ulimits = hc.Ulimits ?? [],
            Memory = hc.Memory,
            CpuShares = hc.CpuShares,
            NanoCpus = hc.NanoCpus,
            PidsLimit = hc.PidsLimit,
            ShmSize = hc.ShmSize,
            CgroupsPath = "/mocker/" + rec.Id,
            ExtraMounts = extra,
            MaskedPaths = hc.MaskedPaths,
            ReadonlyPaths = hc.ReadonlyPaths,
            Sysctls = hc.Sysctls ?? [],
            SeccompProfilePath = _options.SeccompProfilePath,
        });
    }

    private async Task StartLockedAsync(Entry e, CancellationToken ct)
    {
        var rec = e.Rec;
        var (runc, conmon) = RuntimeFor(rec.HostConfig.Runtime);
        var bundle = BundleDir(rec.Id);
        var rootfs = Path.Combine(bundle, "rootfs");
        var mounts = await _snapshots.MountsAsync(rec.Id, ct).ConfigureAwait(false);
        Directory.CreateDirectory(bundle);
        MountHelper.Unmount(rootfs);
        MountHelper.MountAll(mounts, rootfs);
        _exits.Clear(rec.Id);
        File.Delete(Path.Combine(ContainerDir(rec.Id), "persist", "oom"));
        string? failure = null;
        ConmonSync sync;
        try
        {
            var spec = BuildSpec(rec, rootfs);
            if (rec.Config.Tty && rec.HostConfig.ConsoleSize is [> 0 and var h, > 0 and var w])
            {
                spec["process"]!["consoleSize"] = new JsonObject { ["height"] = h, ["width"] = w };
            }
            await File.WriteAllTextAsync(Path.Combine(bundle, "config.json"), spec.ToJsonString(), ct).ConfigureAwait(false);
            e.ExitHandled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            sync = await conmon.LaunchAsync(new ConmonLaunch
            {
                ContainerId = rec.Id,
                Uuid = rec.Id,
                Name = rec.Name.TrimStart('/'),
                Bundle = bundle,
                PidFile = Path.Combine(bundle, "pidfile"),
                ExitDir = Path.Combine(_options.ExecRoot, "exits"),
                PersistDir = Path.Combine(ContainerDir(rec.Id), "persist"),
                LogPath = LogPath(rec.Id),
                ConmonPidFile = Path.Combine(bundle, "conmon.pid"),
                Tty = rec.Config.Tty,
                Stdin = rec.Config.OpenStdin,
                LeaveStdinOpen = rec.Config.OpenStdin && !rec.Config.StdinOnce,
            }, ct).ConfigureAwait(false);
            if (sync.Data <= 0)
            {
                failure = RuncRuntime.CleanMessage(sync.Message ?? "unknown error");
            }
            else
            {
                List<AttachSession> sessions;
                lock (e.Sessions)
                {
                    sessions = [.. e.Sessions];
                }
                foreach (var s in sessions)
                {
                    try
                    {
                        s.Connect(await ConmonMonitor.ConnectAttachAsync(bundle, ct).ConfigureAwait(false));
                    }
                    catch (System.Net.Sockets.SocketException ex)
                    {
                        _log.LogWarning("attach to {Id} failed: {Message}", rec.Id, ex.Message);
                        s.Complete();
                    }
                }
                var started = await runc.RunAsync(["start", rec.Id], ct).ConfigureAwait(false);
                if (started.ExitCode != 0)
                {
                    failure = RuncRuntime.CleanMessage(started.Stderr);
                }
            }
        }
        catch (MockerException ex)
        {
            failure = ex.Message;
            sync = new ConmonSync { Data = -1 };
        }
        if (failure is not null)
        {
            await runc.DeleteAsync(rec.Id, force: true, CancellationToken.None).ConfigureAwait(false);
            MountHelper.Unmount(rootfs);
            var code = failure.Contains("executable file not found", StringComparison.Ordinal) || failure.Contains("no such file or directory", StringComparison.Ordinal) ? 127
                : failure.Contains("permission denied", StringComparison.Ordinal) ? 126 : 128;
            var message = $"failed to create shim task: OCI runtime create failed: {failure}: unknown";
            await SaveAsync(e, r => r with { ExitCode = code, Error = failure, Pid = 0 }).ConfigureAwait(false);
            CompleteSessions(e);
            e.ExitHandled.TrySetResult();
            ResolveWaiters(e, code, removed: false, next: true);
            if (rec.HostConfig.AutoRemove)
            {
                await RemoveCoreAsync(e).ConfigureAwait(false);
            }
            throw MockerException.InvalidArgument(message);
        }
        var conmonPid = int.TryParse(await File.ReadAllTextAsync(Path.Combine(bundle, "conmon.pid"), ct).ConfigureAwait(false), out var cp) ? cp : 0;
        await SaveAsync(e, r => r with
        {
            Status = "running",
            Pid = sync.Data,
            ConmonPid = conmonPid,
            ExitCode = 0,
            Error = "",
            StartedAt = DateTimeOffset.UtcNow,
            FinishedAt = null,
            OomKilled = false,
            HasBeenStarted = true,
            ManuallyStopped = false,
        }).ConfigureAwait(false);
        Emit(e.Rec, "start");
        ArmExit(e);
        StartHealth(e);
    }

    private void ArmExit(Entry e)
    {
        var id = e.Rec.Id;
        _ = _exits.WatchAsync(id).ContinueWith(t => OnExitAsync(e, t.Result), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default).Unwrap();
    }

    private async Task OnExitAsync(Entry e, int code)
    {
        StopHealth(e);
        var rec = e.Rec;
        try
        {
            var (runc, _) = RuntimeFor(rec.HostConfig.Runtime);
            await runc.DeleteAsync(rec.Id, force: true, CancellationToken.None).ConfigureAwait(false);
        }
        catch (MockerException ex)
        {
            _log.LogWarning("runc delete {Id}: {Message}", rec.Id, ex.Message);
        }
        MountHelper.Unmount(Path.Combine(BundleDir(rec.Id), "rootfs"));
        var oom = File.Exists(Path.Combine(ContainerDir(rec.Id), "persist", "oom"));
        var manual = e.ManuallyStopped;
        var finished = DateTimeOffset.UtcNow;
        await SaveAsync(e, r => r with { Status = "exited", ExitCode = code, Pid = 0, FinishedAt = finished, OomKilled = oom, ManuallyStopped = manual }).ConfigureAwait(false);
        if (oom)
        {
            Emit(e.Rec, "oom");
        }
        Emit(e.Rec, "die", ("exitCode", code.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        CompleteSessions(e);
        e.ExitHandled.TrySetResult();
        ResolveWaiters(e, code, removed: false, next: true);
        foreach (var execId in e.ExecIds)
        {
            if (_execs.TryGetValue(execId, out var x))
            {
                x.Running = false;
            }
        }
        if (rec.HostConfig.AutoRemove)
        {
            await RemoveCoreAsync(e).ConfigureAwait(false);
            return;
        }
        var policy = rec.HostConfig.RestartPolicy;
        var restart = !e.ManuallyStopped && policy?.Name switch
        {
            "always" or "unless-stopped" => true,
            "on-failure" => code != 0 && (policy.MaximumRetryCount == 0 || e.Rec.RestartCount < policy.MaximumRetryCount),
            _ => false,
        };
        if (restart && Volatile.Read(ref e.Removed) == 0)
        {
            e.Backoff = rec.StartedAt is { } started && finished - started >= TimeSpan.FromSeconds(10) || e.Backoff == TimeSpan.Zero
                ? TimeSpan.FromMilliseconds(100)
                : TimeSpan.FromTicks(Math.Min(e.Backoff.Ticks * 2, TimeSpan.FromMinutes(1).Ticks));
            await SaveAsync(e, r => r with { Status = "restarting", RestartCount = r.RestartCount + 1 }).ConfigureAwait(false);
            await Task.Delay(e.Backoff).ConfigureAwait(false);
            await e.Lock.WaitAsync().ConfigureAwait(false);
            try
            {
                if (e.Rec.Status == "restarting" && !e.ManuallyStopped && Volatile.Read(ref e.Removed) == 0)
                {
                    await StartLockedAsync(e, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (MockerException ex)
            {
                _log.LogWarning("restart of {Id} failed: {Message}", rec.Id, ex.Message);
            }
            finally
            {
                if (e.Rec.Status == "restarting" && Volatile.Read(ref e.Removed) == 0)
                {
                    await SaveAsync(e, r => r with { Status = "exited" }).ConfigureAwait(false);
                }
                e.Lock.Release();
            }
        }
    }

    private static void CompleteSessions(Entry e)
    {
        lock (e.Sessions)
        {
            foreach (var s in e.Sessions)
            {
                s.Complete();
            }
            e.Sessions.Clear();
        }
    }

    private static void ResolveWaiters(Entry e, int code, bool removed, bool next)
    {
        List<Waiter> done;
        lock (e.Waiters)
        {
            done = e.Waiters.Where(w => removed || (next && w.Condition is "not-running" or "next-exit")).ToList();
            foreach (var w in done)
            {
                e.Waiters.Remove(w);
            }
        }
        foreach (var w in done)
        {
            w.Tcs.TrySetResult(new ContainerWaitResponse { StatusCode = code });
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(string id, int? timeoutSeconds, CancellationToken ct)
    {
        var e = Resolve(id);
        await e.Lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!IsRunning(e.Rec))
            {
                throw MockerException.NotModified();
            }
            e.ManuallyStopped = true;
            await StopLockedAsync(e, timeoutSeconds, ct).ConfigureAwait(false);
            Emit(e.Rec, "stop");
        }
        finally
        {
            e.Lock.Release();
        }
    }

    private async Task StopLockedAsync(Entry e, int? timeoutSeconds, CancellationToken ct)
    {
        var rec = e.Rec;
        if (rec.Status == "restarting")
        {
            // Between two runs there is no process: stopping just cancels the pending policy restart.
            await SaveAsync(e, r => r with { Status = "exited", ManuallyStopped = true }).ConfigureAwait(false);
            return;
        }
        var (runc, _) = RuntimeFor(rec.HostConfig.Runtime);
        var handled = e.ExitHandled.Task;
        var timeout = timeoutSeconds ?? rec.Config.StopTimeout ?? 10;
        var sig = ContainerHelpers.ParseSignal(rec.Config.StopSignal ?? "SIGTERM") ?? 15;
        if (timeout != 0)
        {
            try
            {
                if (rec.Status == "paused")
                {
                    await runc.ResumeAsync(rec.Id, ct).ConfigureAwait(false);
                }
                Emit(rec, "kill", ("signal", sig.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                await runc.KillAsync(rec.Id, sig, false, ct).ConfigureAwait(false);
            }
            catch (MockerException ex)
            {
                _log.LogWarning("stop signal to {Id}: {Message}", rec.Id, ex.Message);
            }
            if (timeout < 0)
            {
                await handled.WaitAsync(ct).ConfigureAwait(false);
                return;
            }
            if (await Task.WhenAny(handled, Task.Delay(TimeSpan.FromSeconds(timeout), ct)).ConfigureAwait(false) == handled)
            {
                return;
            }
        }
        try
        {
            Emit(rec, "kill", ("signal", "9"));
            await runc.KillAsync(rec.Id, 9, true, ct).ConfigureAwait(false);
        }
        catch (MockerException ex)
        {
            _log.LogWarning("SIGKILL to {Id}: {Message}", rec.Id, ex.Message);
        }
        await handled.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task RestartAsync(string id, int? timeoutSeconds, CancellationToken ct)
    {
        var e = Resolve(id);
        await e.Lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (IsRunning(e.Rec))
            {
                e.ManuallyStopped = true;
                await StopLockedAsync(e, timeoutSeconds, ct).ConfigureAwait(false);
            }
            e.ManuallyStopped = false;
            await StartLockedAsync(e, ct).ConfigureAwait(false);
            Emit(e.Rec, "restart");
        }
        finally
        {
            e.Lock.Release();
        }
    }

    /// <inheritdoc />
    public async Task KillAsync(string id, string? signal, CancellationToken ct)
    {
        var e = Resolve(id);
        var sig = ContainerHelpers.ParseSignal(signal) ?? throw MockerException.InvalidArgument($"Invalid signal: {signal}");
        if (!IsRunning(e.Rec))
        {
            throw MockerException.Conflict($"Cannot kill container: {id}: Container {e.Rec.Id} is not running");
        }
        if (sig == 9)
        {
            e.ManuallyStopped = true;
        }
        var (runc, _) = RuntimeFor(e.Rec.HostConfig.Runtime);
        try
        {
            await runc.KillAsync(e.Rec.Id, sig, sig == 9, ct).ConfigureAwait(false);
            if (sig == 9)
            {
                await ThawAfterKillAsync(e, runc).ConfigureAwait(false);
            }
            Emit(e.Rec, "kill", ("signal", sig.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        catch (MockerException) when (!IsRunning(e.Rec) || _exits.ReadExitCode(e.Rec.Id) is not null)
        {
            throw MockerException.Conflict($"Cannot kill container: {id}: Container {e.Rec.Id} is not running");
        }
        if (sig == 9)
        {
            await e.ExitHandled.Task.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public IContainerWaiter BeginWait(string id, string? condition)
    {
        var e = Resolve(id);
        condition = string.IsNullOrEmpty(condition) ? "not-running" : condition;
        if (condition is not ("not-running" or "next-exit" or "removed"))
        {
            throw MockerException.InvalidArgument($"invalid condition: \"{condition}\"");
        }
        var w = new Waiter(e, condition);
        lock (e.Waiters)
        {
            if (condition == "not-running" && !IsRunning(e.Rec))
            {
                w.Tcs.TrySetResult(new ContainerWaitResponse { StatusCode = e.Rec.ExitCode });
                return w;
            }
            e.Waiters.Add(w);
        }
        return w;
    }

    /// <inheritdoc />
    public async Task RemoveAsync(string id, bool force, bool removeVolumes, CancellationToken ct)
    {
        var e = Resolve(id);
        await e.Lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (IsRunning(e.Rec))
            {
                if (!force)
                {
                    // moby daemon/delete.go texts, per state.
                    throw MockerException.Conflict(e.Rec.Status == "paused"
                        ? $"You cannot remove a paused container {e.Rec.Id}. Unpause and then stop the container before attempting removal or force remove"
                        : $"You cannot remove a {e.Rec.Status} container {e.Rec.Id}. Stop the container before attempting removal or force remove");
                }
                e.ManuallyStopped = true;
                var (runc, _) = RuntimeFor(e.Rec.HostConfig.Runtime);
                try
                {
                    await runc.KillAsync(e.Rec.Id, 9, true, ct).ConfigureAwait(false);
                    await ThawAfterKillAsync(e, runc).ConfigureAwait(false);
                }
                catch (MockerException ex)
                {
                    _log.LogWarning("kill before remove {Id}: {Message}", e.Rec.Id, ex.Message);
                }
                await e.ExitHandled.Task.WaitAsync(ct).ConfigureAwait(false);
            }
            await RemoveCoreAsync(e).ConfigureAwait(false);
        }
        finally
        {
            e.Lock.Release();
        }
    }

    private async Task RemoveCoreAsync(Entry e)
    {
        if (Interlocked.Exchange(ref e.Removed, 1) != 0)
        {
            return;
        }
        var id = e.Rec.Id;
        MountHelper.Unmount(Path.Combine(BundleDir(id), "rootfs"));
        await _snapshots.RemoveAsync(id, CancellationToken.None).ConfigureAwait(false);
        await _store.DeleteAsync(id, CancellationToken.None).ConfigureAwait(false);
        _entries.TryRemove(id, out _);
        foreach (var execId in e.ExecIds)
        {
            _execs.TryRemove(execId, out _);
        }
        BundleCleanup.Delete(BundleDir(id));
        if (Directory.Exists(ContainerDir(id)))
        {
            Directory.Delete(ContainerDir(id), recursive: true);
        }
        _exits.Clear(id);
        StopHealth(e);
        Emit(e.Rec, "destroy");
        CompleteSessions(e);
        ResolveWaiters(e, e.Rec.ExitCode, removed: true, next: true);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ContainerSummary>> ListAsync(ContainerListOptions options, CancellationToken ct)
    {
        var f = options.Filters;
        var all = _entries.Values.Select(x => x.Rec).OrderByDescending(r => r.Created).ToList();
        IEnumerable<ContainerRecord> q = all;
        var explicitStatus = f.ContainsKey("status") || f.ContainsKey("exited");
        if (!options.All && !explicitStatus && options.Limit is null or <= 0 && !f.ContainsKey("before") && !f.ContainsKey("since"))
        {
            q = q.Where(IsRunning);
        }
        if (f.TryGetValue("id", out var ids))
        {
            q = q.Where(r => ids.Any(i => r.Id.StartsWith(i, StringComparison.Ordinal)));
        }
        if (f.TryGetValue("name", out var names))
        {
            q = q.Where(r => names.Any(n => r.Name.TrimStart('/').Contains(n.TrimStart('/'), StringComparison.Ordinal)));
        }
        if (f.TryGetValue("label", out var labels))
        {
            q = q.Where(r => labels.All(l =>
            {
                var kv = l.Split('=', 2);
                var lbl = r.Config.Labels ?? [];
                return kv.Length == 1 ? lbl.ContainsKey(kv[0]) : lbl.TryGetValue(kv[0], out var v) && v == kv[1];
            }));
        }
        if (f.TryGetValue("status", out var statuses))
        {
            q = q.Where(r => statuses.Contains(r.Status));
        }
        if (f.TryGetValue("exited", out var exited))
        {
            q = q.Where(r => r.Status == "exited" && exited.Contains(r.ExitCode.ToString()));
        }
        if (f.TryGetValue("ancestor", out var ancestors))
        {
            var ids2 = new HashSet<string>();
            foreach (var a in ancestors)
            {
                var img = await _images.FindAsync(a, ct).ConfigureAwait(false);
                if (img is not null)
                {
                    ids2.Add(img.Id.ToString());
                }
            }
            q = q.Where(r => ids2.Contains(r.ImageId) || ancestors.Contains(r.ImageName));
        }
        if (f.TryGetValue("before", out var before) && before.Count > 0)
        {
            var b = Resolve(before[0]).Rec.Created;
            q = q.Where(r => r.Created < b);
        }
        if (f.TryGetValue("since", out var since) && since.Count > 0)
        {
            var s = Resolve(since[0]).Rec.Created;
            q = q.Where(r => r.Created > s);
        }
        if (options.Limit is > 0)
        {
            q = q.Take(options.Limit.Value);
        }
        var now = DateTimeOffset.UtcNow;
        var result = new List<ContainerSummary>();
        foreach (var r in q)
        {
            long? sizeRw = null;
            if (options.Size)
            {
                sizeRw = await _snapshots.UsageAsync(r.Id, ct).ConfigureAwait(false);
            }
            result.Add(new ContainerSummary
            {
                Id = r.Id,
                Names = [r.Name],
                Image = r.ImageName,
                ImageID = r.ImageId,
                Command = string.Join(' ', new[] { r.Path }.Concat(r.Args)),
                Created = r.Created.ToUnixTimeSeconds(),
                Ports = (r.Config.ExposedPorts ?? []).Keys.Select(p =>
                {
                    var parts = p.Split('/');
                    return new PortSummary { PrivatePort = int.TryParse(parts[0], out var pp) ? pp : 0, Type = parts.Length > 1 ? parts[1] : "tcp" };
                }).ToList(),
                SizeRw = sizeRw,
                SizeRootFs = options.Size ? sizeRw : null,
                Labels = r.Config.Labels ?? [],
                State = r.Status,
                Status = StatusText.For(r.Status, r.ExitCode, r.StartedAt, r.FinishedAt, now) + HealthSuffix(r),
                HostConfig = new SummaryHostConfig { NetworkMode = r.HostConfig.NetworkMode ?? r.NetworkMode },
            });
        }
        return result;
    }

    /// <inheritdoc />
    public async Task<ContainerInspectResponse> InspectAsync(string id, bool size, CancellationToken ct)
    {
        var e = Resolve(id);
        var r = e.Rec;
        var dir = ContainerDir(r.Id);
        long? sizeRw = size ? await _snapshots.UsageAsync(r.Id, ct).ConfigureAwait(false) : null;
        List<string> execIds;
        lock (e.ExecIds)
        {
            execIds = [.. e.ExecIds];
        }
        var mounts = new List<MountPoint>();
        foreach (var b in r.HostConfig.Binds ?? [])
        {
            var p = b.Split(':');
            if (p.Length >= 2)
            {
                var ro = p.Length > 2 && p[2].Split(',').Contains("ro");
                mounts.Add(new MountPoint { Type = "bind", Source = p[0], Destination = p[1], Mode = p.Length > 2 ? p[2] : "", RW = !ro, Propagation = "rprivate" });
            }
        }
        return new ContainerInspectResponse
        {
            Id = r.Id,
            Created = ContainerHelpers.Rfc3339Nano(r.Created),
            Path = r.Path,
            Args = r.Args,
            State = new ContainerState
            {
                Status = r.Status,
                Running = r.Status is "running" or "paused",
                Paused = r.Status == "paused",
                Restarting = r.Status == "restarting",
                OOMKilled = r.OomKilled,
                Dead = r.Status == "dead",
                Pid = r.Pid,
                ExitCode = r.ExitCode,
                Error = r.Error,
                StartedAt = ContainerHelpers.Rfc3339Nano(r.StartedAt),
                FinishedAt = ContainerHelpers.Rfc3339Nano(r.FinishedAt),
                Health = r.Health,
            },
            Image = r.ImageId,
            ResolvConfPath = Path.Combine(dir, "resolv.conf"),
            HostnamePath = Path.Combine(dir, "hostname"),
            HostsPath = Path.Combine(dir, "hosts"),
            LogPath = LogPath(r.Id),
            Name = r.Name,
            RestartCount = r.RestartCount,
            ExecIDs = execIds.Count > 0 ? execIds : null,
            HostConfig = r.HostConfig,
            GraphDriver = new GraphDriverData { Name = "overlay2", Data = [] },
            SizeRw = sizeRw,
            SizeRootFs = sizeRw,
            Mounts = mounts,
            Config = r.Config,
            NetworkSettings = new NetworkSettings
            {
                SandboxKey = r.Status == "running" && r.Pid > 0 && r.NetworkMode != "host" ? $"/proc/{r.Pid}/ns/net" : "",
                Networks = new Dictionary<string, EndpointSettings> { [r.NetworkMode] = new EndpointSettings() },
            },
        };
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<LogEntry> LogsAsync(string id, LogsOptions options, [EnumeratorCancellation] CancellationToken ct)
    {
        var e = Resolve(id);
        var path = LogPath(e.Rec.Id);
        bool Wanted(LogEntry x) =>
            ((x.Stream == StdStream.Stdout && options.Stdout) || (x.Stream == StdStream.Stderr && options.Stderr))
            && (options.Since is null || x.Time >= options.Since) && (options.Until is null || x.Time <= options.Until);
        var skip = 0;
        if (options.Tail is { } tail)
        {
            var count = 0;
            await foreach (var x in K8sFileLog.ReadAsync(path, null, null, ct).ConfigureAwait(false))
            {
                if (Wanted(x))
                {
                    count++;
                }
            }
            skip = Math.Max(0, count - tail);
        }
        var follow = options.Follow && IsRunning(e.Rec);
        using var watcher = follow ? new FileSystemWatcher(ContainerDir(e.Rec.Id), "container.log") { NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.FileName } : null;
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (watcher is not null)
        {
            void Poke(object? _, FileSystemEventArgs __) => Interlocked.Exchange(ref signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            watcher.Changed += Poke;
            watcher.Created += Poke;
            watcher.EnableRaisingEvents = true;
        }
        var stopped = follow ? e.ExitHandled.Task : null;
        await foreach (var x in K8sFileLog.ReadAsync(path, follow ? () => Volatile.Read(ref signal).Task : null, stopped, ct).ConfigureAwait(false))
        {
            if (!Wanted(x))
            {
                continue;
            }
            if (skip > 0)
            {
                skip--;
                continue;
            }
            yield return x;
        }
    }

    /// <inheritdoc />
    public async Task<IStdioSession> AttachAsync(string id, AttachOptions options, CancellationToken ct)
    {
        var e = Resolve(id);
        Emit(e.Rec, "attach");
        var session = new AttachSession(e.Rec.Config.Tty, options, s =>
        {
            lock (e.Sessions)
            {
                e.Sessions.Remove(s);
            }
        });
        if (options.Logs)
        {
            await foreach (var x in K8sFileLog.ReadAsync(LogPath(e.Rec.Id), null, null, ct).ConfigureAwait(false))
            {
                session.Replay(x);
            }
        }
        if (!options.Stream)
        {
            session.Complete();
            return session;
        }
        await e.Lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (IsRunning(e.Rec))
            {
                try
                {
                    session.Connect(await ConmonMonitor.ConnectAttachAsync(BundleDir(e.Rec.Id), ct).ConfigureAwait(false));
                }
                catch (System.Net.Sockets.SocketException)
                {
                    session.Complete();
                }
            }
            else
            {
                lock (e.Sessions)
                {
                    e.Sessions.Add(session);
                }
            }
        }
        finally
        {
            e.Lock.Release();
        }
        return session;
    }

    /// <inheritdoc />
    public Task ResizeAsync(string id, int height, int width, CancellationToken ct)
    {
        var e = Resolve(id);
        if (!IsRunning(e.Rec))
        {
            throw MockerException.Conflict($"Container {e.Rec.Id} is not running");
        }
        if (e.Rec.Config.Tty)
        {
            ConmonMonitor.Resize(BundleDir(e.Rec.Id), height, width);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task PauseAsync(string id, CancellationToken ct)
    {
        var e = Resolve(id);
        await e.Lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // Texts of moby daemon/pause.go.
            switch (e.Rec.Status)
            {
                case "paused":
                    throw MockerException.Conflict($"Container {e.Rec.Id} is already paused");
                case "restarting":
                    throw MockerException.Conflict($"Container {e.Rec.Id} is restarting, wait until the container is running");
                case not "running":
                    throw MockerException.Conflict($"Container {e.Rec.Id} is not running");
            }
            var (runc, _) = RuntimeFor(e.Rec.HostConfig.Runtime);
            await runc.PauseAsync(e.Rec.Id, ct).ConfigureAwait(false);
            await SaveAsync(e, r => r with { Status = "paused" }).ConfigureAwait(false);
            Emit(e.Rec, "pause");
        }
        finally
        {
            e.Lock.Release();
        }
    }

    /// <inheritdoc />
    public async Task UnpauseAsync(string id, CancellationToken ct)
    {
        var e = Resolve(id);
        await e.Lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (e.Rec.Status != "paused")
            {
                throw MockerException.Conflict($"Container {e.Rec.Id} is not paused");
            }
            var (runc, _) = RuntimeFor(e.Rec.HostConfig.Runtime);
            await runc.ResumeAsync(e.Rec.Id, ct).ConfigureAwait(false);
            await SaveAsync(e, r => r with { Status = "running" }).ConfigureAwait(false);
            Emit(e.Rec, "unpause");
        }
        finally
        {
            e.Lock.Release();
        }
    }

    /// <summary>A frozen container cannot act on SIGKILL until thawed; moby's kill thaws it the same way.</summary>
    private async Task ThawAfterKillAsync(Entry e, RuncRuntime runc)
    {
        if (e.Rec.Status == "paused")
        {
            try
            {
                await runc.ResumeAsync(e.Rec.Id, CancellationToken.None).ConfigureAwait(false);
            }
            catch (MockerException ex)
            {
                _log.LogWarning("resume after kill {Id}: {Message}", e.Rec.Id, ex.Message);
            }
        }
    }

    /// <inheritdoc />
    public async Task RenameAsync(string id, string newName, CancellationToken ct)
    {
        var e = Resolve(id);
        if (!ContainerNames.IsValid(newName))
        {
            throw MockerException.InvalidArgument(ContainerNames.InvalidMessage(newName));
        }
        var full = newName.StartsWith('/') ? newName : "/" + newName;
        if (full == e.Rec.Name)
        {
            throw MockerException.InvalidArgument("Renaming a container with the same name as its current name");
        }
        if (_entries.Values.FirstOrDefault(x => x.Rec.Name == full) is { } clash)
        {
            throw NameConflict(full, clash.Rec.Id);
        }
        var updated = e.Rec with { Name = full };
        if (!await _store.UpdateAsync(updated, ct).ConfigureAwait(false))
        {
            throw NameConflict(full, "");
        }
        var oldName = e.Rec.Name;
        lock (e)
        {
            e.Rec = updated;
        }
        Emit(updated, "rename", ("oldName", oldName));
    }

    /// <inheritdoc />
    public async Task<ContainerTopResponse> TopAsync(string id, string? psArgs, CancellationToken ct)
    {
        var e = Resolve(id);
        if (!IsRunning(e.Rec))
        {
            throw MockerException.Conflict($"Container {e.Rec.Id} is not running");
        }
        var (runc, _) = RuntimeFor(e.Rec.HostConfig.Runtime);
        var pids = await runc.PsAsync(e.Rec.Id, ct).ConfigureAwait(false);
        var boot = ContainerHelpers.BootTime();
        return new ContainerTopResponse
        {
            Titles = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
            Processes = pids.Order().Select(p => ContainerHelpers.ProcRow(p, boot)).OfType<List<string>>().ToList(),
        };
    }

    /// <inheritdoc />
    public async Task<ContainerPruneResponse> PruneAsync(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, CancellationToken ct)
    {
        var deleted = new List<string>();
        long reclaimed = 0;
        DateTimeOffset? until = null;
        if (filters.TryGetValue("until", out var u) && u.Count > 0)
        {
            until = long.TryParse(u[0], out var secs) ? DateTimeOffset.FromUnixTimeSeconds(secs)
                : DateTimeOffset.TryParse(u[0], out var t) ? t : DateTimeOffset.UtcNow - ParseGoDuration(u[0]);
        }
        foreach (var e in _entries.Values.ToList())
        {
            var r = e.Rec;
            if (IsRunning(r) || (until is not null && r.Created >= until))
            {
                continue;
            }
            if (filters.TryGetValue("label", out var labels) && !labels.All(l =>
                {
                    var kv = l.Split('=', 2);
                    var lbl = r.Config.Labels ?? [];
                    return kv.Length == 1 ? lbl.ContainsKey(kv[0]) : lbl.TryGetValue(kv[0], out var v) && v == kv[1];
                }))
            {
                continue;
            }
            reclaimed += await _snapshots.UsageAsync(r.Id, ct).ConfigureAwait(false);
            await RemoveAsync(r.Id, false, false, ct).ConfigureAwait(false);
            deleted.Add(r.Id);
        }
        return new ContainerPruneResponse { ContainersDeleted = deleted, SpaceReclaimed = reclaimed };
    }

    private static TimeSpan ParseGoDuration(string s)
    {
        var total = TimeSpan.Zero;
        var num = new StringBuilder();
        foreach (var c in s)
        {
            if (char.IsDigit(c) || c == '.')
            {
                num.Append(c);
                continue;
            }
            var v = double.Parse(num.ToString(), System.Globalization.CultureInfo.InvariantCulture);
            num.Clear();
            total += c switch { 'h' => TimeSpan.FromHours(v), 'm' => TimeSpan.FromMinutes(v), 's' => TimeSpan.FromSeconds(v), _ => TimeSpan.Zero };
        }
        return total;
    }

    /// <inheritdoc />
    public ImageUser? FindImageUser(string imageId)
    {
        ImageUser? stopped = null;
        foreach (var e in _entries.Values)
        {
            if (e.Rec.ImageId != imageId)
            {
                continue;
            }
            if (IsRunning(e.Rec))
            {
                return new ImageUser(e.Rec.Id, Running: true);
            }
            stopped ??= new ImageUser(e.Rec.Id, Running: false);
        }
        return stopped;
    }

    /// <inheritdoc />
    public (int Total, int Running, int Paused, int Stopped) Counts()
    {
        var recs = _entries.Values.Select(e => e.Rec).ToList();
        var running = recs.Count(r => r.Status is "running" or "restarting");
        var paused = recs.Count(r => r.Status == "paused");
        return (recs.Count, running, paused, recs.Count - running - paused);
    }

    /// <inheritdoc />
    public Task<string> ExecCreateAsync(string id, ExecConfig config, CancellationToken ct)
    {
        var e = Resolve(id);
        if (!IsRunning(e.Rec))
        {
            throw MockerException.Conflict($"Container {e.Rec.Id} is not running");
        }
        if (e.Rec.Status == "paused")
        {
            throw MockerException.Conflict($"Container {e.Rec.Id} is paused, unpause the container before exec");
        }
        if (config.Cmd is not { Count: > 0 })
        {
            throw MockerException.InvalidArgument("No exec command specified");
        }
        var execId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        _execs[execId] = new ExecEntry(execId, e.Rec.Id, config);
        lock (e.ExecIds)
        {
            e.ExecIds.Add(execId);
        }
        Emit(e.Rec, "exec_create: " + string.Join(' ', config.Cmd), ("execID", execId));
        return Task.FromResult(execId);
    }

    private ExecEntry GetExec(string execId) =>
        _execs.TryGetValue(execId, out var x) ? x : throw new MockerException(ErrorKind.NotFound, $"No such exec instance: {execId}");

    /// <inheritdoc />
    public async Task<IStdioSession?> ExecStartAsync(string execId, ExecStartConfig config, CancellationToken ct)
    {
        var x = GetExec(execId);
        var e = Resolve(x.ContainerId);
        lock (x)
        {
            if (x.Started)
            {
                throw MockerException.Conflict($"Error: Exec command {execId} has already run");
            }
            x.Started = true;
        }
        if (!IsRunning(e.Rec))
        {
            throw MockerException.Conflict($"Container {e.Rec.Id} is not running");
        }
        var rec = e.Rec;
        var (runc, _) = RuntimeFor(rec.HostConfig.Runtime);
        var bundle = BundleDir(rec.Id);
        var caps = SpecGenerator.Capabilities(rec.HostConfig.Privileged || x.Config.Privileged, rec.HostConfig.CapAdd ?? [], rec.HostConfig.CapDrop ?? []);
        var env = new List<string>(rec.Config.Env ?? []);
        foreach (var v in x.Config.Env ?? [])
        {
            var key = v.Split('=', 2)[0];
            env.RemoveAll(y => y.Split('=', 2)[0] == key);
            env.Add(v);
        }
        var detach = config.Detach || x.Config.Detach;
        var tty = config.Tty || x.Config.Tty;
        var session = new ExecSession(tty, x.Config.AttachStdin && !detach);
        JsonObject process;
        try
        {
            process = SpecGenerator.Process(Path.Combine(bundle, "rootfs"), x.Config.Cmd!, env,
                string.IsNullOrEmpty(x.Config.User) ? rec.Config.User ?? "" : x.Config.User,
                string.IsNullOrEmpty(x.Config.WorkingDir) ? rec.Config.WorkingDir ?? "/" : x.Config.WorkingDir,
                rec.Config.Hostname ?? "", false, caps, rec.HostConfig.Ulimits ?? [],
                (rec.HostConfig.SecurityOpt ?? []).Any(o => o.StartsWith("no-new-privileges", StringComparison.Ordinal)), rec.HostConfig.GroupAdd);
        }
        catch (MockerException ex)
        {
            x.ExitCode = 126;
            if (detach)
            {
                throw;
            }
            await session.Writer.WriteAsync(new OutputChunk(StdStream.Stdout, Encoding.UTF8.GetBytes($"OCI runtime exec failed: exec failed: {ex.Message}: unknown\r\n")), ct).ConfigureAwait(false);
            session.Writer.TryComplete();
            return session;
        }
        if (tty)
        {
            process["terminal"] = true;
            if (config.ConsoleSize is [> 0 and var h, > 0 and var w])
            {
                process["consoleSize"] = new JsonObject { ["height"] = h, ["width"] = w };
            }
            return await StartTtyExecAsync(x, rec, process, detach, ct).ConfigureAwait(false);
        }
        var specPath = Path.Combine(bundle, $"exec-{execId}.json");
        var logPath = Path.Combine(bundle, $"exec-{execId}.log");
        await File.WriteAllTextAsync(specPath, process.ToJsonString(), ct).ConfigureAwait(false);
        var pidFile = Path.Combine(bundle, $"exec-{execId}.pid");
        var argv = new List<string> { runc.Binary, "--root", runc.Root, "--log", logPath, "--log-format", "json", "exec", "--process", specPath, "--pid-file", pidFile, rec.Id };
        var attachStdin = x.Config.AttachStdin && !detach;
        var (exit, stdinStream) = NativeProcess.StartPiped(argv, attachStdin, (fd, data) =>
        {
            var kind = fd == 2 ? StdStream.Stderr : StdStream.Stdout;
            if (!detach && (kind == StdStream.Stdout ? x.Config.AttachStdout : x.Config.AttachStderr))
            {
                session.Writer.TryWrite(new OutputChunk(session.Tty ? StdStream.Stdout : kind, data));
            }
        });
        session.Bind(stdinStream);
        x.Running = true;
        EmitExecStart(rec, x);
        _ = FinishExecAsync(x, exit, session, detach, specPath, logPath, pidFile);
        return detach ? null : session;
    }

    private async Task<IStdioSession?> StartTtyExecAsync(ExecEntry x, ContainerRecord rec, JsonObject process, bool detach, CancellationToken ct)
    {
        var (_, conmon) = RuntimeFor(rec.HostConfig.Runtime);
        var dir = Path.Combine(_options.ExecRoot, "exec", x.Id[..12]);
        Directory.CreateDirectory(dir);
        var specPath = Path.Combine(dir, "process.json");
        await File.WriteAllTextAsync(specPath, process.ToJsonString(), ct).ConfigureAwait(false);
        var exec = await conmon.LaunchExecAsync(new ConmonLaunch
        {
            ContainerId = rec.Id,
            Uuid = x.Id,
            Name = rec.Name.TrimStart('/'),
            Bundle = dir,
            PidFile = Path.Combine(dir, "pid"),
            ExitDir = dir,
            PersistDir = dir,
            LogPath = Path.Combine(dir, "log"),
            ConmonPidFile = Path.Combine(dir, "conmon.pid"),
            Tty = true,
            Stdin = x.Config.AttachStdin && !detach,
            ExecProcessSpec = specPath,
        }, ct).ConfigureAwait(false);
        x.Dir = dir;
        // conmon closes the attach socket as the process exits, before the exit code arrives on the sync pipe.
        var exitRecorded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var session = new AttachSession(true, new AttachOptions(x.Config.AttachStdin, x.Config.AttachStdout || x.Config.AttachStderr, x.Config.AttachStderr, true, false), _ => { }, exitRecorded.Task);
        try
        {
            session.Connect(await ConmonMonitor.ConnectAttachAsync(dir, ct).ConfigureAwait(false));
        }
        catch (System.Net.Sockets.SocketException)
        {
            session.Complete();
        }
        exec.SendStart();
        var started = await exec.ReadSyncAsync().ConfigureAwait(false);
        if (started.Data <= 0)
        {
            var failure = RuncRuntime.CleanMessage(started.Message ?? "exec failed");
            x.ExitCode = ExecFailureExitCode(failure);
            // The error text goes in before the gate opens: the pump may already have seen conmon close the socket.
            session.Replay(new LogEntry(StdStream.Stdout, DateTimeOffset.UtcNow, Encoding.UTF8.GetBytes($"OCI runtime exec failed: {failure}: unknown\r\n")));
            exitRecorded.SetResult();
            session.Complete();
            exec.Dispose();
            Directory.Delete(dir, recursive: true);
            return detach ? null : session;
        }
        x.Pid = started.Data;
        x.Running = true;
        EmitExecStart(rec, x);
        _ = Task.Run(async () =>
        {
            try
            {
                var exit = await exec.ReadSyncAsync().ConfigureAwait(false);
                x.ExitCode = exit.Data >= 0 ? exit.Data : 126;
                x.Running = false;
                EmitExecDie(x);
            }
            finally
            {
                exitRecorded.TrySetResult();
            }
            exec.Dispose();
            Directory.Delete(dir, recursive: true);
        }, CancellationToken.None);
        if (detach)
        {
            await session.DisposeAsync().ConfigureAwait(false);
            return null;
        }
        return session;
    }

    private async Task FinishExecAsync(ExecEntry x, Task<int> exit, ExecSession session, bool detach, string specPath, string logPath, string pidFile)
    {
        var code = await exit.ConfigureAwait(false);
        if (File.Exists(pidFile) && int.TryParse(await File.ReadAllTextAsync(pidFile).ConfigureAwait(false), out var pid))
        {
            x.Pid = pid;
        }
        var failure = File.Exists(logPath) ? ReadRuncError(await File.ReadAllLinesAsync(logPath).ConfigureAwait(false)) : null;
        if (failure is not null && x.Pid == 0)
        {
            code = ExecFailureExitCode(failure);
            if (!detach)
            {
                session.Writer.TryWrite(new OutputChunk(StdStream.Stdout, Encoding.UTF8.GetBytes($"OCI runtime exec failed: {failure}: unknown\r\n")));
            }
        }
        x.ExitCode = code;
        x.Running = false;
        EmitExecDie(x);
        session.Writer.TryComplete();
        foreach (var f in new[] { specPath, logPath, pidFile })
        {
            File.Delete(f);
        }
    }

    /// <summary>
    /// The exit code of an exec that runc could not start, as dockerd's translateContainerdStartErr assigns it: 127 when the
    /// executable is missing (not for a missing working directory), 126 otherwise. Shared by the TTY and pipe paths.
    /// </summary>
    private static int ExecFailureExitCode(string failure) =>
        failure.Contains("executable file not found", StringComparison.Ordinal)
        || (failure.Contains("no such file or directory", StringComparison.Ordinal) && !failure.Contains("chdir", StringComparison.Ordinal))
            ? 127 : 126;

    private static string? ReadRuncError(string[] lines)
    {
        foreach (var l in lines)
        {
            try
            {
                var o = JsonNode.Parse(l);
                if (o?["level"]?.GetValue<string>() is "error" or "fatal")
                {
                    return o["msg"]?.GetValue<string>();
                }
            }
            catch (JsonException)
            {
                // Not a JSON line: runc printed something else.
            }
        }
        return null;
    }

    /// <inheritdoc />
    public Task<ExecInspectResponse> ExecInspectAsync(string execId, CancellationToken ct)
    {
        var x = GetExec(execId);
        var cmd = x.Config.Cmd ?? [];
        return Task.FromResult(new ExecInspectResponse
        {
            ID = x.Id,
            Running = x.Running,
            ExitCode = x.ExitCode,
            ProcessConfig = new ProcessConfig
            {
                privileged = x.Config.Privileged,
                user = x.Config.User ?? "",
                tty = x.Config.Tty,
                entrypoint = cmd.Count > 0 ? cmd[0] : "",
                arguments = cmd.Skip(1).ToList(),
            },
            OpenStdin = x.Config.AttachStdin,
            OpenStdout = x.Config.AttachStdout,
            OpenStderr = x.Config.AttachStderr,
            CanRemove = !x.Running && x.Started,
            ContainerID = x.ContainerId,
            DetachKeys = x.Config.DetachKeys ?? "",
            Pid = x.Running || x.ExitCode is not (126 or 127) ? x.Pid : 0,
        });
    }

    /// <inheritdoc />
    public Task ExecResizeAsync(string execId, int height, int width, CancellationToken ct)
    {
        var x = GetExec(execId);
        if (x.Running && x.Dir is not null)
        {
            ConmonMonitor.Resize(x.Dir, height, width);
        }
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        foreach (var e in _entries.Values)
        {
            StopHealth(e);
        }
        _exits.Dispose();
    }

    /// <summary>Publishes a container event with Docker's attributes: the container's labels, image (as the user named it) and name.</summary>
    private void Emit(ContainerRecord rec, string action, params (string Key, string Value)[] extra)
    {
        var attrs = new Dictionary<string, string>(rec.Config.Labels ?? []);
        attrs["image"] = rec.ImageName;
        attrs["name"] = rec.Name.TrimStart('/');
        foreach (var (k, v) in extra)
        {
            attrs[k] = v;
        }
        _events.Publish("container", action, rec.Id, attrs);
    }

    private void EmitExecStart(ContainerRecord rec, ExecEntry x) =>
        Emit(rec, "exec_start: " + string.Join(' ', x.Config.Cmd ?? []), ("execID", x.Id));

    private void EmitExecDie(ExecEntry x)
    {
        if (_entries.TryGetValue(x.ContainerId, out var e))
        {
            Emit(e.Rec, "exec_die", ("execID", x.Id), ("exitCode", (x.ExitCode ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
    }
}

using System.Threading.Channels;
using Mocker.Api;

namespace Mocker.Engine.Containers;

/// <summary>stdcopy stream numbers (engine-api-trace.md §5.5): 0 stdin, 1 stdout, 2 stderr.</summary>
public enum StdStream : byte { Stdin = 0, Stdout = 1, Stderr = 2 }

/// <summary>A piece of a process's output. With a TTY everything is <see cref="StdStream.Stdout"/>.</summary>
public readonly record struct OutputChunk(StdStream Stream, ReadOnlyMemory<byte> Data);

/// <summary>One log record: the stream, the time conmon stamped it, and its bytes (including the trailing "\n" of a complete line).</summary>
public readonly record struct LogEntry(StdStream Stream, DateTimeOffset Time, ReadOnlyMemory<byte> Data);

/// <summary>Options of <c>GET /containers/{id}/logs</c>. <paramref name="Tail"/> null = all. Times are inclusive bounds.</summary>
public sealed record LogsOptions(bool Stdout, bool Stderr, bool Follow, int? Tail, DateTimeOffset? Since, DateTimeOffset? Until);

/// <summary>Options of <c>POST /containers/{id}/attach</c>. <paramref name="Logs"/> replays the log first.</summary>
public sealed record AttachOptions(bool Stdin, bool Stdout, bool Stderr, bool Stream, bool Logs);

/// <summary>Options of <c>GET /containers/json</c>. Filters: key → values (id, name, label, status, ancestor, before, since, exited).</summary>
public sealed record ContainerListOptions(bool All, int? Limit, bool Size, IReadOnlyDictionary<string, IReadOnlyList<string>> Filters);

/// <summary>
/// A live connection to a container's (or exec's) stdio. Output is delivered through <see cref="Output"/>,
/// which completes when the process has exited and its output is drained (or the session is disposed).
/// Stdin written before the process starts is buffered.
/// </summary>
public interface IStdioSession : IAsyncDisposable
{
    /// <summary>True when the process has a TTY: output is raw, not multiplexed.</summary>
    bool Tty { get; }

    ChannelReader<OutputChunk> Output { get; }

    /// <summary>Forwards bytes to the process's stdin; ignored when stdin is not attached.</summary>
    ValueTask WriteStdinAsync(ReadOnlyMemory<byte> data, CancellationToken ct);

    /// <summary>The client half-closed: closes the process's stdin (StdinOnce semantics).</summary>
    ValueTask CloseStdinAsync(CancellationToken ct);
}

/// <summary>A registered wait. Registration happens when <see cref="IContainerService.BeginWait"/> returns, before the caller flushes headers.</summary>
public interface IContainerWaiter : IDisposable
{
    Task<ContainerWaitResponse> Completion { get; }
}

/// <summary>
/// Container lifecycle behind the Engine API container and exec endpoints. IDs accept a full ID, a unique prefix
/// or a name (with or without "/"). Errors follow Docker's texts (engine-api-trace.md §4): NotFound "No such container: X",
/// Conflict for name clashes, removing a running container, killing a stopped one; NotModified for start-when-running and
/// stop-when-stopped; InvalidArgument for start failures ("failed to create shim task: OCI runtime create failed: …").
/// Containers keep running when the daemon stops; <see cref="RecoverAsync"/> reconciles them at start.
/// </summary>
public interface IContainerService
{
    /// <summary>Reconciles stored containers with conmon/runc state (running, or exited with the recorded code); starts restart-policy work.</summary>
    Task RecoverAsync(CancellationToken ct);

    Task<ContainerCreateResponse> CreateAsync(string? name, ContainerCreateRequest request, CancellationToken ct);

    /// <summary>Starts a created or exited container. Pending attach sessions get the output from the first byte.</summary>
    Task StartAsync(string id, CancellationToken ct);

    /// <summary>Sends StopSignal (default SIGTERM), waits <paramref name="timeoutSeconds"/> (null = container's StopTimeout or 10), then SIGKILL.</summary>
    Task StopAsync(string id, int? timeoutSeconds, CancellationToken ct);

    Task RestartAsync(string id, int? timeoutSeconds, CancellationToken ct);

    /// <summary>Signal by name ("HUP", "SIGHUP") or number; null = SIGKILL.</summary>
    Task KillAsync(string id, string? signal, CancellationToken ct);

    /// <summary>condition: "not-running" (default), "next-exit", "removed".</summary>
    IContainerWaiter BeginWait(string id, string? condition);

    Task RemoveAsync(string id, bool force, bool removeVolumes, CancellationToken ct);

    Task<IReadOnlyList<ContainerSummary>> ListAsync(ContainerListOptions options, CancellationToken ct);

    Task<ContainerInspectResponse> InspectAsync(string id, bool size, CancellationToken ct);

    /// <summary>Log records in order; with Follow, continues until the container stops or <paramref name="ct"/> fires.</summary>
    IAsyncEnumerable<LogEntry> LogsAsync(string id, LogsOptions options, CancellationToken ct);

    /// <summary>Attaches to a container (before or after start). The session ends when the container exits.</summary>
    Task<IStdioSession> AttachAsync(string id, AttachOptions options, CancellationToken ct);

    Task ResizeAsync(string id, int height, int width, CancellationToken ct);

    Task RenameAsync(string id, string newName, CancellationToken ct);

    /// <summary>Freezes every process of a running container (runc pause, cgroup freezer). Conflict "Container X is not running" / "is already paused".</summary>
    Task PauseAsync(string id, CancellationToken ct);

    /// <summary>Thaws a paused container (runc resume). Conflict "Container X is not paused".</summary>
    Task UnpauseAsync(string id, CancellationToken ct);

    Task<ContainerTopResponse> TopAsync(string id, string? psArgs, CancellationToken ct);

    Task<ContainerPruneResponse> PruneAsync(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, CancellationToken ct);

    /// <summary>A container (running ones first) created from image ID <paramref name="imageId"/> ("sha256:…"), or null.</summary>
    Images.ImageUser? FindImageUser(string imageId);

    /// <summary>Container counts for /info: (total, running, paused, stopped).</summary>
    (int Total, int Running, int Paused, int Stopped) Counts();

    /// <summary>Creates an exec instance; Conflict "Container X is not running" when stopped. Returns the exec ID.</summary>
    Task<string> ExecCreateAsync(string id, ExecConfig config, CancellationToken ct);

    /// <summary>
    /// Starts an exec. Detached: returns null once started. Attached: returns the session; a failure after the
    /// caller answered 101 is written into the session's output as text, and the exec's ExitCode becomes 126 (or 127).
    /// </summary>
    Task<IStdioSession?> ExecStartAsync(string execId, ExecStartConfig config, CancellationToken ct);

    Task<ExecInspectResponse> ExecInspectAsync(string execId, CancellationToken ct);

    Task ExecResizeAsync(string execId, int height, int width, CancellationToken ct);
}

using Mocker.Engine.Containers;
using Mocker.Engine.Snapshots;

namespace Mocker.Engine.Runtime;

/// <summary>
/// One process to run to completion in a throwaway container (the builder's RUN). <see cref="RootfsMounts"/> are the
/// snapshot's mounts; <see cref="NetworkMode"/> is "host" or "none"; <see cref="User"/> is "name", "uid", "uid:gid" or "",
/// resolved against the rootfs' /etc/passwd and /etc/group. <see cref="ExtraMounts"/> are OCI mounts added as given.
/// </summary>
public sealed record RunSpec
{
    public required IReadOnlyList<Mount> RootfsMounts { get; init; }
    public required IReadOnlyList<string> Args { get; init; }
    public IReadOnlyList<string> Env { get; init; } = [];
    public string WorkingDir { get; init; } = "/";
    public string User { get; init; } = "";
    public string NetworkMode { get; init; } = "host";
    public string Hostname { get; init; } = "buildkitsandbox";
    public IReadOnlyList<OciMount> ExtraMounts { get; init; } = [];
}

/// <summary>An OCI runtime-spec mount (config.md "mounts").</summary>
public sealed record OciMount(string Destination, string Type, string Source, IReadOnlyList<string> Options);

/// <summary>Runs a process in a fresh runc container and returns its exit code; stdout/stderr are streamed to <c>output</c>.</summary>
public interface IProcessRunner
{
    /// <summary>
    /// Throws MockerException(InvalidArgument) when the process cannot start (e.g. executable not found), with runc's
    /// message. Cancellation kills the container; the container and its mounts are always removed.
    /// </summary>
    Task<int> RunAsync(RunSpec spec, Func<OutputChunk, ValueTask> output, CancellationToken ct);
}

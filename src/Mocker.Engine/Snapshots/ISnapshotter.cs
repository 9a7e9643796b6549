namespace Mocker.Engine.Snapshots;

/// <summary>
/// A filesystem mount as mount(2) takes it (containerd core/mount): the snapshotter produces these,
/// the runtime and the builder consume them. For overlay: Type "overlay", Source "overlay",
/// Options ["lowerdir=a:b", "upperdir=u", "workdir=w"]; for a plain directory: Type "bind", Options ["rbind","rw"].
/// </summary>
public sealed record Mount(string Type, string Source, IReadOnlyList<string> Options);

/// <summary>The kind of a snapshot: committed snapshots are immutable parents; active ones are writable.</summary>
public enum SnapshotKind { View, Active, Committed }

public sealed record SnapshotInfo(string Key, string? Parent, SnapshotKind Kind, DateTimeOffset Created);

/// <summary>
/// Layered filesystems (containerd core/snapshots/snapshotter.go). Committed snapshots are named by the chainID
/// of their layer ("sha256:…"); active snapshots by their owner (container ID, build step). The snapshotter
/// never mounts: it returns <see cref="Mount"/>s. Every state change is persisted atomically.
/// </summary>
public interface ISnapshotter
{
    Task<SnapshotInfo?> StatAsync(string key, CancellationToken ct);

    /// <summary>Creates a writable snapshot on top of <paramref name="parent"/> (a committed key or null) and returns its mounts. Throws Conflict when the key exists.</summary>
    Task<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken ct);

    /// <summary>Creates a read-only view of <paramref name="parent"/>.</summary>
    Task<IReadOnlyList<Mount>> ViewAsync(string key, string? parent, CancellationToken ct);

    /// <summary>Mounts of an existing active or view snapshot.</summary>
    Task<IReadOnlyList<Mount>> MountsAsync(string key, CancellationToken ct);

    /// <summary>Turns active snapshot <paramref name="key"/> into committed snapshot <paramref name="name"/>. Throws Conflict when the name exists.</summary>
    Task CommitAsync(string name, string key, CancellationToken ct);

    /// <summary>Removes a snapshot and its directory; a committed snapshot with children throws Conflict. Absent keys are ignored.</summary>
    Task RemoveAsync(string key, CancellationToken ct);

    /// <summary>
    /// The directory holding this snapshot's own changes (the overlay upperdir for an active snapshot, the layer
    /// directory for a committed one): the source of a diff, the target of a layer apply.
    /// </summary>
    Task<string> GetChangesDirAsync(string key, CancellationToken ct);

    /// <summary>Disk usage in bytes of the snapshot's own changes.</summary>
    Task<long> UsageAsync(string key, CancellationToken ct);

    Task<IReadOnlyList<SnapshotInfo>> ListAsync(CancellationToken ct);
}

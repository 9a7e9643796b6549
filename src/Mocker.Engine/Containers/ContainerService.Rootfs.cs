using Mocker.Engine.Snapshots;

namespace Mocker.Engine.Containers;

public sealed partial class ContainerService
{
    /// <summary>
    /// Runs <paramref name="work"/> with the container's record and its merged root filesystem, holding the container's
    /// lock so it is neither started, stopped nor removed meanwhile. A running container's rootfs is the bundle mount;
    /// a stopped one's snapshot is mounted on a private directory under the exec root for the call and unmounted after.
    /// Without <paramref name="mount"/> the path passed is empty and nothing is mounted (commit reads the upper directory only).
    /// Errors: NotFound "No such container: X".
    /// </summary>
    internal async Task<T> WithRootfsAsync<T>(string idOrName, bool mount, Func<ContainerRecord, string, Task<T>> work, CancellationToken ct)
    {
        var e = Resolve(idOrName);
        await e.Lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var rec = e.Rec;
            if (!mount)
            {
                return await work(rec, "").ConfigureAwait(false);
            }
            if (IsRunning(rec))
            {
                return await work(rec, Path.Combine(BundleDir(rec.Id), "rootfs")).ConfigureAwait(false);
            }
            var target = Path.Combine(_options.ExecRoot, "export", rec.Id + "-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(target);
            try
            {
                MountHelper.MountAll(await _snapshots.MountsAsync(rec.Id, ct).ConfigureAwait(false), target);
                try
                {
                    return await work(rec, target).ConfigureAwait(false);
                }
                finally
                {
                    MountHelper.Unmount(target);
                }
            }
            finally
            {
                Directory.Delete(target);
            }
        }
        finally
        {
            e.Lock.Release();
        }
    }

    /// <summary>The container's record (resolved by ID, name or unique ID prefix). Errors: NotFound "No such container: X".</summary>
    internal ContainerRecord Get(string idOrName) => Resolve(idOrName).Rec;

    /// <summary>The directory holding the container's own changes (its snapshot's overlay upperdir).</summary>
    internal Task<string> ChangesDirAsync(string id, CancellationToken ct) => _snapshots.GetChangesDirAsync(id, ct);

    /// <summary>The overlay mounts of the container's snapshot (lowerdir option lists the image layers).</summary>
    internal Task<IReadOnlyList<Mount>> SnapshotMountsAsync(string id, CancellationToken ct) => _snapshots.MountsAsync(id, ct);
}

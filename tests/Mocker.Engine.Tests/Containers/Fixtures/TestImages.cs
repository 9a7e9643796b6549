using Mocker.Api;
using Mocker.Engine.Content;
using Mocker.Engine.Errors;
using Mocker.Engine.Images;
using Mocker.Engine.Snapshots;
using Mount = Mocker.Engine.Snapshots.Mount;

namespace Mocker.Engine.Tests.Containers.Fixtures;

/// <summary>
/// Test-only stand-ins for the image store and snapshotter (owned by other subsystems): one busybox image whose
/// single committed snapshot is a directory, and active snapshots as real overlay mounts on top of it.
/// </summary>
public sealed class TestEnvironment : IAsyncDisposable
{
    public TestEnvironment()
    {
        Root = Path.Combine("/tmp", "mk-" + Guid.NewGuid().ToString("N")[..8]);
        Options = new EngineOptions { DataRoot = Path.Combine(Root, "d"), ExecRoot = Path.Combine(Root, "x") };
        var baseDir = Path.Combine(Root, "base");
        Directory.CreateDirectory(Path.Combine(baseDir, "bin"));
        Directory.CreateDirectory(Path.Combine(baseDir, "etc"));
        Directory.CreateDirectory(Path.Combine(baseDir, "tmp"));
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(Path.Combine(baseDir, "tmp"), (UnixFileMode)0x3FF | UnixFileMode.StickyBit);
        }
        File.Copy("/bin/busybox", Path.Combine(baseDir, "bin", "busybox"));
        foreach (var tool in new[] { "sh", "echo", "true", "false", "sleep", "cat", "id", "pwd", "ls", "ps", "env", "hostname", "tr" })
        {
            File.CreateSymbolicLink(Path.Combine(baseDir, "bin", tool), "busybox");
        }
        File.WriteAllText(Path.Combine(baseDir, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n");
        File.WriteAllText(Path.Combine(baseDir, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
        Snapshotter = new OverlayTestSnapshotter(Path.Combine(Root, "snap"), baseDir);
        Images = new SingleImageStore();
    }

    public string Root { get; }

    public EngineOptions Options { get; }

    public OverlayTestSnapshotter Snapshotter { get; }

    public SingleImageStore Images { get; }

    public ValueTask DisposeAsync()
    {
        foreach (var line in File.ReadAllLines("/proc/self/mountinfo"))
        {
            var mountPoint = line.Split(' ')[4];
            if (mountPoint.StartsWith(Root, StringComparison.Ordinal))
            {
                MountHelper.Unmount(mountPoint);
            }
        }
        Directory.Delete(Root, recursive: true);
        return ValueTask.CompletedTask;
    }
}

/// <summary>One image "busybox" (also found by its ID) with Cmd ["sh"] and snapshot key "base".</summary>
public sealed class SingleImageStore : IImageStore
{
    public static readonly Digest ImageId = Digest.Parse("sha256:" + new string('a', 64));

    public ImageRecord Image { get; } = new()
    {
        Id = ImageId,
        ManifestDigest = ImageId,
        Config = new ImageConfig { Config = new ContainerConfig { Cmd = ["sh"], Env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] } },
        TopChainId = "base",
        Tags = ["docker.io/library/busybox:latest"],
    };

    public Task<ImageRecord?> FindAsync(string nameOrId, CancellationToken ct) =>
        Task.FromResult<ImageRecord?>(nameOrId is "busybox" or "busybox:latest" || nameOrId == ImageId.ToString() ? Image : null);

    public async Task<ImageRecord> GetAsync(string nameOrId, CancellationToken ct) =>
        await FindAsync(nameOrId, ct).ConfigureAwait(false) ?? throw MockerException.NoSuchImage(nameOrId.Contains(':') ? nameOrId : nameOrId + ":latest");

    public Task<IReadOnlyList<ImageRecord>> ListAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<ImageRecord>>([Image]);

    public Task PutAsync(ImageRecord image, IReadOnlyList<string> tags, CancellationToken ct) => throw new NotSupportedException();

    public Task TagAsync(Digest imageId, string reference, CancellationToken ct) => throw new NotSupportedException();

    public Task<bool> UntagAsync(string reference, CancellationToken ct) => throw new NotSupportedException();

    public Task DeleteAsync(Digest imageId, CancellationToken ct) => throw new NotSupportedException();
}

/// <summary>Committed snapshot "base" is a plain directory; active snapshots are overlay (lower=base, upper, work) directories.</summary>
public sealed class OverlayTestSnapshotter(string root, string baseDir) : ISnapshotter
{
    private readonly Dictionary<string, string> _active = [];

    public Task<SnapshotInfo?> StatAsync(string key, CancellationToken ct) =>
        Task.FromResult<SnapshotInfo?>(_active.ContainsKey(key) ? new SnapshotInfo(key, "base", SnapshotKind.Active, DateTimeOffset.UtcNow) : null);

    public Task<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken ct)
    {
        lock (_active)
        {
            if (_active.ContainsKey(key))
            {
                throw MockerException.Conflict($"snapshot {key} already exists");
            }
            var dir = Path.Combine(root, key);
            Directory.CreateDirectory(Path.Combine(dir, "fs"));
            Directory.CreateDirectory(Path.Combine(dir, "work"));
            _active[key] = dir;
        }
        return MountsAsync(key, ct);
    }

    public Task<IReadOnlyList<Mount>> ViewAsync(string key, string? parent, CancellationToken ct) => PrepareAsync(key, parent, ct);

    public Task<IReadOnlyList<Mount>> MountsAsync(string key, CancellationToken ct)
    {
        var dir = _active[key];
        return Task.FromResult<IReadOnlyList<Mount>>(
            [new Mount("overlay", "overlay", [$"lowerdir={baseDir}", $"upperdir={Path.Combine(dir, "fs")}", $"workdir={Path.Combine(dir, "work")}"])]);
    }

    public Task CommitAsync(string name, string key, CancellationToken ct) => throw new NotSupportedException();

    public Task RemoveAsync(string key, CancellationToken ct)
    {
        lock (_active)
        {
            if (_active.Remove(key, out var dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        return Task.CompletedTask;
    }

    public Task<string> GetChangesDirAsync(string key, CancellationToken ct) => Task.FromResult(Path.Combine(_active[key], "fs"));

    public Task<long> UsageAsync(string key, CancellationToken ct) => Task.FromResult(0L);

    public Task<IReadOnlyList<SnapshotInfo>> ListAsync(CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<SnapshotInfo>>(_active.Keys.Select(k => new SnapshotInfo(k, "base", SnapshotKind.Active, DateTimeOffset.UtcNow)).ToList());
}

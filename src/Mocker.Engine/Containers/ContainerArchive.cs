using System.Formats.Tar;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Mocker.Engine.Errors;
using Mocker.Engine.Native;
using Mocker.Engine.Snapshots;

namespace Mocker.Engine.Containers;

/// <summary>
/// Stat of a container path as the archive API reports it in <c>X-Docker-Container-Path-Stat</c> (base64 JSON).
/// <paramref name="Mode"/> is a Go <c>os.FileMode</c> (permission bits | type bits: dir 1&lt;&lt;31, symlink 1&lt;&lt;27, …).
/// </summary>
public sealed record ContainerPathStat(string Name, long Size, uint Mode, DateTimeOffset Mtime, string LinkTarget);

/// <summary>One entry of <c>GET /containers/{id}/changes</c>: Kind 0 modified, 1 added, 2 deleted.</summary>
public sealed record ContainerChange(string Path, int Kind);

/// <summary>Copying files into and out of containers (<c>docker cp</c>, archive API) and <c>docker diff</c>; see <see cref="ContainerArchive"/>.</summary>
public interface IContainerArchive
{
    /// <summary>HEAD archive: stat of <paramref name="path"/>. Errors: NotFound "Could not find the file P in container C".</summary>
    Task<ContainerPathStat> StatAsync(string container, string path, CancellationToken ct);

    /// <summary>
    /// GET archive: calls <paramref name="begin"/> with the stat once the path is found, then writes a tar of it to the
    /// stream <paramref name="begin"/> returned. Errors as <see cref="StatAsync"/>.
    /// </summary>
    Task GetAsync(string container, string path, Func<ContainerPathStat, Stream> begin, CancellationToken ct);

    /// <summary>PUT archive: extracts <paramref name="tar"/> into the directory <paramref name="path"/>.</summary>
    Task PutAsync(string container, string path, Stream tar, ArchivePutOptions options, CancellationToken ct);

    /// <summary>The container layer's changes, sorted by path.</summary>
    Task<IReadOnlyList<ContainerChange>> ChangesAsync(string container, CancellationToken ct);
}

/// <summary>PUT archive query: <c>noOverwriteDirNonDir</c>, <c>copyUIDGID</c> (keep the tar's owners; else root:root).</summary>
public sealed record ArchivePutOptions(bool NoOverwriteDirNonDir, bool CopyUidGid);

/// <summary>
/// The archive API (moby daemon/archive.go, engine-api-trace.md §1.14) and changes (§1.20, moby pkg/archive/changes.go).
/// Designed against CVE-2018-15664 (symlink-exchange TOCTOU): the container root is opened once as a directory fd and
/// every path is resolved with openat2(2) RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, so ".." and symlinks (absolute or
/// not, swapped in at any moment) stay inside the root; every later operation is relative to a directory fd on a
/// single final component that is never followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW, fchmodat2). No code runs inside
/// the container's filesystem (CVE-2019-14271 loaded the container's libnss in a chrooted helper).
/// A running container is reached through its mounted rootfs, a stopped one through a temporary snapshot mount.
/// </summary>
public sealed partial class ContainerArchive(ContainerService containers) : IContainerArchive
{
    private const int ORdOnly = 0;
    private const int ODirectory = 0x10000;
    private const uint GoModeDir = 1u << 31;
    private const uint GoModeSymlink = 1u << 27;
    private const uint GoModeDevice = 1u << 26;
    private const uint GoModeNamedPipe = 1u << 25;
    private const uint GoModeSocket = 1u << 24;
    private const uint GoModeSetuid = 1u << 23;
    private const uint GoModeSetgid = 1u << 22;
    private const uint GoModeCharDevice = 1u << 21;
    private const uint GoModeSticky = 1u << 20;

    public Task<ContainerPathStat> StatAsync(string container, string path, CancellationToken ct) =>
        containers.WithRootfsAsync(container, mount: true, (_, rootfs) =>
        {
            using var root = OpenRoot(rootfs);
            using var target = Locate(root, container, path);
            return Task.FromResult(target.Stat);
        }, ct);

    public Task GetAsync(string container, string path, Func<ContainerPathStat, Stream> begin, CancellationToken ct) =>
        containers.WithRootfsAsync(container, mount: true, async (_, rootfs) =>
        {
            using var root = OpenRoot(rootfs);
            await WriteArchiveAsync(root, container, path, begin, ct).ConfigureAwait(false);
            return true;
        }, ct);

    public Task PutAsync(string container, string path, Stream tar, ArchivePutOptions options, CancellationToken ct) =>
        containers.WithRootfsAsync(container, mount: true, async (_, rootfs) =>
        {
            using var root = OpenRoot(rootfs);
            await ExtractAsync(root, container, path, tar, options, ct).ConfigureAwait(false);
            return true;
        }, ct);

    /// <summary>GET archive below an opened root (<paramref name="container"/> names it in errors).</summary>
    internal static async Task WriteArchiveAsync(OwnedFd root, string container, string path, Func<ContainerPathStat, Stream> begin, CancellationToken ct)
    {
        using var target = Locate(root, container, path);
        var output = begin(target.Stat);
        await using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        await WriteEntryAsync(writer, target.Dir.Fd, target.Name, RebaseName(path), ct).ConfigureAwait(false);
    }

    /// <summary>PUT archive below an opened root: <paramref name="path"/> must be an existing directory (links followed inside the root).</summary>
    internal static async Task ExtractAsync(OwnedFd root, string container, string path, Stream tar, ArchivePutOptions options, CancellationToken ct)
    {
        var dest = CleanPath(path);
        using (var destDir = OwnedFd.OpenInRoot(root, dest, Libc.O_PATH))
        {
            if (destDir is null)
            {
                throw NotFound(path, container);
            }
            Libc.ThrowIfFailed(Libc.fstatat(destDir.Fd, "", out var st, Libc.AT_EMPTY_PATH), "stat", path);
            if (st.Type != Libc.S_IFDIR)
            {
                throw MockerException.InvalidArgument("extraction point is not a directory");
            }
        }
        var extractor = new Extractor(root, container, dest, options);
        await using var reader = new TarReader(tar, leaveOpen: true);
        TarEntry? entry;
        while ((entry = await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false)) is not null)
        {
            await extractor.ApplyAsync(entry, ct).ConfigureAwait(false);
        }
    }

    public Task<IReadOnlyList<ContainerChange>> ChangesAsync(string container, CancellationToken ct) =>
        containers.WithRootfsAsync(container, mount: false, async (rec, _) =>
        {
            var upper = await containers.ChangesDirAsync(rec.Id, ct).ConfigureAwait(false);
            var lowers = (await containers.SnapshotMountsAsync(rec.Id, ct).ConfigureAwait(false))
                .SelectMany(m => m.Options)
                .Where(o => o.StartsWith("lowerdir=", StringComparison.Ordinal))
                .SelectMany(o => o["lowerdir=".Length..].Split(':'))
                .ToList();
            var changes = new List<ContainerChange>();
            CollectChanges(upper, "", lowers, changes);
            changes.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
            return (IReadOnlyList<ContainerChange>)changes;
        }, ct);

    /// <summary>
    /// Mount points runc creates in the container layer; Docker keeps them in its hidden init layer (moby
    /// daemon/initlayer), so diff never lists them, and their parent directories count as pre-existing.
    /// </summary>
    private static readonly HashSet<string> InitLayerPaths =
        ["/dev", "/dev/pts", "/dev/shm", "/dev/console", "/proc", "/sys", "/.dockerenv", "/etc", "/etc/resolv.conf", "/etc/hosts", "/etc/hostname", "/etc/mtab"];

    /// <summary>
    /// A whiteout (0:0 char device) is a deletion; a path absent from every lower layer was added; else modified. A
    /// pre-existing directory shows as modified only when something below it changed (it was copied up for that).
    /// </summary>
    private static void CollectChanges(string upper, string rel, List<string> lowers, List<ContainerChange> changes)
    {
        foreach (var full in Directory.EnumerateFileSystemEntries(Path.Combine(upper, rel)))
        {
            var name = Path.GetFileName(full);
            var childRel = rel.Length == 0 ? name : rel + "/" + name;
            var path = "/" + childRel;
            if (!Libc.TryLstat(full, out var st))
            {
                continue;
            }
            if (st.Type == Libc.S_IFCHR && st.Rdev == 0)
            {
                changes.Add(new ContainerChange(path, 2));
                continue;
            }
            var isDir = st.Type == Libc.S_IFDIR;
            var inInitLayer = InitLayerPaths.Contains(path);
            if (inInitLayer && !isDir)
            {
                continue;
            }
            var existed = inInitLayer || lowers.Any(l => Libc.TryLstat(Path.Combine(l, childRel), out _));
            if (!isDir)
            {
                changes.Add(new ContainerChange(path, existed ? 0 : 1));
                continue;
            }
            var below = new List<ContainerChange>();
            CollectChanges(upper, childRel, lowers, below);
            if (!existed || below.Count > 0)
            {
                changes.Add(new ContainerChange(path, existed ? 0 : 1));
                changes.AddRange(below);
            }
        }
    }

    /// <summary>Opens a container root directory (host path, not container-controlled) as an O_PATH fd.</summary>
    internal static OwnedFd OpenRoot(string rootfs)
    {
        var fd = Libc.openat(Libc.AT_FDCWD, rootfs, Libc.O_PATH | ODirectory | Libc.O_CLOEXEC, 0);
        Libc.ThrowIfFailed(fd, "open", rootfs);
        return new OwnedFd(fd);
    }

    private static MockerException NotFound(string path, string container) =>
        new MockerException(ErrorKind.NotFound, $"Could not find the file {path} in container {container}");

    /// <summary>"/a/b/../c/" → "/a/c" (lexical, as Go's filepath.Clean on an absolute path).</summary>
    internal static string CleanPath(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part is "" or ".")
            {
                continue;
            }
            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
                continue;
            }
            parts.Add(part);
        }
        return "/" + string.Join('/', parts);
    }

    /// <summary>Docker follows the final component only when the path ends with "/" or "/." (the caller asks for what the link points to).</summary>
    private static bool FollowsFinal(string path) => path.EndsWith('/') || path.EndsWith("/.", StringComparison.Ordinal);

    /// <summary>The name the tar's entries are rooted at: the path's base name ("." for a "/." path, as docker's CLI expects for "copy the contents").</summary>
    private static string RebaseName(string path)
    {
        if (path.EndsWith("/.", StringComparison.Ordinal))
        {
            return ".";
        }
        var clean = CleanPath(path);
        return clean == "/" ? "." : clean[(clean.LastIndexOf('/') + 1)..];
    }

    /// <summary>Opens the parent of <paramref name="path"/> inside the root and lstats the final component (followed per <see cref="FollowsFinal"/>).</summary>
    internal static Located Locate(OwnedFd root, string container, string path)
    {
        var clean = CleanPath(path);
        OwnedFd? dir;
        string name;
        if (clean == "/" || FollowsFinal(path))
        {
            // Open the target itself (links followed inside the root) and stat it through its parent's view of "."; a
            // followed directory is then walked from its own fd.
            dir = OwnedFd.OpenInRoot(root, clean, Libc.O_PATH);
            name = "";
        }
        else
        {
            var slash = clean.LastIndexOf('/');
            dir = OwnedFd.OpenInRoot(root, slash == 0 ? "/" : clean[..slash], Libc.O_PATH | ODirectory);
            name = clean[(slash + 1)..];
        }
        if (dir is null)
        {
            throw NotFound(path, container);
        }
        var flags = name.Length == 0 ? Libc.AT_EMPTY_PATH : Libc.AT_SYMLINK_NOFOLLOW;
        if (Libc.fstatat(dir.Fd, name, out var st, flags) != 0)
        {
            dir.Dispose();
            throw NotFound(path, container);
        }
        try
        {
            var link = st.Type == Libc.S_IFLNK ? Libc.ReadLinkAt(dir.Fd, name) : "";
            var statName = clean == "/" ? "/" : clean[(clean.LastIndexOf('/') + 1)..];
            var stat = new ContainerPathStat(statName, st.Size, GoMode(st.Mode),
                DateTimeOffset.FromUnixTimeSeconds(st.MtimeSec).AddTicks(st.MtimeNsec / 100), link);
            return new Located(dir, name, stat);
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    internal static uint GoMode(uint mode)
    {
        var go = mode & 0x1FF;
        go |= (mode & Libc.S_IFMT) switch
        {
            Libc.S_IFDIR => GoModeDir,
            Libc.S_IFLNK => GoModeSymlink,
            Libc.S_IFBLK => GoModeDevice,
            Libc.S_IFCHR => GoModeDevice | GoModeCharDevice,
            Libc.S_IFIFO => GoModeNamedPipe,
            0xC000 => GoModeSocket,
            _ => 0,
        };
        if ((mode & 0x800) != 0)
        {
            go |= GoModeSetuid;
        }
        if ((mode & 0x400) != 0)
        {
            go |= GoModeSetgid;
        }
        if ((mode & 0x200) != 0)
        {
            go |= GoModeSticky;
        }
        return go;
    }

    /// <summary>
    /// Writes <paramref name="name"/> in <paramref name="dirFd"/> ("" = the fd itself) as <paramref name="entryName"/>,
    /// recursing into directories through fds opened O_NOFOLLOW, so a swapped-in symlink is archived as a link, never followed.
    /// </summary>
    private static async Task WriteEntryAsync(TarWriter writer, int dirFd, string name, string entryName, CancellationToken ct)
    {
        var flags = name.Length == 0 ? Libc.AT_EMPTY_PATH : Libc.AT_SYMLINK_NOFOLLOW;
        if (Libc.fstatat(dirFd, name, out var st, flags) != 0)
        {
            return; // removed meanwhile by the running container
        }
        PaxTarEntry entry;
        switch (st.Type)
        {
            case Libc.S_IFDIR:
                using (var sub = OpenNoFollow(dirFd, name, ORdOnly | ODirectory))
                {
                    if (sub is null)
                    {
                        return;
                    }
                    entry = new PaxTarEntry(TarEntryType.Directory, entryName.TrimEnd('/') + "/");
                    SetHeader(entry, st);
                    await writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
                    var children = Directory.EnumerateFileSystemEntries($"/proc/self/fd/{sub.Fd}").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
                    foreach (var child in children)
                    {
                        await WriteEntryAsync(writer, sub.Fd, child!, entryName.TrimEnd('/') + "/" + child, ct).ConfigureAwait(false);
                    }
                }
                return;
            case Libc.S_IFREG:
                using (var file = OpenNoFollow(dirFd, name, ORdOnly | Libc.O_NONBLOCK))
                {
                    if (file is null)
                    {
                        return;
                    }
                    Libc.ThrowIfFailed(Libc.fstatat(file.Fd, "", out st, Libc.AT_EMPTY_PATH), "stat", entryName);
                    if (st.Type != Libc.S_IFREG)
                    {
                        return;
                    }
                    await using var data = new FileStream(new SafeFileHandle(file.Release(), ownsHandle: true), FileAccess.Read);
                    entry = new PaxTarEntry(TarEntryType.RegularFile, entryName) { DataStream = data };
                    SetHeader(entry, st);
                    await writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
                }
                return;
            case Libc.S_IFLNK:
                entry = new PaxTarEntry(TarEntryType.SymbolicLink, entryName) { LinkName = Libc.ReadLinkAt(dirFd, name) };
                break;
            case Libc.S_IFIFO:
                entry = new PaxTarEntry(TarEntryType.Fifo, entryName);
                break;
            case Libc.S_IFCHR or Libc.S_IFBLK:
                entry = new PaxTarEntry(st.Type == Libc.S_IFCHR ? TarEntryType.CharacterDevice : TarEntryType.BlockDevice, entryName)
                {
                    DeviceMajor = (int)st.Major,
                    DeviceMinor = (int)st.Minor,
                };
                break;
            default:
                return; // sockets are not archived (Go's archive/tar cannot either)
        }
        SetHeader(entry, st);
        await writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
    }

    private static void SetHeader(PaxTarEntry entry, Libc.StatBuf st)
    {
        entry.Mode = (UnixFileMode)(st.Mode & 0xFFF);
        entry.Uid = (int)st.Uid;
        entry.Gid = (int)st.Gid;
        entry.ModificationTime = DateTimeOffset.FromUnixTimeSeconds(st.MtimeSec);
    }

    private static OwnedFd? OpenNoFollow(int dirFd, string name, int flags)
    {
        // The located path itself (name "") is reopened through its own O_PATH fd: "." only works for a directory.
        var fd = name.Length == 0
            ? Libc.openat(Libc.AT_FDCWD, $"/proc/self/fd/{dirFd}", flags | Libc.O_CLOEXEC, 0)
            : Libc.openat(dirFd, name, flags | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0);
        return fd < 0 ? null : new OwnedFd(fd);
    }

    /// <summary>A resolved archive path: the directory fd holding it and the final name ("" = the fd itself).</summary>
    internal sealed class Located(OwnedFd dir, string name, ContainerPathStat stat) : IDisposable
    {
        public OwnedFd Dir { get; } = dir;
        public string Name { get; } = name;
        public ContainerPathStat Stat { get; } = stat;
        public void Dispose() => Dir.Dispose();
    }

    /// <summary>An owned file descriptor.</summary>
    internal sealed class OwnedFd(int fd) : IDisposable
    {
        public int Fd { get; private set; } = fd;

        /// <summary>openat2 RESOLVE_IN_ROOT of <paramref name="path"/> below <paramref name="root"/>; null when a component is missing or not a directory.</summary>
        public static OwnedFd? OpenInRoot(OwnedFd root, string path, int flags)
        {
            var fd = Libc.OpenInRoot(root.Fd, path, flags);
            if (fd >= 0)
            {
                return new OwnedFd(fd);
            }
            var errno = Marshal.GetLastPInvokeError();
            if (errno is Libc.ENOENT or Libc.ENOTDIR)
            {
                return null;
            }
            throw new IOException($"openat2 {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        public int Release()
        {
            var fd = Fd;
            Fd = -1;
            return fd;
        }

        public void Dispose()
        {
            if (Fd >= 0)
            {
                Libc.close(Fd);
                Fd = -1;
            }
        }
    }
}

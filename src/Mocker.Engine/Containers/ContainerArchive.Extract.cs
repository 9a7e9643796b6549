using System.Formats.Tar;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Mocker.Engine.Errors;
using Mocker.Engine.Native;
using Mocker.Engine.Snapshots;

namespace Mocker.Engine.Containers;

public sealed partial class ContainerArchive
{
    /// <summary>
    /// PUT archive extraction (moby pkg/archive Untar with NoOverwriteDirNonDir): entry names are cleaned with the layer
    /// applier's rules (a ".." leaving the destination fails), each entry's parent is opened with RESOLVE_IN_ROOT from
    /// the container root (symlinks in the container or earlier in the tar are followed inside the root, as a chrooted
    /// Docker does), and the final component is created and changed only through fd-relative calls that never follow it.
    /// </summary>
    private sealed class Extractor(OwnedFd root, string container, string dest, ArchivePutOptions options)
    {
        public async Task ApplyAsync(TarEntry entry, CancellationToken ct)
        {
            if (entry.EntryType is TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes or TarEntryType.LongLink or TarEntryType.LongPath)
            {
                return;
            }
            var components = LayerApplier.CleanComponents(entry.Name, entry.Name);
            if (components.Count == 0)
            {
                return; // "./": the destination itself keeps its metadata, as docker cp leaves it
            }
            using var parent = OpenDir(components.Take(components.Count - 1));
            var name = components[^1];
            var isDir = entry.EntryType == TarEntryType.Directory;
            if (Libc.fstatat(parent.Fd, name, out var existing, Libc.AT_SYMLINK_NOFOLLOW) == 0)
            {
                var existingDir = existing.Type == Libc.S_IFDIR;
                if (options.NoOverwriteDirNonDir && existingDir != isDir)
                {
                    var path = dest.TrimEnd('/') + "/" + string.Join('/', components);
                    throw MockerException.InvalidArgument(existingDir
                        ? $"cannot overwrite directory \"{path}\" with non-directory \"{entry.Name}\""
                        : $"cannot overwrite non-directory \"{path}\" with directory \"{entry.Name}\"");
                }
                if (!(existingDir && isDir))
                {
                    Libc.ThrowIfFailed(Libc.unlinkat(parent.Fd, name, existingDir ? Libc.AT_REMOVEDIR : 0), "unlink", entry.Name);
                }
            }
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    if (Libc.mkdirat(parent.Fd, name, 0x1ED /* 0755 */) != 0 && Marshal.GetLastPInvokeError() != Libc.EEXIST)
                    {
                        Libc.ThrowIfFailed(-1, "mkdir", entry.Name);
                    }
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    var fd = Libc.openat(parent.Fd, name, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0x180 /* 0600 */);
                    Libc.ThrowIfFailed(fd, "create", entry.Name);
                    await using (var file = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Write))
                    {
                        if (entry.DataStream is not null)
                        {
                            await entry.DataStream.CopyToAsync(file, ct).ConfigureAwait(false);
                        }
                    }
                    break;
                case TarEntryType.SymbolicLink:
                    // The target is stored verbatim: it means a path inside the container and is only ever resolved in its root.
                    Libc.ThrowIfFailed(Libc.symlinkat(entry.LinkName, parent.Fd, name), "symlink", entry.Name);
                    break;
                case TarEntryType.HardLink:
                    var target = LayerApplier.CleanComponents(entry.LinkName, entry.Name);
                    if (target.Count == 0)
                    {
                        throw MockerException.InvalidArgument($"invalid hard link \"{entry.Name}\" to \"{entry.LinkName}\"");
                    }
                    using (var targetDir = OpenDir(target.Take(target.Count - 1)))
                    {
                        Libc.ThrowIfFailed(Libc.linkat(targetDir.Fd, target[^1], parent.Fd, name, 0), "link", entry.Name);
                    }
                    return; // the link shares the target's inode and metadata
                case TarEntryType.Fifo:
                    Libc.ThrowIfFailed(Libc.mknodat(parent.Fd, name, Libc.S_IFIFO | 0x180, 0), "mknod", entry.Name);
                    break;
                case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                    var posix = (PosixTarEntry)entry;
                    var type = entry.EntryType == TarEntryType.CharacterDevice ? Libc.S_IFCHR : Libc.S_IFBLK;
                    Libc.ThrowIfFailed(Libc.mknodat(parent.Fd, name, type | 0x180, Libc.Makedev((uint)posix.DeviceMajor, (uint)posix.DeviceMinor)), "mknod", entry.Name);
                    break;
                default:
                    return;
            }
            var (uid, gid) = options.CopyUidGid ? (entry.Uid, entry.Gid) : (0, 0);
            Libc.ThrowIfFailed(Libc.fchownat(parent.Fd, name, uid, gid, Libc.AT_SYMLINK_NOFOLLOW), "chown", entry.Name);
            if (entry.EntryType != TarEntryType.SymbolicLink)
            {
                Libc.ThrowIfFailed(Libc.FchmodatNoFollow(parent.Fd, name, (uint)entry.Mode & 0xFFF), "chmod", entry.Name);
            }
            var mtime = entry.ModificationTime;
            Span<Libc.Timespec> times =
            [
                new Libc.Timespec { Sec = mtime.ToUnixTimeSeconds(), Nsec = 0 },
                new Libc.Timespec { Sec = mtime.ToUnixTimeSeconds(), Nsec = 0 },
            ];
            Libc.ThrowIfFailed(Libc.utimensat(parent.Fd, name, times, Libc.AT_SYMLINK_NOFOLLOW), "utimes", entry.Name);
        }

        /// <summary>Opens dest/components inside the root, creating missing directories (0755) one component at a time.</summary>
        private OwnedFd OpenDir(IEnumerable<string> components)
        {
            var path = dest;
            var current = OwnedFd.OpenInRoot(root, path, Libc.O_PATH | ODirectory)
                ?? throw new MockerException(ErrorKind.NotFound, $"Could not find the file {dest} in container {container}");
            foreach (var component in components)
            {
                path = path.TrimEnd('/') + "/" + component;
                var next = OwnedFd.OpenInRoot(root, path, Libc.O_PATH | ODirectory);
                if (next is null)
                {
                    if (Libc.mkdirat(current.Fd, component, 0x1ED) != 0 && Marshal.GetLastPInvokeError() != Libc.EEXIST)
                    {
                        current.Dispose();
                        Libc.ThrowIfFailed(-1, "mkdir", path);
                    }
                    next = OwnedFd.OpenInRoot(root, path, Libc.O_PATH | ODirectory);
                }
                current.Dispose();
                current = next ?? throw MockerException.InvalidArgument($"cannot create directory {path}: a non-directory is in the way");
            }
            return current;
        }
    }
}

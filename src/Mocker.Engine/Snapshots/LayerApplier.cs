using System.Buffers;
using System.Formats.Tar;
using Mocker.Engine.Content;
using Mocker.Engine.Errors;
using Mocker.Engine.Native;

namespace Mocker.Engine.Snapshots;

/// <summary>
/// <see cref="ILayerApplier"/> with System.Formats.Tar, streaming (containerd pkg/archive Apply semantics).
/// Every path is confined to the target: names are lexically cleaned ("/" stripped, ".." escaping the root rejected),
/// parent directories are resolved component by component with lstat and symlinks found there are resolved inside
/// the root (as if the root were "/"), so no entry can write through a link to the outside.
/// </summary>
public sealed class LayerApplier : ILayerApplier
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueWhiteout = ".wh..wh..opq";
    private const string MetaWhiteoutPrefix = ".wh..wh.";
    private const string XattrPaxPrefix = "SCHILY.xattr.";
    private const int MaxSymlinkHops = 40;
    private static readonly bool IsRoot = Libc.geteuid() == 0;

    public async Task<LayerDigest> ApplyAsync(Stream layer, string targetDir, CancellationToken ct)
    {
        var root = Path.GetFullPath(targetDir).TrimEnd('/');
        Directory.CreateDirectory(root);
        await using var tar = await Compression.OpenDecompressedAsync(layer, ct).ConfigureAwait(false);
        await using var hashing = new HashingStream(tar);
        var dirTimes = new List<(List<string> Components, DateTimeOffset Mtime)>();
        await using (var reader = new TarReader(hashing, leaveOpen: true))
        {
            TarEntry? entry;
            while ((entry = await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false)) is not null)
            {
                await ApplyEntryAsync(root, entry, dirTimes, ct).ConfigureAwait(false);
            }
        }
        await hashing.DrainAsync(ct).ConfigureAwait(false);
        // Directory mtimes last: creating entries inside a directory would otherwise bump them again. Paths are resolved
        // anew because later entries may have replaced a component with a symlink.
        foreach (var (components, mtime) in dirTimes)
        {
            var path = TryResolveExisting(root, components);
            if (path is not null && Libc.TryLstat(path, out var st) && st.Type == Libc.S_IFDIR)
            {
                SetTimes(path, mtime);
            }
        }
        return new LayerDigest(hashing.Digest(), hashing.BytesSeen);
    }

    private static async Task ApplyEntryAsync(string root, TarEntry entry, List<(List<string>, DateTimeOffset)> dirTimes, CancellationToken ct)
    {
        if (entry.EntryType is TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes or TarEntryType.LongLink or TarEntryType.LongPath)
        {
            return;
        }
        var components = CleanComponents(entry.Name, entry.Name);
        if (components.Count == 0)
        {
            // The root itself ("./"): only its metadata can change.
            if (entry.EntryType == TarEntryType.Directory)
            {
                ApplyMetadata(root, entry, isSymlink: false);
                dirTimes.Add((components, entry.ModificationTime));
            }
            return;
        }
        var parent = ResolveParent(root, components, entry.Name);
        var name = components[^1];
        if (name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            if (name == OpaqueWhiteout)
            {
                Libc.ThrowIfFailed(Libc.lsetxattr(parent, "trusted.overlay.opaque", "y"u8, 1, 0), "setxattr", parent);
                return;
            }
            if (name.StartsWith(MetaWhiteoutPrefix, StringComparison.Ordinal))
            {
                return; // aufs bookkeeping (".wh..wh.plnk", ".wh..wh.aufs"): not part of the filesystem, Docker skips them too
            }
            var hidden = Path.Combine(parent, name[WhiteoutPrefix.Length..]);
            RemoveExisting(hidden, keepDirectory: false);
            Libc.ThrowIfFailed(Libc.mknod(hidden, Libc.S_IFCHR, 0), "mknod", hidden);
            return;
        }
        var path = Path.Combine(parent, name);
        var isDir = entry.EntryType == TarEntryType.Directory;
        RemoveExisting(path, keepDirectory: isDir);
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                if (!Directory.Exists(path))
                {
                    Directory.CreateDirectory(path);
                }
                dirTimes.Add((components, entry.ModificationTime));
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                await WriteFileAsync(path, entry.DataStream, ct).ConfigureAwait(false);
                break;
            case TarEntryType.SymbolicLink:
                File.CreateSymbolicLink(path, entry.LinkName);
                break;
            case TarEntryType.HardLink:
                var target = ResolveLinkTarget(root, entry);
                Libc.ThrowIfFailed(Libc.link(target, path), "link", path);
                return; // a hard link shares the target's inode and metadata
            case TarEntryType.Fifo:
                Libc.ThrowIfFailed(Libc.mknod(path, Libc.S_IFIFO | 0x180 /* 0600 */, 0), "mknod", path);
                break;
            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                if (!IsRoot)
                {
                    return;
                }
                var type = entry.EntryType == TarEntryType.CharacterDevice ? Libc.S_IFCHR : Libc.S_IFBLK;
                var dev = Libc.Makedev((uint)((PosixTarEntry)entry).DeviceMajor, (uint)((PosixTarEntry)entry).DeviceMinor);
                Libc.ThrowIfFailed(Libc.mknod(path, type | 0x180 /* 0600 */, dev), "mknod", path);
                break;
            default:
                throw MockerException.InvalidArgument($"unsupported tar entry type {entry.EntryType} for \"{entry.Name}\"");
        }
        ApplyMetadata(path, entry, entry.EntryType == TarEntryType.SymbolicLink);
        if (!isDir)
        {
            SetTimes(path, entry.ModificationTime);
        }
    }

    private static async Task WriteFileAsync(string path, Stream? data, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
        if (data is null)
        {
            return;
        }
        var buf = ArrayPool<byte>.Shared.Rent(1 << 17);
        try
        {
            int n;
            while ((n = await data.ReadAsync(buf.AsMemory(), ct).ConfigureAwait(false)) > 0)
            {
                await file.WriteAsync(buf.AsMemory(0, n), ct).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    /// <summary>Ownership first (chown clears set-id bits), then mode, then xattrs.</summary>
    private static void ApplyMetadata(string path, TarEntry entry, bool isSymlink)
    {
        if (IsRoot)
        {
            Libc.ThrowIfFailed(Libc.lchown(path, entry.Uid, entry.Gid), "lchown", path);
        }
        if (!isSymlink)
        {
            Libc.ThrowIfFailed(Libc.chmod(path, (uint)entry.Mode & 0xFFF /* 07777 */), "chmod", path);
        }
        if (entry is PaxTarEntry pax)
        {
            foreach (var (key, value) in pax.ExtendedAttributes)
            {
                // System.Formats.Tar decodes PAX values as UTF-8; a binary value (e.g. security.capability) arrives
                // with replacement characters and cannot be restored faithfully, so it is left out rather than corrupted.
                if (key.StartsWith(XattrPaxPrefix, StringComparison.Ordinal) && !value.Contains('\uFFFD'))
                {
                    var bytes = System.Text.Encoding.UTF8.GetBytes(value);
                    Libc.ThrowIfFailed(Libc.lsetxattr(path, key[XattrPaxPrefix.Length..], bytes, (nuint)bytes.Length, 0), "setxattr", path);
                }
            }
        }
    }

    private static void SetTimes(string path, DateTimeOffset mtime)
    {
        var sinceEpoch = mtime.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var sec = Math.DivRem(sinceEpoch, TimeSpan.TicksPerSecond, out var rem);
        if (rem < 0)
        {
            sec--;
            rem += TimeSpan.TicksPerSecond;
        }
        var ts = new Libc.Timespec { Sec = sec, Nsec = rem * 100 };
        ReadOnlySpan<Libc.Timespec> times = [ts, ts];
        Libc.ThrowIfFailed(Libc.utimensat(Libc.AT_FDCWD, path, times, Libc.AT_SYMLINK_NOFOLLOW), "utimensat", path);
    }

    /// <summary>Removes what sits at <paramref name="path"/> unless both it and the new entry are directories.</summary>
    private static void RemoveExisting(string path, bool keepDirectory)
    {
        if (!Libc.TryLstat(path, out var st))
        {
            return;
        }
        if (st.Type == Libc.S_IFDIR)
        {
            if (!keepDirectory)
            {
                Directory.Delete(path, recursive: true);
            }
            return;
        }
        File.Delete(path);
    }

    /// <summary>
    /// Lexically cleans a tar name into components: leading "/" and "." dropped, ".." applied; a ".." that would leave
    /// the root fails with InvalidArgument naming <paramref name="entryName"/>.
    /// </summary>
    internal static List<string> CleanComponents(string name, string entryName)
    {
        var parts = new List<string>();
        foreach (var part in name.Split('/'))
        {
            if (part is "" or ".")
            {
                continue;
            }
            if (part == "..")
            {
                if (parts.Count == 0)
                {
                    throw MockerException.InvalidArgument($"invalid tar entry \"{entryName}\": path escapes the extraction root");
                }
                parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(part);
        }
        return parts;
    }

    /// <summary>
    /// Resolves every component but the last to a real directory inside <paramref name="root"/>, creating missing
    /// directories (0755) and following symlinks as if <paramref name="root"/> were "/".
    /// </summary>
    private static string ResolveParent(string root, List<string> components, string entryName) =>
        ResolveInRoot(root, components.Take(components.Count - 1), entryName, createMissing: true);

    private static string ResolveInRoot(string root, IEnumerable<string> components, string entryName, bool createMissing)
    {
        var resolved = new List<string>();
        var pending = new LinkedList<string>(components);
        var hops = 0;
        while (pending.First is { } node)
        {
            pending.RemoveFirst();
            var part = node.Value;
            if (part is "" or ".")
            {
                continue;
            }
            if (part == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }
                continue;
            }
            var candidate = Join(root, resolved, part);
            if (!Libc.TryLstat(candidate, out var st))
            {
                if (!createMissing)
                {
                    throw MockerException.InvalidArgument($"invalid tar entry \"{entryName}\": {part} does not exist");
                }
                Directory.CreateDirectory(candidate);
                resolved.Add(part);
                continue;
            }
            switch (st.Type)
            {
                case Libc.S_IFDIR:
                    resolved.Add(part);
                    break;
                case Libc.S_IFLNK:
                    if (++hops > MaxSymlinkHops)
                    {
                        throw MockerException.InvalidArgument($"invalid tar entry \"{entryName}\": too many levels of symbolic links");
                    }
                    var target = new FileInfo(candidate).LinkTarget ?? "";
                    if (target.StartsWith('/'))
                    {
                        resolved.Clear();
                    }
                    foreach (var t in target.Split('/').Reverse())
                    {
                        pending.AddFirst(t);
                    }
                    break;
                default:
                    throw MockerException.InvalidArgument($"invalid tar entry \"{entryName}\": {part} is not a directory");
            }
        }
        return Join(root, resolved, null);
    }

    /// <summary>The confined path of an existing entry (its last component not followed), or null when a parent is gone.</summary>
    private static string? TryResolveExisting(string root, List<string> components)
    {
        if (components.Count == 0)
        {
            return root;
        }
        try
        {
            return Path.Combine(ResolveInRoot(root, components.Take(components.Count - 1), "", createMissing: false), components[^1]);
        }
        catch (MockerException)
        {
            return null;
        }
    }

    /// <summary>Hard-link targets are names inside the layer: confined like entry names, and must already exist as a non-directory.</summary>
    private static string ResolveLinkTarget(string root, TarEntry entry)
    {
        var components = CleanComponents(entry.LinkName, entry.Name);
        if (components.Count == 0)
        {
            throw MockerException.InvalidArgument($"invalid tar entry \"{entry.Name}\": hard link to the root");
        }
        var parent = ResolveInRoot(root, components.Take(components.Count - 1), entry.Name, createMissing: false);
        var target = Path.Combine(parent, components[^1]);
        if (!Libc.TryLstat(target, out var st) || st.Type == Libc.S_IFDIR)
        {
            throw MockerException.InvalidArgument($"invalid tar entry \"{entry.Name}\": hard link target \"{entry.LinkName}\" is not an extracted file");
        }
        return target;
    }

    private static string Join(string root, List<string> parts, string? last)
    {
        var sb = new System.Text.StringBuilder(root);
        foreach (var p in parts)
        {
            sb.Append('/').Append(p);
        }
        if (last is not null)
        {
            sb.Append('/').Append(last);
        }
        return sb.ToString();
    }
}

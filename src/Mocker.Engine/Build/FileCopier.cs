using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Mocker.Engine.Errors;
using Mocker.Engine.Native;

namespace Mocker.Engine.Build;

/// <summary>A COPY/ADD source after wildcard expansion: its path as written (relative to the source root) and its real location.</summary>
public sealed record CopySource(string Rel, string FullPath, bool IsDir);

/// <summary>
/// COPY/ADD file semantics of Docker's builder (dockerfile-reference "COPY"): sources resolve inside their root
/// (symlinks followed but confined, as moby's FollowSymlinkInScope), wildcards use Go filepath.Match per component,
/// a directory source copies its contents, a destination ending in "/" (or several sources) is a directory, modes and
/// mtimes are kept, owner is 0:0 unless --chown. Destination paths resolve inside the target rootfs the same way.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class FileCopier
{
    /// <summary>
    /// Resolves <paramref name="path"/> under <paramref name="root"/> following symlinks, never leaving the root
    /// (an absolute link target restarts at the root; ".." stops at the root).
    /// </summary>
    public static string ResolveInScope(string root, string path)
    {
        var pending = new LinkedList<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries));
        var resolved = new List<string>();
        var hops = 0;
        while (pending.First is { } first)
        {
            pending.RemoveFirst();
            var seg = first.Value;
            if (seg == ".")
            {
                continue;
            }
            if (seg == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }
                continue;
            }
            var candidate = Path.Combine(root, string.Join('/', resolved.Append(seg)));
            var link = new FileInfo(candidate).LinkTarget;
            if (link is null)
            {
                resolved.Add(seg);
                continue;
            }
            if (++hops > 255)
            {
                throw MockerException.InvalidArgument($"too many levels of symbolic links: {path}");
            }
            if (link.StartsWith('/'))
            {
                resolved.Clear();
            }
            var parts = link.Split('/', StringSplitOptions.RemoveEmptyEntries);
            for (var i = parts.Length - 1; i >= 0; i--)
            {
                pending.AddFirst(parts[i]);
            }
        }
        return resolved.Count == 0 ? root : Path.Combine(root, string.Join('/', resolved));
    }

    /// <summary>
    /// Expands one source (wildcards allowed in any component, <c>**</c> for any depth) under <paramref name="root"/>.
    /// Returns no entries when nothing matches; the caller reports the "file not found" error.
    /// </summary>
    public static List<CopySource> Expand(string root, string source)
    {
        var parts = source.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToArray();
        var current = new List<(string Rel, string Full)> { ("", root) };
        foreach (var part in parts)
        {
            var next = new List<(string Rel, string Full)>();
            foreach (var (rel, full) in current)
            {
                if (part == "**")
                {
                    // "**" matches any number of directories, none included (BuildKit copy, COPY --parents examples).
                    AddDirectories(root, rel, full, next);
                    continue;
                }
                if (PathMatch.HasMeta(part))
                {
                    if (!Directory.Exists(full))
                    {
                        continue;
                    }
                    foreach (var entry in Directory.EnumerateFileSystemEntries(full).Order(StringComparer.Ordinal))
                    {
                        var name = Path.GetFileName(entry);
                        if (PathMatch.Match(part, name))
                        {
                            var r = rel.Length == 0 ? name : rel + "/" + name;
                            next.Add((r, ResolveInScope(root, r)));
                        }
                    }
                }
                else
                {
                    var r = rel.Length == 0 ? part : rel + "/" + part;
                    next.Add((r, ResolveInScope(root, r)));
                }
            }
            current = next;
        }
        return [.. current.Where(c => Path.Exists(c.Full)).DistinctBy(c => c.Rel).Select(c => new CopySource(c.Rel, c.Full, Directory.Exists(c.Full)))];
    }

    /// <summary>Adds <paramref name="full"/> and every real (not symlinked) directory below it, in sorted order.</summary>
    private static void AddDirectories(string root, string rel, string full, List<(string Rel, string Full)> into)
    {
        if (!Directory.Exists(full))
        {
            return;
        }
        into.Add((rel, full));
        foreach (var entry in Directory.EnumerateDirectories(full).Order(StringComparer.Ordinal))
        {
            if (new FileInfo(entry).LinkTarget is not null)
            {
                continue;
            }
            var name = Path.GetFileName(entry);
            var r = rel.Length == 0 ? name : rel + "/" + name;
            AddDirectories(root, r, ResolveInScope(root, r), into);
        }
    }

    /// <summary>
    /// A checksum of the sources' content and metadata (relative path, type, mode, size, link target, sha256 of data),
    /// streamed file by file in sorted order: the cache input of a COPY/ADD step.
    /// </summary>
    /// <remarks><paramref name="excluded"/> (COPY --exclude) takes a path relative to the source being copied.</remarks>
    public static async Task<string> ChecksumAsync(IEnumerable<CopySource> sources, CancellationToken ct, Func<string, bool>? excluded = null)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var s in sources)
        {
            await HashEntryAsync(h, s.FullPath, s.Rel, "", excluded, ct).ConfigureAwait(false);
        }
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    private static async Task HashEntryAsync(IncrementalHash h, string full, string rel, string inner, Func<string, bool>? excluded, CancellationToken ct)
    {
        if (inner.Length > 0 && excluded is not null && excluded(inner))
        {
            return;
        }
        var fi = new FileInfo(full);
        var mode = (int)File.GetUnixFileMode(full);
        if (fi.LinkTarget is { } link)
        {
            h.AppendData(Encoding.UTF8.GetBytes($"L\0{rel}\0{link}\n"));
            return;
        }
        if (Directory.Exists(full))
        {
            h.AppendData(Encoding.UTF8.GetBytes($"D\0{rel}\0{mode.ToString(CultureInfo.InvariantCulture)}\n"));
            foreach (var child in Directory.EnumerateFileSystemEntries(full).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(child);
                await HashEntryAsync(h, child, rel + "/" + name, inner.Length == 0 ? name : inner + "/" + name, excluded, ct).ConfigureAwait(false);
            }
            return;
        }
        h.AppendData(Encoding.UTF8.GetBytes($"F\0{rel}\0{mode.ToString(CultureInfo.InvariantCulture)}\0{fi.Length.ToString(CultureInfo.InvariantCulture)}\0"));
        var buffer = new byte[81920];
        await using var fs = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        int n;
        while ((n = await fs.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            h.AppendData(buffer, 0, n);
        }
        h.AppendData("\n"u8);
    }

    /// <summary>Ownership and mode overrides of a copy; null mode keeps the source mode.</summary>
    public sealed record Attributes(int Uid, int Gid, UnixFileMode? Mode);

    /// <summary>
    /// Copies one source to <paramref name="dest"/> (an absolute container path) inside <paramref name="rootfs"/>.
    /// <paramref name="destIsDir"/>: the destination names a directory (trailing "/" or several sources).
    /// </summary>
    /// <remarks><paramref name="excluded"/> (COPY --exclude) takes a path relative to a directory source; a match is skipped with everything under it.</remarks>
    public static async Task CopyAsync(CopySource src, string rootfs, string dest, bool destIsDir, Attributes attrs, CancellationToken ct, Func<string, bool>? excluded = null)
    {
        if (src.IsDir)
        {
            var dir = MakeDirs(rootfs, dest, attrs);
            await CopyDirContentsAsync(src.FullPath, dir, "", attrs, excluded, ct).ConfigureAwait(false);
            return;
        }
        var resolvedDest = ResolveInScope(rootfs, dest);
        string target;
        if (destIsDir || Directory.Exists(resolvedDest))
        {
            var dir = MakeDirs(rootfs, dest, attrs);
            target = Path.Combine(dir, Path.GetFileName(src.FullPath));
        }
        else
        {
            var parent = MakeDirs(rootfs, ParentOf(dest), attrs);
            target = Path.Combine(parent, Path.GetFileName(dest.TrimEnd('/')));
        }
        await CopyFileAsync(src.FullPath, target, attrs, ct).ConfigureAwait(false);
    }

    /// <summary>Creates (mode 0755, owned per <paramref name="attrs"/>) every missing directory of <paramref name="path"/>; returns its real location.</summary>
    public static string MakeDirs(string rootfs, string path, Attributes attrs)
    {
        var current = "";
        foreach (var seg in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            current += "/" + seg;
            var real = ResolveInScope(rootfs, current);
            if (Directory.Exists(real))
            {
                continue;
            }
            if (Path.Exists(real) || new FileInfo(real).LinkTarget is not null)
            {
                throw MockerException.InvalidArgument($"cannot create directory {current}: a file exists at that path");
            }
            Directory.CreateDirectory(real, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            Chown(real, attrs.Uid, attrs.Gid);
        }
        return ResolveInScope(rootfs, path);
    }

    private static string ParentOf(string path)
    {
        var t = path.TrimEnd('/');
        var i = t.LastIndexOf('/');
        return i <= 0 ? "/" : t[..i];
    }

    private static async Task CopyDirContentsAsync(string srcDir, string destDir, string inner, Attributes attrs, Func<string, bool>? excluded, CancellationToken ct)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(srcDir).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(entry);
            var rel = inner.Length == 0 ? name : inner + "/" + name;
            if (excluded is not null && excluded(rel))
            {
                continue;
            }
            var target = Path.Combine(destDir, name);
            var fi = new FileInfo(entry);
            if (fi.LinkTarget is { } link)
            {
                RemoveNonDir(target);
                File.CreateSymbolicLink(target, link);
                Chown(target, attrs.Uid, attrs.Gid);
            }
            else if (Directory.Exists(entry))
            {
                var existing = new FileInfo(target);
                if (existing.LinkTarget is not null || existing.Exists)
                {
                    File.Delete(target);
                }
                Directory.CreateDirectory(target);
                File.SetUnixFileMode(target, attrs.Mode ?? File.GetUnixFileMode(entry));
                Chown(target, attrs.Uid, attrs.Gid);
                await CopyDirContentsAsync(entry, target, rel, attrs, excluded, ct).ConfigureAwait(false);
                Directory.SetLastWriteTimeUtc(target, Directory.GetLastWriteTimeUtc(entry));
            }
            else
            {
                await CopyFileAsync(entry, target, attrs, ct).ConfigureAwait(false);
            }
        }
    }

    private static async Task CopyFileAsync(string source, string target, Attributes attrs, CancellationToken ct)
    {
        if (Directory.Exists(target) && new FileInfo(target).LinkTarget is null)
        {
            throw MockerException.InvalidArgument($"cannot overwrite directory {target} with a file");
        }
        RemoveNonDir(target);
        var mode = attrs.Mode ?? File.GetUnixFileMode(source);
        await using (var src = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan))
        await using (var dst = new FileStream(target, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode & (UnixFileMode)0x1FF }))
        {
            await src.CopyToAsync(dst, ct).ConfigureAwait(false);
        }
        Chown(target, attrs.Uid, attrs.Gid);
        File.SetUnixFileMode(target, mode);
        File.SetLastWriteTimeUtc(target, File.GetLastWriteTimeUtc(source));
    }

    private static void RemoveNonDir(string target)
    {
        var fi = new FileInfo(target);
        if (fi.LinkTarget is not null || fi.Exists)
        {
            File.Delete(target);
        }
    }

    /// <summary>lchown(2); throws MockerException(Internal) with errno text.</summary>
    public static void Lchown(string path, int uid, int gid) => Chown(path, uid, gid);

    private static void Chown(string path, int uid, int gid)
    {
        if (Libc.BuildLchown(path, uid, gid) != 0)
        {
            throw new MockerException(ErrorKind.Internal, $"lchown {path}: {Libc.LastError()}");
        }
    }

    /// <summary>
    /// Resolves a --chown value ("user", "uid", "user:group", "uid:gid") against the rootfs' /etc/passwd and /etc/group.
    /// A user name without a group takes the user's primary group; a numeric uid alone means gid = uid (Docker).
    /// </summary>
    public static (int Uid, int Gid) ResolveOwner(string rootfs, string chown)
    {
        var colon = chown.IndexOf(':', StringComparison.Ordinal);
        var user = colon < 0 ? chown : chown[..colon];
        var group = colon < 0 ? null : chown[(colon + 1)..];
        int uid;
        int? primaryGid = null;
        if (int.TryParse(user, NumberStyles.None, CultureInfo.InvariantCulture, out var u))
        {
            uid = u;
        }
        else
        {
            var entry = FindEntry(rootfs, "/etc/passwd", user)
                ?? throw MockerException.InvalidArgument($"unable to convert uid/gid chown string to host mapping: can't find uid for user {user}: no such user: {user}");
            uid = int.Parse(entry[2], CultureInfo.InvariantCulture);
            primaryGid = int.Parse(entry[3], CultureInfo.InvariantCulture);
        }
        if (group is null)
        {
            return (uid, primaryGid ?? uid);
        }
        if (int.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out var g))
        {
            return (uid, g);
        }
        var gentry = FindEntry(rootfs, "/etc/group", group)
            ?? throw MockerException.InvalidArgument($"unable to convert uid/gid chown string to host mapping: can't find gid for group {group}: no such group: {group}");
        return (uid, int.Parse(gentry[2], CultureInfo.InvariantCulture));
    }

    private static string[]? FindEntry(string rootfs, string file, string name)
    {
        var path = ResolveInScope(rootfs, file);
        if (!File.Exists(path))
        {
            return null;
        }
        foreach (var line in File.ReadLines(path))
        {
            var f = line.Split(':');
            if (f.Length >= 3 && f[0] == name && (file.EndsWith("group", StringComparison.Ordinal) || f.Length >= 4))
            {
                return f;
            }
        }
        return null;
    }
}

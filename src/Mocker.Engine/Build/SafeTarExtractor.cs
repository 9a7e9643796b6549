using System.Formats.Tar;
using System.IO.Compression;
using Mocker.Engine.Content;
using Mocker.Engine.Errors;
using Mocker.Engine.Native;

namespace Mocker.Engine.Build;

/// <summary>
/// Extracts a tar stream (plain or gzip, detected by magic) under a root directory without ever writing outside it
/// (containerd archive.Apply rules, CVE-2018-15664 class): names are cleaned, ".." escapes and absolute link targets
/// of hard links are rejected, and no existing symlink is followed while creating parents or files (a symlink in a
/// parent position fails the extraction). Entries are streamed: the archive is never buffered whole.
/// Errors: MockerException(InvalidArgument) naming the hostile entry.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class SafeTarExtractor
{
    /// <summary>
    /// Extracts <paramref name="archive"/> into <paramref name="root"/>. Modes and mtimes are kept; ownership is
    /// applied only when <paramref name="preserveOwner"/> (ADD of a local archive), else files belong to the daemon.
    /// </summary>
    public static async Task ExtractAsync(Stream archive, string root, bool preserveOwner, CancellationToken ct)
    {
        Directory.CreateDirectory(root);
        var input = await Compression.OpenDecompressedAsync(archive, ct).ConfigureAwait(false);
        await using var reader = new TarReader(input, leaveOpen: true);
        var dirTimes = new List<(string Path, DateTimeOffset Time)>();
        while (await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is { } entry)
        {
            var rel = CleanRelative(entry.Name);
            if (rel is null)
            {
                throw MockerException.InvalidArgument($"invalid tar entry \"{entry.Name}\": path escapes the extraction root");
            }
            if (rel.Length == 0)
            {
                continue;
            }
            var target = Path.Combine(root, rel);
            EnsureParents(root, rel);
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    var info = new FileInfo(target);
                    if (info.LinkTarget is not null || (File.Exists(target) && !Directory.Exists(target)))
                    {
                        File.Delete(target);
                    }
                    Directory.CreateDirectory(target);
                    File.SetUnixFileMode(target, (UnixFileMode)((int)entry.Mode & 0xFFF));
                    dirTimes.Add((target, entry.ModificationTime));
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    RemoveExisting(target);
                    var opts = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = (UnixFileMode)((int)entry.Mode & 0x1FF) };
                    await using (var fs = new FileStream(target, opts))
                    {
                        if (entry.DataStream is not null)
                        {
                            await entry.DataStream.CopyToAsync(fs, ct).ConfigureAwait(false);
                        }
                    }
                    File.SetUnixFileMode(target, (UnixFileMode)((int)entry.Mode & 0xFFF));
                    File.SetLastWriteTimeUtc(target, entry.ModificationTime.UtcDateTime);
                    break;
                case TarEntryType.SymbolicLink:
                    RemoveExisting(target);
                    File.CreateSymbolicLink(target, entry.LinkName);
                    break;
                case TarEntryType.HardLink:
                    var linkRel = CleanRelative(entry.LinkName);
                    if (linkRel is null || linkRel.Length == 0)
                    {
                        throw MockerException.InvalidArgument($"invalid tar entry \"{entry.Name}\": hard link target \"{entry.LinkName}\" is outside the extraction root");
                    }
                    EnsureParents(root, linkRel);
                    var linkSource = Path.Combine(root, linkRel);
                    if (new FileInfo(linkSource).LinkTarget is not null || !File.Exists(linkSource))
                    {
                        throw MockerException.InvalidArgument($"invalid tar entry \"{entry.Name}\": hard link target \"{entry.LinkName}\" is not a regular file in the archive");
                    }
                    RemoveExisting(target);
                    File.Copy(linkSource, target);
                    break;
                default:
                    // Devices, FIFOs and global headers have no meaning in a build context.
                    continue;
            }
            if (preserveOwner && Libc.BuildLchown(target, entry.Uid, entry.Gid) != 0)
            {
                throw new MockerException(ErrorKind.Internal, $"lchown {target}: {Libc.LastError()}");
            }
        }
        // Directory mtimes last: creating children would have bumped them.
        for (var i = dirTimes.Count - 1; i >= 0; i--)
        {
            Directory.SetLastWriteTimeUtc(dirTimes[i].Path, dirTimes[i].Time.UtcDateTime);
        }
    }

    /// <summary>True when the first bytes are a gzip header or a ustar/gnu tar header.</summary>
    public static bool LooksLikeArchive(string file)
    {
        using var fs = File.OpenRead(file);
        Span<byte> head = stackalloc byte[263];
        var n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b)
        {
            return true;
        }
        return n >= 262 && head[257] == (byte)'u' && head[258] == (byte)'s' && head[259] == (byte)'t' && head[260] == (byte)'a' && head[261] == (byte)'r';
    }

    /// <summary>Cleans a tar name to a relative path; null when it climbs above the root. "" is the root itself.</summary>
    public static string? CleanRelative(string name)
    {
        var parts = new List<string>();
        foreach (var seg in name.Replace('\\', '/').Split('/'))
        {
            if (seg is "" or ".")
            {
                continue;
            }
            if (seg == "..")
            {
                if (parts.Count == 0)
                {
                    return null;
                }
                parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(seg);
        }
        return string.Join('/', parts);
    }

    /// <summary>Creates the parent directories of <paramref name="rel"/>, refusing to traverse a symlink or a non-directory.</summary>
    public static void EnsureParents(string root, string rel)
    {
        var segments = rel.Split('/');
        var current = root;
        for (var i = 0; i < segments.Length - 1; i++)
        {
            current = Path.Combine(current, segments[i]);
            var fi = new FileInfo(current);
            if (fi.LinkTarget is not null)
            {
                throw MockerException.InvalidArgument($"invalid tar entry \"{rel}\": parent \"{string.Join('/', segments[..(i + 1)])}\" is a symlink");
            }
            if (fi.Exists)
            {
                throw MockerException.InvalidArgument($"invalid tar entry \"{rel}\": parent \"{string.Join('/', segments[..(i + 1)])}\" is not a directory");
            }
            if (!Directory.Exists(current))
            {
                Directory.CreateDirectory(current);
            }
        }
    }

    private static void RemoveExisting(string target)
    {
        var fi = new FileInfo(target);
        if (fi.LinkTarget is not null || fi.Exists)
        {
            File.Delete(target);
        }
        else if (Directory.Exists(target))
        {
            Directory.Delete(target, recursive: true);
        }
    }
}

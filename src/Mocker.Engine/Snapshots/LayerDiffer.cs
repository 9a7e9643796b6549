using System.Formats.Tar;
using Mocker.Engine.Content;
using Mocker.Engine.Native;

namespace Mocker.Engine.Snapshots;

/// <summary>
/// <see cref="ILayerDiffer"/> for overlay upper directories (containerd pkg/archive WriteDiff over overlay changes):
/// entries in ordinal path order with uid/gid/mode/mtime, PAX SCHILY.xattr.* records where xattrs exist (trusted.overlay.* are
/// overlay bookkeeping and skipped), whiteout devices as ".wh.name", opaque directories followed by ".wh..wh..opq",
/// files sharing an inode inside the layer as hard links to the first path written.
/// </summary>
public sealed class LayerDiffer : ILayerDiffer
{
    private const string OverlayXattrPrefix = "trusted.overlay.";
    private const string OpaqueXattr = "trusted.overlay.opaque";

    public async Task<LayerDigest> DiffAsync(string upperDir, Stream output, CancellationToken ct)
    {
        var root = Path.GetFullPath(upperDir).TrimEnd('/');
        await using var hashing = new HashingStream(output);
        await using (var writer = new TarWriter(hashing, TarEntryFormat.Gnu, leaveOpen: true))
        {
            var links = new Dictionary<(ulong, ulong), string>();
            await WriteDirAsync(writer, root, "", links, ct).ConfigureAwait(false);
        }
        await hashing.FlushAsync(ct).ConfigureAwait(false);
        return new LayerDigest(hashing.Digest(), hashing.BytesSeen);
    }

    private static async Task WriteDirAsync(TarWriter writer, string root, string rel, Dictionary<(ulong, ulong), string> links, CancellationToken ct)
    {
        var dir = rel.Length == 0 ? root : Path.Combine(root, rel);
        var names = Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Select(n => n!).ToList();
        names.Sort(StringComparer.Ordinal);
        foreach (var name in names)
        {
            ct.ThrowIfCancellationRequested();
            var path = Path.Combine(dir, name);
            var entryName = rel.Length == 0 ? name : rel + "/" + name;
            if (!Libc.TryLstat(path, out var st))
            {
                continue;
            }
            if (st.Type == Libc.S_IFCHR && st.Rdev == 0)
            {
                var whiteout = rel.Length == 0 ? ".wh." + name : rel + "/.wh." + name;
                await writer.WriteEntryAsync(Marker(whiteout), ct).ConfigureAwait(false);
                continue;
            }
            switch (st.Type)
            {
                case Libc.S_IFDIR:
                    await writer.WriteEntryAsync(Header(TarEntryType.Directory, entryName + "/", st, path, withXattrs: true), ct).ConfigureAwait(false);
                    if (Libc.GetXattr(path, OpaqueXattr) is [(byte)'y'])
                    {
                        await writer.WriteEntryAsync(Marker(entryName + "/.wh..wh..opq"), ct).ConfigureAwait(false);
                    }
                    await WriteDirAsync(writer, root, entryName, links, ct).ConfigureAwait(false);
                    break;
                case Libc.S_IFREG when st.Nlink > 1 && links.TryGetValue((st.Dev, st.Ino), out var first):
                    var link = Header(TarEntryType.HardLink, entryName, st, path, withXattrs: false);
                    link.LinkName = first;
                    await writer.WriteEntryAsync(link, ct).ConfigureAwait(false);
                    break;
                case Libc.S_IFREG:
                    if (st.Nlink > 1)
                    {
                        links[(st.Dev, st.Ino)] = entryName;
                    }
                    var file = Header(TarEntryType.RegularFile, entryName, st, path, withXattrs: true);
                    await using (var data = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan))
                    {
                        file.DataStream = data;
                        await writer.WriteEntryAsync(file, ct).ConfigureAwait(false);
                    }
                    break;
                case Libc.S_IFLNK:
                    var sym = Header(TarEntryType.SymbolicLink, entryName, st, path, withXattrs: true);
                    sym.LinkName = new FileInfo(path).LinkTarget ?? "";
                    await writer.WriteEntryAsync(sym, ct).ConfigureAwait(false);
                    break;
                case Libc.S_IFCHR or Libc.S_IFBLK:
                    var dev = Header(st.Type == Libc.S_IFCHR ? TarEntryType.CharacterDevice : TarEntryType.BlockDevice, entryName, st, path, withXattrs: true);
                    dev.DeviceMajor = (int)st.Major;
                    dev.DeviceMinor = (int)st.Minor;
                    await writer.WriteEntryAsync(dev, ct).ConfigureAwait(false);
                    break;
                case Libc.S_IFIFO:
                    await writer.WriteEntryAsync(Header(TarEntryType.Fifo, entryName, st, path, withXattrs: true), ct).ConfigureAwait(false);
                    break;
                default:
                    // Sockets cannot be represented in a tar layer; Docker skips them too.
                    break;
            }
        }
    }

    /// <summary>Whiteout markers carry no metadata of their own: fixed values keep the diff deterministic.</summary>
    private static GnuTarEntry Marker(string name) =>
        new(TarEntryType.RegularFile, name) { Mode = 0, ModificationTime = DateTimeOffset.UnixEpoch };

    /// <summary>
    /// GNU headers unless xattrs need PAX records: .NET names PAX extended headers after the process ID, which would make
    /// the same changes hash differently in another daemon process.
    /// </summary>
    private static PosixTarEntry Header(TarEntryType type, string name, in Libc.StatBuf st, string path, bool withXattrs)
    {
        var attrs = new Dictionary<string, string>(StringComparer.Ordinal);
        if (withXattrs)
        {
            foreach (var xattr in Libc.ListXattrs(path))
            {
                if (!xattr.StartsWith(OverlayXattrPrefix, StringComparison.Ordinal) && Libc.GetXattr(path, xattr) is { } value)
                {
                    attrs["SCHILY.xattr." + xattr] = System.Text.Encoding.UTF8.GetString(value);
                }
            }
        }
        PosixTarEntry entry = attrs.Count > 0 ? new PaxTarEntry(type, name, attrs) : new GnuTarEntry(type, name);
        entry.Uid = (int)st.Uid;
        entry.Gid = (int)st.Gid;
        entry.Mode = (UnixFileMode)(st.Mode & 0xFFF);
        entry.ModificationTime = DateTimeOffset.FromUnixTimeSeconds(st.MtimeSec);
        return entry;
    }
}

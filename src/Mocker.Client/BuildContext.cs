using System.Formats.Tar;

namespace Mocker.Client;

/// <summary>
/// The build context as a tar written straight into the request body while it is being sent (chunked, never buffered):
/// every file under the context directory that the ignore file does not exclude, owned by 0:0 as the docker CLI sends
/// it. The Dockerfile and the ignore file themselves are always included (Docker's <c>TrimBuildFilesFromExcludes</c>).
/// </summary>
internal sealed class BuildContext
{
    private readonly string _root;
    private readonly IgnorePatterns _ignore;
    private readonly HashSet<string> _alwaysInclude;
    private readonly (string EntryName, string SourcePath)? _extraFile;

    /// <param name="root">The context directory.</param>
    /// <param name="dockerfileEntry">The Dockerfile's path inside the context (always sent).</param>
    /// <param name="extraFile">A Dockerfile from outside the context, added under the given entry name.</param>
    public BuildContext(string root, string dockerfileEntry, (string EntryName, string SourcePath)? extraFile)
    {
        _root = Path.GetFullPath(root);
        _ignore = IgnorePatterns.Load(_root, out var ignoreFile);
        _alwaysInclude = new HashSet<string>(StringComparer.Ordinal) { IgnorePatterns.CleanPath(dockerfileEntry) };
        if (ignoreFile is not null) _alwaysInclude.Add(ignoreFile);
        _extraFile = extraFile;
    }

    /// <summary>Writes the whole context as a tar to <paramref name="stream"/>.</summary>
    public async Task WriteTarAsync(Stream stream, CancellationToken cancellationToken)
    {
        await using var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true);
        await WriteDirectoryAsync(writer, _root, "", cancellationToken).ConfigureAwait(false);
        if (_extraFile is { } extra)
            await WriteFileAsync(writer, new FileInfo(extra.SourcePath), extra.EntryName, cancellationToken).ConfigureAwait(false);
    }

    private async Task WriteDirectoryAsync(TarWriter writer, string dir, string relDir, CancellationToken ct)
    {
        var entries = new DirectoryInfo(dir).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal);
        foreach (var info in entries)
        {
            var rel = relDir.Length == 0 ? info.Name : relDir + "/" + info.Name;
            var excluded = _ignore.IsExcluded(rel) && !_alwaysInclude.Contains(rel);
            var isDir = info is DirectoryInfo && info.LinkTarget is null;
            if (excluded)
            {
                // A directory can still hold re-included files when there are "!" patterns.
                if (isDir && _ignore.HasExclusions) await WriteDirectoryAsync(writer, info.FullName, rel, ct).ConfigureAwait(false);
                continue;
            }
            if (info.LinkTarget is { } target)
            {
                var link = NewEntry(TarEntryType.SymbolicLink, rel, target);
                link.LinkName = target;
                link.Mode = (UnixFileMode)0x1FF;
                link.ModificationTime = info.LastWriteTimeUtc;
                await writer.WriteEntryAsync(link, ct).ConfigureAwait(false);
            }
            else if (isDir)
            {
                var dirEntry = NewEntry(TarEntryType.Directory, rel + "/", null);
                dirEntry.Mode = info.UnixFileMode;
                dirEntry.ModificationTime = info.LastWriteTimeUtc;
                await writer.WriteEntryAsync(dirEntry, ct).ConfigureAwait(false);
                await WriteDirectoryAsync(writer, info.FullName, rel, ct).ConfigureAwait(false);
            }
            else if (info is FileInfo file && (file.Attributes & FileAttributes.Device) == 0)
            {
                await WriteFileAsync(writer, file, rel, ct).ConfigureAwait(false);
            }
        }
    }

    private static async Task WriteFileAsync(TarWriter writer, FileInfo file, string entryName, CancellationToken ct)
    {
        var data = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (data.ConfigureAwait(false))
        {
            var entry = NewEntry(TarEntryType.RegularFile, entryName, null);
            entry.DataStream = data;
            entry.Mode = file.UnixFileMode;
            entry.ModificationTime = file.LastWriteTimeUtc;
            await writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A plain ustar entry when the names fit its ASCII 100-byte fields (what the docker CLI sends), PAX otherwise
    /// (long or non-ASCII names), so most entries carry no extended header. Owner is 0:0 either way.
    /// </summary>
    private static TarEntry NewEntry(TarEntryType type, string name, string? linkName)
    {
        static bool FitsUstar(string? s) => s is null || (s.Length <= 100 && s.All(char.IsAscii));
        return FitsUstar(name) && FitsUstar(linkName)
            ? new UstarTarEntry(type, name) { Uid = 0, Gid = 0 }
            : new PaxTarEntry(type, name) { Uid = 0, Gid = 0 };
    }
}

using System.CommandLine;
using System.Formats.Tar;
using Mocker.Client;

namespace Mocker.Cli;

/// <summary>
/// <c>mocker cp</c> and <c>mocker diff</c> (docker/cli cli/command/container/cp.go, diff.go): exactly one side of cp is
/// CONTAINER:PATH; "-" streams a tar on stdin or stdout. The daemon resolves container paths inside the container's root;
/// this side keeps what a container sends inside the local destination (no ".." escape, no writing through a link).
/// </summary>
internal static class CopyCommands
{
    public static Command Copy()
    {
        var archive = new Option<bool>("--archive", "-a") { Description = "Archive mode (copy all uid/gid information)" };
        var follow = new Option<bool>("--follow-link", "-L") { Description = "Always follow symbol link in SRC_PATH" };
        var src = new Argument<string>("SRC_PATH");
        var dst = new Argument<string>("DEST_PATH");
        var cmd = new Command("cp", "Copy files/folders between a container and the local filesystem") { archive, follow, src, dst };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var (srcContainer, srcPath) = Split(pr.GetValue(src)!);
            var (dstContainer, dstPath) = Split(pr.GetValue(dst)!);
            if (srcContainer is not null && dstContainer is not null)
                throw new UsageException("copying between containers is not supported");
            if (srcContainer is null && dstContainer is null)
                throw new UsageException("must specify at least one container source");
            if (srcPath.Length == 0 || dstPath.Length == 0)
                throw new UsageException("filepath cannot be empty");
            if (srcContainer is not null)
                await FromContainerAsync(c, srcContainer, srcPath, dstPath, pr.GetValue(follow), ct).ConfigureAwait(false);
            else
                await ToContainerAsync(c, srcPath, dstContainer!, dstPath, pr.GetValue(follow), pr.GetValue(archive), ct).ConfigureAwait(false);
            return 0;
        }));
        return cmd;
    }

    public static Command Diff()
    {
        var container = new Argument<string>("CONTAINER");
        var cmd = new Command("diff", "Inspect changes to files or directories on a container's filesystem") { container };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            foreach (var change in await c.Containers.ChangesAsync(pr.GetValue(container)!, ct).ConfigureAwait(false))
            {
                Cli.OutLine($"{change.Kind switch { 1 => "A", 2 => "D", _ => "C" }} {change.Path}");
            }
            return 0;
        }));
        return cmd;
    }

    /// <summary>docker's splitCpArg: an absolute path or a name starting with "." is local; else "container:path".</summary>
    private static (string? Container, string Path) Split(string arg)
    {
        if (arg.StartsWith('/')) return (null, arg);
        var colon = arg.IndexOf(':');
        if (colon < 0 || arg.StartsWith('.')) return (null, arg);
        return (arg[..colon], arg[(colon + 1)..]);
    }

    private static bool CopiesContents(string path) => path.EndsWith("/.", StringComparison.Ordinal);

    private static string ContainerParent(string path)
    {
        var trimmed = path.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        return slash <= 0 ? "/" : trimmed[..slash];
    }

    private static string BaseName(string path) => Path.GetFileName(path.TrimEnd('/')) is { Length: > 0 } b ? b : "/";

    private static async Task FromContainerAsync(MockerClient c, string container, string srcPath, string dstPath, bool follow, CancellationToken ct)
    {
        if (follow && await c.Containers.StatPathAsync(container, srcPath, ct).ConfigureAwait(false) is { IsSymlink: true } link)
        {
            srcPath = link.LinkTarget.StartsWith('/') ? link.LinkTarget : ContainerParent(srcPath).TrimEnd('/') + "/" + link.LinkTarget;
        }
        using var download = await c.Containers.GetArchiveAsync(container, srcPath, ct).ConfigureAwait(false);
        if (dstPath == "-")
        {
            await download.Tar.CopyToAsync(Cli.Stdout, 1 << 16, ct).ConfigureAwait(false);
            await Cli.Stdout.FlushAsync(ct).ConfigureAwait(false);
            return;
        }
        var rootName = CopiesContents(srcPath) ? "." : download.Stat.Name.TrimStart('/') is { Length: > 0 } n ? n : ".";
        var dst = Path.GetFullPath(dstPath);
        string targetDir;
        string? renameTo = null;
        if (Directory.Exists(dst))
        {
            targetDir = dst;
        }
        else if (File.Exists(dst))
        {
            if (download.Stat.IsDir) throw new UsageException("cannot copy a directory to a file");
            (targetDir, renameTo) = (Path.GetDirectoryName(dst)!, Path.GetFileName(dst));
        }
        else
        {
            if (dstPath.EndsWith('/') && !download.Stat.IsDir) throw new UsageException($"destination directory \"{dstPath}\" must exist");
            var parent = Path.GetDirectoryName(dst)!;
            if (!Directory.Exists(parent)) throw new UsageException($"destination directory \"{parent}\" does not exist");
            if (rootName == ".")
            {
                Directory.CreateDirectory(dst);
                targetDir = dst;
            }
            else
            {
                (targetDir, renameTo) = (parent, Path.GetFileName(dst));
            }
        }
        await ExtractLocalAsync(download.Tar, targetDir, rootName, renameTo, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Extracts into <paramref name="targetDir"/>, renaming the root entry <paramref name="rootName"/> to
    /// <paramref name="renameTo"/>. Refused: names escaping with "..", and entries below a symbolic link (a link the
    /// tar made or one already there), so a hostile container cannot write outside the destination (docker's breakout check).
    /// </summary>
    private static async Task ExtractLocalAsync(Stream tar, string targetDir, string rootName, string? renameTo, CancellationToken ct)
    {
        await using var reader = new TarReader(tar, leaveOpen: true);
        var root = Path.GetFullPath(targetDir);
        while (await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is { } entry)
        {
            if (entry.EntryType is TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes) continue;
            var parts = new List<string>();
            foreach (var part in entry.Name.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                if (part == ".") continue;
                if (part == "..") throw new UsageException($"invalid archive entry \"{entry.Name}\": it escapes the destination");
                parts.Add(part);
            }
            if (renameTo is not null && parts.Count > 0 && parts[0] == rootName) parts[0] = renameTo;
            if (parts.Count == 0) continue;
            var current = root;
            foreach (var part in parts.Take(parts.Count - 1))
            {
                current = Path.Combine(current, part);
                var info = new DirectoryInfo(current);
                if (info.LinkTarget is not null)
                    throw new UsageException($"invalid archive entry \"{entry.Name}\": a parent is a symbolic link");
                if (!info.Exists) info.Create();
            }
            var path = Path.Combine(current, parts[^1]);
            var existing = new FileInfo(path);
            var isDir = entry.EntryType == TarEntryType.Directory;
            if (existing.LinkTarget is not null || (existing.Exists && !isDir))
            {
                existing.Delete();
            }
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(path);
                    File.SetUnixFileMode(path, entry.Mode);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    await entry.ExtractToFileAsync(path, overwrite: false, ct).ConfigureAwait(false);
                    break;
                case TarEntryType.SymbolicLink:
                    File.CreateSymbolicLink(path, entry.LinkName);
                    break;
                default:
                    continue; // devices, fifos and hard links are not recreated on the client
            }
        }
    }

    private static async Task ToContainerAsync(MockerClient c, string srcPath, string container, string dstPath, bool follow, bool archive, CancellationToken ct)
    {
        if (srcPath == "-")
        {
            var stat = await c.Containers.StatPathAsync(container, dstPath, ct).ConfigureAwait(false);
            if (stat is null || !(stat.IsDir || stat.IsSymlink))
                throw new UsageException($"destination \"{container}:{dstPath}\" must be a directory");
            await using var stdin = Cli.OpenStdin();
            await c.Containers.PutArchiveAsync(container, dstPath, stdin, copyUidGid: archive, ct: ct).ConfigureAwait(false);
            return;
        }
        var local = Path.GetFullPath(srcPath);
        var info = new FileInfo(local);
        FileSystemInfo source = Directory.Exists(local) && info.LinkTarget is null ? new DirectoryInfo(local) : info;
        if (follow && source.LinkTarget is not null)
        {
            source = source.ResolveLinkTarget(returnFinalTarget: true) ?? source;
            local = source.FullName;
        }
        if (!source.Exists && source.LinkTarget is null)
            throw new UsageException($"lstat {local}: no such file or directory");
        var srcIsDir = source is DirectoryInfo || (source.Attributes & FileAttributes.Directory) != 0 && source.LinkTarget is null;

        var dstStat = await c.Containers.StatPathAsync(container, dstPath, ct).ConfigureAwait(false);
        if (dstStat is { IsSymlink: true })
        {
            var target = dstStat.LinkTarget.StartsWith('/') ? dstStat.LinkTarget : ContainerParent(dstPath).TrimEnd('/') + "/" + dstStat.LinkTarget;
            dstStat = await c.Containers.StatPathAsync(container, target, ct).ConfigureAwait(false) ?? dstStat;
        }
        string putPath, rootName;
        if (dstStat is { IsDir: true })
        {
            (putPath, rootName) = (dstPath, CopiesContents(srcPath) ? "." : Path.GetFileName(local));
        }
        else if (dstStat is not null)
        {
            if (srcIsDir) throw new UsageException("cannot copy a directory to a file");
            (putPath, rootName) = (ContainerParent(dstPath), BaseName(dstPath));
        }
        else
        {
            if (dstPath.EndsWith('/') && !srcIsDir) throw new UsageException($"destination \"{container}:{dstPath}\" must be a directory");
            (putPath, rootName) = (ContainerParent(dstPath), BaseName(dstPath));
        }
        await c.Containers.PutArchiveAsync(container, putPath, async (body, token) =>
        {
            await using var writer = new TarWriter(body, TarEntryFormat.Pax, leaveOpen: true);
            await WriteLocalAsync(writer, local, rootName, token).ConfigureAwait(false);
        }, copyUidGid: archive, ct: ct).ConfigureAwait(false);
    }

    /// <summary>Archives <paramref name="path"/> as <paramref name="name"/>, recursing into real directories only (links are archived as links).</summary>
    private static async Task WriteLocalAsync(TarWriter writer, string path, string name, CancellationToken ct)
    {
        var dir = new DirectoryInfo(path);
        var isDir = dir.Exists && dir.LinkTarget is null;
        if (name != ".")
        {
            await writer.WriteEntryAsync(path, isDir ? name + "/" : name, ct).ConfigureAwait(false);
        }
        if (!isDir) return;
        foreach (var child in dir.EnumerateFileSystemInfos().OrderBy(i => i.Name, StringComparer.Ordinal))
        {
            await WriteLocalAsync(writer, child.FullName, name == "." ? child.Name : name + "/" + child.Name, ct).ConfigureAwait(false);
        }
    }
}

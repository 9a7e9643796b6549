using System.Formats.Tar;
using Microsoft.Extensions.Logging.Abstractions;
using Mocker.Api;
using Mocker.Engine.Content;
using Mocker.Engine.Images;
using Mocker.Engine.Snapshots;
using Mocker.Engine.State;

namespace Mocker.Engine.Tests.Snapshots;

/// <summary>A throwaway data root with the real storage stack wired on it; deleted (after unmounting) on dispose.</summary>
internal sealed class StorageTestRoot : IDisposable
{
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "mocker-storage-test-" + Guid.NewGuid().ToString("N"));
    public EngineOptions Options { get; }
    public MetadataDb Db { get; }
    public LocalContentStore Content { get; }
    public OverlaySnapshotter Snapshotter { get; }
    public ImageStore Images { get; }
    public LayerUnpacker Unpacker { get; }
    public ImageService Service { get; }
    private readonly List<string> _mounts = [];

    public StorageTestRoot()
    {
        System.IO.Directory.CreateDirectory(Dir);
        Options = new EngineOptions { DataRoot = Path.Combine(Dir, "data"), ExecRoot = Path.Combine(Dir, "exec") };
        Db = new MetadataDb(Options.MetadataDbPath);
        Content = new LocalContentStore(Options);
        Snapshotter = new OverlaySnapshotter(Options, Db);
        Images = new ImageStore(Db);
        Unpacker = new LayerUnpacker(Snapshotter, new LayerApplier());
        Service = new ImageService(Options, Content, Images, Snapshotter, Unpacker, ApplyChanges, NullLogger<ImageService>.Instance);
    }

    /// <summary>A minimal --change applier: "CMD a b" and "ENV K=V" only (the builder owns the real one).</summary>
    public static ContainerConfig ApplyChanges(ContainerConfig config, IReadOnlyList<string> changes)
    {
        foreach (var change in changes)
        {
            var parts = change.Split(' ', 2);
            config = parts[0].ToUpperInvariant() switch
            {
                "CMD" => config with { Cmd = parts[1].Split(' ').ToList() },
                "ENV" => config with { Env = [.. config.Env ?? [], parts[1]] },
                _ => config,
            };
        }
        return config;
    }

    public string Mount(IReadOnlyList<Mocker.Engine.Snapshots.Mount> mounts)
    {
        var target = Path.Combine(Dir, "mnt-" + _mounts.Count);
        MountHelper.MountAll(mounts, target);
        _mounts.Add(target);
        return target;
    }

    public void Unmount(string target)
    {
        MountHelper.Unmount(target);
        _mounts.Remove(target);
    }

    public void Dispose()
    {
        foreach (var m in _mounts)
        {
            MountHelper.Unmount(m);
        }
        System.IO.Directory.Delete(Dir, recursive: true);
    }

    /// <summary>Builds an in-memory tar (tests only; the engine streams).</summary>
    public static MemoryStream Tar(params TarEntry[] entries)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var e in entries)
            {
                w.WriteEntry(e);
            }
        }
        ms.Position = 0;
        return ms;
    }

    /// <summary>Fixed so that equal entries make equal tars (the default is "now").</summary>
    public static readonly DateTimeOffset Epoch = new(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);

    public static PaxTarEntry TextFile(string name, string text) =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)), Mode = (UnixFileMode)Convert.ToInt32("644", 8), ModificationTime = Epoch };

    public static PaxTarEntry DirEntry(string name) => new(TarEntryType.Directory, name) { Mode = (UnixFileMode)Convert.ToInt32("755", 8), ModificationTime = Epoch };

    public static PaxTarEntry Symlink(string name, string target) => new(TarEntryType.SymbolicLink, name) { LinkName = target, ModificationTime = Epoch };

    public static PaxTarEntry HardLink(string name, string target) => new(TarEntryType.HardLink, name) { LinkName = target, ModificationTime = Epoch };
}

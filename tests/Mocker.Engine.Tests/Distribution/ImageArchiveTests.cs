using System.Formats.Tar;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Mocker.Engine.Distribution;
using Mocker.Engine.Errors;
using Mocker.Engine.Tests.Snapshots;
using Xunit;

namespace Mocker.Engine.Tests.Distribution;

public sealed class ImageArchiveTests
{
    private static ImageArchive Archive(StorageTestRoot root) =>
        new(root.Options, root.Content, root.Images, root.Snapshotter, root.Unpacker, NullLogger<ImageArchive>.Instance);

    private static List<string> EntryNames(string tarPath)
    {
        using var file = File.OpenRead(tarPath);
        using var reader = new TarReader(file);
        var names = new List<string>();
        while (reader.GetNextEntry() is { } e)
        {
            names.Add(e.Name);
        }
        return names;
    }

    [Theory]
    [InlineData(ArchiveFormat.Docker)]
    [InlineData(ArchiveFormat.Oci)]
    public async Task SaveThenLoadIntoAnotherRootKeepsIdAndTags(ArchiveFormat format)
    {
        using var source = new StorageTestRoot();
        var id = await source.Service.BootstrapAsync("busybox", null, null, default);
        await source.Service.TagAsync(id, "example.com/team/bb", "2", default);
        var imported = await source.Service.ImportAsync(StorageTestRoot.Tar(StorageTestRoot.TextFile("hello.txt", "hi")), new Mocker.Engine.Images.ImportOptions(null, null, [], null, null), null, default);
        var tarPath = Path.Combine(source.Dir, "saved.tar");
        await using (var output = new FileStream(tarPath, FileMode.CreateNew))
        {
            await Archive(source).SaveAsync(["busybox", "example.com/team/bb:2", imported], output, format, default);
        }
        var names = EntryNames(tarPath);
        if (format == ArchiveFormat.Docker)
        {
            Assert.Contains("manifest.json", names);
            Assert.Contains("repositories", names);
            Assert.Contains(Mocker.Engine.Content.Digest.Parse(id).Hex + ".json", names);
            Assert.Contains(names, n => n.EndsWith("/layer.tar", StringComparison.Ordinal));
            Assert.Contains(names, n => n.EndsWith("/VERSION", StringComparison.Ordinal));
        }
        else
        {
            Assert.Contains("oci-layout", names);
            Assert.Contains("index.json", names);
            Assert.Contains("blobs/sha256/" + Mocker.Engine.Content.Digest.Parse(id).Hex, names);
        }

        using var target = new StorageTestRoot();
        var progress = new RegistryInteropTests.Collect();
        IReadOnlyList<Mocker.Engine.Content.Digest> loaded;
        await using (var input = File.OpenRead(tarPath))
        {
            loaded = await Archive(target).LoadAsync(input, quiet: false, progress, default);
        }
        Assert.Equal([id, imported], loaded.Select(d => d.ToString()));
        var image = await target.Images.GetAsync("busybox:latest", default);
        Assert.Equal(id, image.Id.ToString());
        Assert.Equal(["docker.io/library/busybox:latest", "example.com/team/bb:2"], image.Tags.Order(StringComparer.Ordinal));
        Assert.Equal(imported, (await target.Images.GetAsync(imported, default)).Id.ToString());
        var streams = progress.Messages.Where(m => m.stream is not null).Select(m => m.stream).ToList();
        Assert.Contains("Loaded image: busybox:latest\n", streams);
        Assert.Contains("Loaded image: example.com/team/bb:2\n", streams);
        Assert.Contains($"Loaded image ID: {imported}\n", streams);
        Assert.Contains(progress.Messages, m => m.status == "Loading layer");

        var key = "view-" + Guid.NewGuid().ToString("N");
        var mnt = target.Mount(await target.Snapshotter.ViewAsync(key, image.TopChainId, default));
        Assert.True(File.Exists(Path.Combine(mnt, "bin", "busybox")));
        target.Unmount(mnt);
        await target.Snapshotter.RemoveAsync(key, default);

        // Loading again is idempotent and quiet mode reports only the result lines.
        var quiet = new RegistryInteropTests.Collect();
        await using (var input = File.OpenRead(tarPath))
        {
            await Archive(target).LoadAsync(input, quiet: true, quiet, default);
        }
        Assert.All(quiet.Messages, m => Assert.NotNull(m.stream));
        Assert.Empty(Directory.EnumerateFileSystemEntries(target.Options.TmpRoot));
    }

    [Fact]
    public async Task LoadRefusesEntriesEscapingTheRoot()
    {
        using var root = new StorageTestRoot();
        var tar = StorageTestRoot.Tar(StorageTestRoot.TextFile("../evil", "x"), StorageTestRoot.TextFile("manifest.json", "[]"));
        var e = await Assert.ThrowsAsync<MockerException>(() => Archive(root).LoadAsync(tar, quiet: true, new RegistryInteropTests.Collect(), default));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("escapes the archive root", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(root.Options.TmpRoot));
    }

    [Fact]
    public async Task LoadFollowsSymlinkedLayersAsDockerWrites()
    {
        using var source = new StorageTestRoot();
        var id = await source.Service.BootstrapAsync("busybox", "sym", null, default);
        var saved = new MemoryStream();
        await Archive(source).SaveAsync(["busybox:sym"], saved, default);
        saved.Position = 0;
        // Rewrite the archive so the layer is a symlink to a copy elsewhere, as docker save does for shared layers.
        var rewritten = new MemoryStream();
        using (var reader = new TarReader(saved, leaveOpen: true))
        using (var writer = new TarWriter(rewritten, TarEntryFormat.Pax, leaveOpen: true))
        {
            while (reader.GetNextEntry(copyData: true) is { } e)
            {
                if (e.Name.EndsWith("/layer.tar", StringComparison.Ordinal))
                {
                    var copy = new PaxTarEntry(TarEntryType.RegularFile, "shared/layer.tar") { DataStream = e.DataStream };
                    writer.WriteEntry(copy);
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, e.Name) { LinkName = "../shared/layer.tar" });
                }
                else
                {
                    writer.WriteEntry(e);
                }
            }
        }
        rewritten.Position = 0;
        using var target = new StorageTestRoot();
        var loaded = await Archive(target).LoadAsync(rewritten, quiet: true, new RegistryInteropTests.Collect(), default);
        Assert.Equal(id, Assert.Single(loaded).ToString());
        var manifest = JsonSerializer.Deserialize<JsonElement>(target.Content.OpenRead((await target.Images.GetAsync("busybox:sym", default)).ManifestDigest));
        Assert.Equal(1, manifest.GetProperty("layers").GetArrayLength());
    }
}

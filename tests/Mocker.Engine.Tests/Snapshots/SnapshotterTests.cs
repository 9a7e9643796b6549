using System.Formats.Tar;
using Mocker.Engine.Content;
using Mocker.Engine.Errors;
using Mocker.Engine.Snapshots;
using Xunit;
using static Mocker.Engine.Tests.Snapshots.StorageTestRoot;

namespace Mocker.Engine.Tests.Snapshots;

public sealed class SnapshotterTests
{
    [Fact]
    public async Task PrepareCommitMountsAndRemove()
    {
        using var root = new StorageTestRoot();
        var s = root.Snapshotter;
        var mounts = await s.PrepareAsync("base-active", null, default);
        var bind = Assert.Single(mounts);
        Assert.Equal("bind", bind.Type);
        Assert.Equal(["rbind", "rw"], bind.Options);
        await File.WriteAllTextAsync(Path.Combine(await s.GetChangesDirAsync("base-active", default), "a"), "base");
        await s.CommitAsync("base", "base-active", default);
        Assert.Equal(SnapshotKind.Committed, (await s.StatAsync("base", default))!.Kind);
        Assert.Null(await s.StatAsync("base-active", default));
        await Assert.ThrowsAsync<MockerException>(() => s.PrepareAsync("base", null, default));

        var top = await s.PrepareAsync("c1", "base", default);
        var overlay = Assert.Single(top);
        Assert.Equal("overlay", overlay.Type);
        var mnt = root.Mount(top);
        Assert.Equal("base", await File.ReadAllTextAsync(Path.Combine(mnt, "a")));
        await File.WriteAllTextAsync(Path.Combine(mnt, "b"), "upper");
        root.Unmount(mnt);
        Assert.Equal("upper", await File.ReadAllTextAsync(Path.Combine(await s.GetChangesDirAsync("c1", default), "b")));
        Assert.Equal(5, await s.UsageAsync("c1", default));

        var view = Assert.Single(await s.ViewAsync("v1", "base", default));
        Assert.Equal(["rbind", "ro"], view.Options);
        var viewMnt = root.Mount([view]);
        Assert.Throws<IOException>(() => File.WriteAllText(Path.Combine(viewMnt, "c"), "x"));
        root.Unmount(viewMnt);

        var e = await Assert.ThrowsAsync<MockerException>(() => s.RemoveAsync("base", default));
        Assert.Equal(ErrorKind.Conflict, e.Kind);
        await s.RemoveAsync("c1", default);
        await s.RemoveAsync("v1", default);
        await s.RemoveAsync("base", default);
        await s.RemoveAsync("absent", default);
        Assert.Empty(await s.ListAsync(default));
        Assert.Empty(Directory.EnumerateDirectories(root.Options.SnapshotsRoot));
    }

    [Fact]
    public async Task CleanupRemovesUnknownDirectories()
    {
        using var root = new StorageTestRoot();
        await root.Snapshotter.PrepareAsync("keep", null, default);
        var stray = Path.Combine(root.Options.SnapshotsRoot, "999");
        Directory.CreateDirectory(Path.Combine(stray, "fs"));
        await root.Snapshotter.CleanupAsync(default);
        Assert.False(Directory.Exists(stray));
        Assert.True(Directory.Exists(await root.Snapshotter.GetChangesDirAsync("keep", default)));
    }

    [Fact]
    public async Task UnpackerCleanupRemovesInterruptedExtracts()
    {
        using var root = new StorageTestRoot();
        await root.Snapshotter.PrepareAsync("extract-crashed", null, default);
        await root.Snapshotter.PrepareAsync("container-1", null, default);
        await root.Unpacker.CleanupAsync(default);
        Assert.Equal(["container-1"], (await root.Snapshotter.ListAsync(default)).Select(i => i.Key));
    }

    [Fact]
    public async Task UnpackerCommitsChainIdAndReusesExisting()
    {
        using var root = new StorageTestRoot();
        var bottom = await root.Unpacker.UnpackAsync(Tar(TextFile("a", "1")), null, null, default);
        Assert.Equal(bottom.DiffId.ToString(), bottom.ChainId);
        var again = await root.Unpacker.UnpackAsync(Tar(TextFile("a", "1")), null, bottom.DiffId, default);
        Assert.Equal(bottom.ChainId, again.ChainId);
        var upper = await root.Unpacker.UnpackAsync(Tar(TextFile("b", "2")), bottom.ChainId, null, default);
        Assert.Equal(ILayerUnpacker.ChainId(bottom.ChainId, upper.DiffId), upper.ChainId);
        Assert.Equal(2, (await root.Snapshotter.ListAsync(default)).Count);
        var wrong = Digest.Compute("x"u8);
        await Assert.ThrowsAsync<MockerException>(() => root.Unpacker.UnpackAsync(Tar(TextFile("c", "3")), null, wrong, default));
        Assert.Equal(2, (await root.Snapshotter.ListAsync(default)).Count);
        Assert.Equal(2, Directory.EnumerateDirectories(root.Options.SnapshotsRoot).Count());
    }

    [Fact]
    public async Task WhiteoutAndOpaqueRoundTripThroughOverlay()
    {
        using var root = new StorageTestRoot();
        var lower = await root.Unpacker.UnpackAsync(
            Tar(DirEntry("keep/"), TextFile("keep/k", "k"), DirEntry("opq/"), TextFile("opq/old", "old"), TextFile("gone", "g")), null, null, default);
        var layer = Tar(TextFile(".wh.gone", ""), DirEntry("opq/"), TextFile("opq/.wh..wh..opq", ""), TextFile("opq/new", "new"), TextFile("keep/added", "a"));
        var upper = await root.Unpacker.UnpackAsync(layer, lower.ChainId, null, default);
        var merged = root.Mount(await root.Snapshotter.ViewAsync("view", upper.ChainId, default));
        Assert.False(File.Exists(Path.Combine(merged, "gone")));
        Assert.Equal(["new"], Directory.EnumerateFileSystemEntries(Path.Combine(merged, "opq")).Select(Path.GetFileName));
        Assert.Equal(["added", "k"], Directory.EnumerateFileSystemEntries(Path.Combine(merged, "keep")).Select(Path.GetFileName).Order());
        root.Unmount(merged);

        var diff = new MemoryStream();
        var result = await new LayerDiffer().DiffAsync(await root.Snapshotter.GetChangesDirAsync(upper.ChainId, default), diff, default);
        Assert.Equal(Digest.Compute(diff.ToArray()), result.DiffId);
        diff.Position = 0;
        var names = new List<string>();
        using (var reader = new TarReader(diff, leaveOpen: true))
        {
            while (reader.GetNextEntry() is { } e)
            {
                names.Add(e.Name);
            }
        }
        Assert.Equal([".wh.gone", "keep/", "keep/added", "opq/", "opq/.wh..wh..opq", "opq/new"], names);

        // The diff re-applied on the same lower gives the same snapshot content and a stable diffID.
        diff.Position = 0;
        var reapplied = await root.Unpacker.UnpackAsync(diff, lower.ChainId, result.DiffId, default);
        var second = new MemoryStream();
        var result2 = await new LayerDiffer().DiffAsync(await root.Snapshotter.GetChangesDirAsync(reapplied.ChainId, default), second, default);
        Assert.Equal(result.DiffId, result2.DiffId);
    }

    [Fact]
    public async Task DifferWritesHardLinksSymlinksAndMetadata()
    {
        using var root = new StorageTestRoot();
        var file = TextFile("f", "data");
        file.Uid = 7;
        file.Mode = (UnixFileMode)Convert.ToInt32("640", 8);
        var layer = await root.Unpacker.UnpackAsync(Tar(file, HardLink("h", "f"), Symlink("s", "f")), null, null, default);
        var diff = new MemoryStream();
        await new LayerDiffer().DiffAsync(await root.Snapshotter.GetChangesDirAsync(layer.ChainId, default), diff, default);
        diff.Position = 0;
        using var reader = new TarReader(diff);
        var f = reader.GetNextEntry()!;
        Assert.Equal(("f", TarEntryType.RegularFile, 7), (f.Name, f.EntryType, f.Uid));
        Assert.Equal((UnixFileMode)Convert.ToInt32("640", 8), f.Mode);
        var h = reader.GetNextEntry()!;
        Assert.Equal(("h", TarEntryType.HardLink, "f"), (h.Name, h.EntryType, h.LinkName));
        var s = reader.GetNextEntry()!;
        Assert.Equal(("s", TarEntryType.SymbolicLink, "f"), (s.Name, s.EntryType, s.LinkName));
    }
}

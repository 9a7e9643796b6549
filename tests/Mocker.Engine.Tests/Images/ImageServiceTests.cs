using System.IO.Compression;
using Mocker.Api;
using Mocker.Engine.Content;
using Mocker.Engine.Errors;
using Mocker.Engine.Images;
using Mocker.Engine.Tests.Snapshots;
using Xunit;
using static Mocker.Engine.Tests.Snapshots.StorageTestRoot;

namespace Mocker.Engine.Tests.Images;

public sealed class ImageServiceTests
{
    private static readonly Func<string, ImageUser?> NotUsed = _ => null;
    private static readonly ImageUser Stopped = new("4aad1a2b3c4d5e6f4aad1a2b3c4d5e6f4aad1a2b3c4d5e6f4aad1a2b3c4d5e6f", Running: false);
    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> NoFilters = new Dictionary<string, IReadOnlyList<string>>();

    private static ImportOptions Opts(string? repo, string? message = null, params string[] changes) => new(repo, null, changes, message, null);

    private static MemoryStream Gzip(MemoryStream tar)
    {
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            tar.CopyTo(z);
        }
        gz.Position = 0;
        return gz;
    }

    private sealed class Collect : IProgress<JsonMessage>
    {
        public List<JsonMessage> Messages { get; } = [];
        public void Report(JsonMessage value) => Messages.Add(value);
    }

    [Fact]
    public async Task ImportPlainAndGzipThenInspectListHistory()
    {
        using var root = new StorageTestRoot();
        var progress = new Collect();
        var id = await root.Service.ImportAsync(Tar(DirEntry("etc/"), TextFile("etc/hostname", "x")), Opts("apitrace/imported:1", "imported msg", "CMD /bin/sh", "ENV A=b"), progress, default);
        Assert.Equal(id, Assert.Single(progress.Messages).status);
        var inspect = await root.Service.InspectAsync("apitrace/imported:1", default);
        Assert.Equal(id, inspect.Id);
        Assert.Equal(["apitrace/imported:1"], inspect.RepoTags);
        Assert.Equal("imported msg", inspect.Comment);
        Assert.Equal(["/bin/sh"], inspect.Config!.Cmd);
        Assert.Equal(["A=b"], inspect.Config.Env);
        Assert.Single(inspect.RootFS.Layers);
        Assert.Equal("overlay2", inspect.GraphDriver.Name);
        Assert.EndsWith("Z", inspect.Created);
        Assert.NotEqual("0001-01-01T00:00:00Z", inspect.Metadata.LastTagTime);
        var img = await root.Images.GetAsync(id, default);
        var manifest = System.Text.Json.JsonSerializer.Deserialize(root.Content.OpenRead(img.ManifestDigest), OciJsonContext.Default.ImageManifest)!;
        Assert.Equal(MediaTypes.OciLayer, Assert.Single(manifest.Layers).MediaType);

        var gzId = await root.Service.ImportAsync(Gzip(Tar(TextFile("g", "zipped"))), Opts("gz"), null, default);
        var gzImg = await root.Images.GetAsync("gz:latest", default);
        var gzManifest = System.Text.Json.JsonSerializer.Deserialize(root.Content.OpenRead(gzImg.ManifestDigest), OciJsonContext.Default.ImageManifest)!;
        Assert.Equal(MediaTypes.OciLayerGzip, gzManifest.Layers[0].MediaType);
        Assert.Equal(gzId, gzImg.Id.ToString());

        var list = await root.Service.ListAsync(new ImageListOptions(false, NoFilters), default);
        Assert.Equal(2, list.Count);
        var filtered = await root.Service.ListAsync(new ImageListOptions(false, new Dictionary<string, IReadOnlyList<string>> { ["reference"] = ["apitrace/*"] }), default);
        Assert.Equal(["apitrace/imported:1"], Assert.Single(filtered).RepoTags);

        var history = Assert.Single(await root.Service.HistoryAsync("apitrace/imported:1", default));
        Assert.Equal(id, history.Id);
        Assert.Equal("imported msg", history.Comment);
        Assert.Equal(["apitrace/imported:1"], history.Tags);
        Assert.True(history.Size > 0);
    }

    [Fact]
    public async Task LookupByIdPrefixAndNotFoundTexts()
    {
        using var root = new StorageTestRoot();
        var id = Digest.Parse(await root.Service.ImportAsync(Tar(TextFile("a", "1")), Opts("bb"), null, default));
        Assert.Equal(id, (await root.Images.GetAsync(id.Hex, default)).Id);
        Assert.Equal(id, (await root.Images.GetAsync(id.Hex[..12], default)).Id);
        Assert.Equal(id, (await root.Images.GetAsync("docker.io/library/bb:latest", default)).Id);
        Assert.Equal(id, (await root.Images.GetAsync("bb", default)).Id);
        var e = await Assert.ThrowsAsync<MockerException>(() => root.Images.GetAsync("nosuchimage", default));
        Assert.Equal("No such image: nosuchimage:latest", e.Message);
        Assert.Equal(ErrorKind.NotFound, e.Kind);
        var bad = await Assert.ThrowsAsync<MockerException>(() => root.Images.GetAsync("UPPER", default));
        Assert.Equal(ErrorKind.InvalidArgument, bad.Kind);
    }

    [Fact]
    public async Task TagUntagAndDelete()
    {
        using var root = new StorageTestRoot();
        var id = await root.Service.ImportAsync(Tar(TextFile("a", "1")), Opts("bb"), null, default);
        await root.Service.TagAsync("bb", "docker.io/library/bb", "t1", default);
        await root.Service.TagAsync("bb", "127.0.0.1:5000/apitrace/bb", "1", default);
        var inspect = await root.Service.InspectAsync(id, default);
        Assert.Equal(["127.0.0.1:5000/apitrace/bb:1", "bb:latest", "bb:t1"], inspect.RepoTags.Order());

        var conflict = await Assert.ThrowsAsync<MockerException>(() => root.Service.RemoveAsync(id[7..19], false, false, NotUsed, default));
        Assert.Equal($"conflict: unable to delete {id[7..19]} (must be forced) - image is referenced in multiple repositories", conflict.Message);

        var untag = await root.Service.RemoveAsync("bb:t1", false, false, NotUsed, default);
        Assert.Equal("bb:t1", Assert.Single(untag).Untagged);
        // In use, but another reference remains: untagging leaves nothing dangling, so Docker allows it.
        var untagInUse = await root.Service.RemoveAsync("127.0.0.1:5000/apitrace/bb:1", false, false, _ => Stopped, default);
        Assert.Equal("127.0.0.1:5000/apitrace/bb:1", Assert.Single(untagInUse).Untagged);
        var inUse = await Assert.ThrowsAsync<MockerException>(() => root.Service.RemoveAsync("bb", false, false, _ => Stopped, default));
        Assert.Equal(ErrorKind.Conflict, inUse.Kind);
        Assert.Equal($"conflict: unable to remove repository reference \"bb\" (must force) - container {Stopped.ContainerId[..12]} is using its referenced image {id[7..19]}", inUse.Message);
        var running = await Assert.ThrowsAsync<MockerException>(() => root.Service.RemoveAsync(id, true, false, _ => Stopped with { Running = true }, default));
        Assert.Equal($"conflict: unable to delete {id[7..19]} (cannot be forced) - image is being used by running container {Stopped.ContainerId[..12]}", running.Message);
        var stopped = await Assert.ThrowsAsync<MockerException>(() => root.Service.RemoveAsync(id, false, false, _ => Stopped, default));
        Assert.Equal($"conflict: unable to delete {id[7..19]} (must be forced) - image is being used by stopped container {Stopped.ContainerId[..12]}", stopped.Message);

        var items = await root.Service.RemoveAsync("bb", false, false, NotUsed, default);
        Assert.Equal("bb:latest", items[0].Untagged);
        Assert.Equal(id, items[1].Deleted);
        Assert.Null(await root.Images.FindAsync(id, default));
        Assert.Empty(await root.Snapshotter.ListAsync(default));
        Assert.Empty(root.Content.List());
        var missing = await Assert.ThrowsAsync<MockerException>(() => root.Service.RemoveAsync("nosuchimage", false, false, NotUsed, default));
        Assert.Equal("No such image: nosuchimage:latest", missing.Message);
    }

    [Fact]
    public async Task DeletingAChildPrunesItsDanglingParent()
    {
        using var root = new StorageTestRoot();
        var parentId = await root.Service.ImportAsync(Tar(TextFile("a", "1")), Opts(null), null, default);
        var parent = await root.Images.GetAsync(parentId, default);
        var childConfig = parent.Config with { Comment = "child" };
        var childBytes = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(childConfig, OciJsonContext.Default.ImageConfig);
        var childDesc = await root.Content.WriteAsync(childBytes, MediaTypes.OciConfig, default);
        var child = parent with { Id = childDesc.Digest, Config = childConfig, Parent = parent.Id };
        await root.Images.PutAsync(child, ["docker.io/library/child:latest"], default);

        var list = await root.Service.ListAsync(new ImageListOptions(false, NoFilters), default);
        Assert.Equal(child.Id.ToString(), Assert.Single(list).Id);
        Assert.Equal(2, (await root.Service.ListAsync(new ImageListOptions(true, NoFilters), default)).Count);
        var conflict = await Assert.ThrowsAsync<MockerException>(() => root.Service.RemoveAsync(parentId, true, false, NotUsed, default));
        Assert.Contains("image has dependent child images", conflict.Message);
        var history = await root.Service.HistoryAsync("child", default);
        Assert.Equal(child.Id.ToString(), history[0].Id);

        var items = await root.Service.RemoveAsync("child", false, false, NotUsed, default);
        Assert.Equal(["child:latest"], items.Where(i => i.Untagged is not null).Select(i => i.Untagged));
        Assert.Contains(items, i => i.Deleted == child.Id.ToString());
        Assert.Contains(items, i => i.Deleted == parentId);
        Assert.Empty(await root.Images.ListAsync(default));
        Assert.Empty(await root.Snapshotter.ListAsync(default));
    }

    [Fact]
    public async Task PruneDanglingAndAll()
    {
        using var root = new StorageTestRoot();
        var first = await root.Service.ImportAsync(Tar(TextFile("a", "1")), Opts("x"), null, default);
        var second = await root.Service.ImportAsync(Tar(TextFile("a", "2")), Opts("x"), null, default);
        var dangling = await root.Service.ListAsync(new ImageListOptions(false, new Dictionary<string, IReadOnlyList<string>> { ["dangling"] = ["true"] }), default);
        Assert.Equal(["<none>:<none>"], Assert.Single(dangling).RepoTags);
        var pruned = await root.Service.PruneAsync(NoFilters, NotUsed, default);
        Assert.Contains(pruned.ImagesDeleted!, i => i.Deleted == first);
        Assert.True(pruned.SpaceReclaimed > 0);
        Assert.NotNull(await root.Images.FindAsync(second, default));
        var kept = await root.Service.PruneAsync(new Dictionary<string, IReadOnlyList<string>> { ["dangling"] = ["false"] }, _ => Stopped, default);
        Assert.Null(kept.ImagesDeleted);
        var all = await root.Service.PruneAsync(new Dictionary<string, IReadOnlyList<string>> { ["dangling"] = ["false"] }, NotUsed, default);
        Assert.Contains(all.ImagesDeleted!, i => i.Deleted == second);
        Assert.Empty(await root.Images.ListAsync(default));
    }

    [Fact]
    public async Task FailedImportLeavesNothing()
    {
        using var root = new StorageTestRoot();
        var gz = Gzip(Tar(TextFile("a", new string('x', 100_000)), TextFile("b", "2")));
        var truncated = new MemoryStream(gz.ToArray()[..(int)(gz.Length / 2)]);
        await Assert.ThrowsAnyAsync<Exception>(() => root.Service.ImportAsync(truncated, Opts("broken"), null, default));
        Assert.Empty(await root.Images.ListAsync(default));
        Assert.Null(await root.Images.FindAsync("broken", default));
        Assert.Empty(await root.Snapshotter.ListAsync(default));
        Assert.Empty(Directory.EnumerateFileSystemEntries(root.Options.SnapshotsRoot));
        Assert.Empty(root.Content.List());
    }

    [Fact]
    public async Task BootstrapBusyboxIsRunnableAndStable()
    {
        using var root = new StorageTestRoot();
        var id = await root.Service.BootstrapAsync("busybox", null, null, default);
        var again = await root.Service.BootstrapAsync("busybox", "latest", null, default);
        Assert.Equal(id, again);
        var img = await root.Images.GetAsync("busybox:latest", default);
        Assert.Equal(["sh"], img.Config.Config!.Cmd);
        var fs = await root.Snapshotter.GetChangesDirAsync(img.TopChainId!, default);
        Assert.Equal("../bin/busybox", new FileInfo(Path.Combine(fs, "bin/sh")).LinkTarget);
        Assert.Contains("root:x:0:0:root:/root:/bin/sh", await File.ReadAllTextAsync(Path.Combine(fs, "etc/passwd")));
        Assert.Contains("nobody:x:65534:65534:nobody:/home:/bin/false", await File.ReadAllTextAsync(Path.Combine(fs, "etc/passwd")));
        Assert.True(File.Exists(Path.Combine(fs, "etc/group")));
        Assert.True(Native.Libc.TryLstat(Path.Combine(fs, "tmp"), out var tmp));
        Assert.Equal(Convert.ToUInt32("1777", 8), tmp.Mode & 0xFFF);

        var mnt = root.Mount(await root.Snapshotter.ViewAsync("run", img.TopChainId, default));
        var psi = new System.Diagnostics.ProcessStartInfo("chroot", [mnt, "/bin/sh", "-c", "echo hi; wc -l /etc/passwd"]) { RedirectStandardOutput = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        root.Unmount(mnt);
        Assert.Equal(0, p.ExitCode);
        Assert.StartsWith("hi\n", output);

        using var other = new StorageTestRoot();
        Assert.Equal(id, await other.Service.BootstrapAsync("busybox", null, null, default));
        await Assert.ThrowsAsync<MockerException>(() => root.Service.BootstrapAsync("alpine", null, null, default));
    }
}

using System.Formats.Tar;
using System.IO.Compression;
using Mocker.Engine.Content;
using Mocker.Engine.Errors;
using Mocker.Engine.Snapshots;
using Xunit;
using static Mocker.Engine.Tests.Snapshots.StorageTestRoot;

namespace Mocker.Engine.Tests.Snapshots;

public sealed class LayerApplierTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mocker-applier-" + Guid.NewGuid().ToString("N"));
    private readonly string _root;
    private readonly string _sentinel;

    public LayerApplierTests()
    {
        _root = Path.Combine(_dir, "root");
        _sentinel = Path.Combine(_dir, "sentinel");
        Directory.CreateDirectory(_root);
        Directory.CreateDirectory(Path.Combine(_sentinel, "etc"));
        System.IO.File.WriteAllText(Path.Combine(_sentinel, "etc", "passwd"), "sentinel");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void AssertSentinelUntouched()
    {
        Assert.Equal([_root, _sentinel], Directory.EnumerateFileSystemEntries(_dir).Order(StringComparer.Ordinal));
        var entries = Directory.EnumerateFileSystemEntries(_sentinel, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        Assert.Equal([Path.Combine(_sentinel, "etc"), Path.Combine(_sentinel, "etc", "passwd")], entries);
        Assert.Equal("sentinel", System.IO.File.ReadAllText(Path.Combine(_sentinel, "etc", "passwd")));
    }

    private Task<LayerDigest> Apply(params TarEntry[] entries) => new LayerApplier().ApplyAsync(Tar(entries), _root, default);

    [Fact]
    public async Task AppliesFilesDirsLinksAndMetadata()
    {
        var mtime = new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var dir = DirEntry("usr/");
        dir.ModificationTime = mtime;
        var file = TextFile("usr/hello", "hi");
        file.Uid = 1000;
        file.Gid = 1001;
        file.Mode = (UnixFileMode)Convert.ToInt32("4755", 8);
        file.ModificationTime = mtime;
        var xattrFile = new PaxTarEntry(TarEntryType.RegularFile, "x", new Dictionary<string, string> { ["SCHILY.xattr.user.test"] = "v1" });
        var tar = Tar(dir, file, Symlink("usr/link", "hello"), HardLink("usr/hard", "usr/hello"),
            new PaxTarEntry(TarEntryType.Fifo, "fifo"), xattrFile);
        var expected = Digest.Compute(tar.ToArray());
        var result = await new LayerApplier().ApplyAsync(tar, _root, default);
        Assert.Equal(expected, result.DiffId);
        Assert.Equal(tar.Length, result.UncompressedSize);
        Assert.Equal("hi", System.IO.File.ReadAllText(Path.Combine(_root, "usr/hello")));
        Assert.Equal("hello", new FileInfo(Path.Combine(_root, "usr/link")).LinkTarget);
        Assert.True(Native.Libc.TryLstat(Path.Combine(_root, "usr/hello"), out var st));
        Assert.Equal(1000u, st.Uid);
        Assert.Equal(1001u, st.Gid);
        Assert.Equal(Convert.ToUInt32("4755", 8), st.Mode & 0xFFF);
        Assert.Equal(2ul, st.Nlink);
        Assert.Equal(mtime.ToUnixTimeSeconds(), st.MtimeSec);
        Assert.True(Native.Libc.TryLstat(Path.Combine(_root, "usr"), out var dst));
        Assert.Equal(mtime.ToUnixTimeSeconds(), dst.MtimeSec);
        Assert.True(Native.Libc.TryLstat(Path.Combine(_root, "fifo"), out var fst));
        Assert.Equal(Native.Libc.S_IFIFO, fst.Type);
        Assert.Equal("v1"u8.ToArray(), Native.Libc.GetXattr(Path.Combine(_root, "x"), "user.test"));
    }

    [Fact]
    public async Task GzipIsDetectedAndDiffIdIsOfTheUncompressedTar()
    {
        var tar = Tar(TextFile("a", "b"));
        var plainDigest = Digest.Compute(tar.ToArray());
        var gz = new MemoryStream();
        await using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            await tar.CopyToAsync(z);
        }
        gz.Position = 0;
        var result = await new LayerApplier().ApplyAsync(gz, _root, default);
        Assert.Equal(plainDigest, result.DiffId);
        Assert.Equal("b", System.IO.File.ReadAllText(Path.Combine(_root, "a")));
    }

    [Fact]
    public async Task ReplacesExistingEntries()
    {
        await Apply(DirEntry("d/"), TextFile("d/f", "1"), TextFile("g", "1"));
        await Apply(TextFile("d", "now a file"), DirEntry("g/"));
        Assert.Equal("now a file", System.IO.File.ReadAllText(Path.Combine(_root, "d")));
        Assert.True(Directory.Exists(Path.Combine(_root, "g")));
    }

    [Theory]
    [InlineData("../../etc/x")]
    [InlineData("../x")]
    [InlineData("a/../../x")]
    public async Task DotDotEscapesAreRejected(string name)
    {
        var e = await Assert.ThrowsAsync<MockerException>(() => Apply(TextFile(name, "evil")));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Contains(name, e.Message);
        AssertSentinelUntouched();
    }

    [Fact]
    public async Task AbsolutePathsAreConfined()
    {
        await Apply(TextFile("/abs/path", "ok"));
        Assert.Equal("ok", System.IO.File.ReadAllText(Path.Combine(_root, "abs/path")));
        AssertSentinelUntouched();
    }

    [Fact]
    public async Task AbsoluteSymlinkInParentIsResolvedInsideRoot()
    {
        await Apply(Symlink("a", _sentinel + "/etc"), TextFile("a/passwd", "inside"));
        Assert.Equal("inside", System.IO.File.ReadAllText(Path.Combine(_root, _sentinel.TrimStart('/'), "etc/passwd")));
        AssertSentinelUntouched();
    }

    [Fact]
    public async Task RelativeSymlinkEscapeIsClampedAtRoot()
    {
        await Apply(Symlink("up", "../../../../.."), TextFile("up/sentinel/etc/passwd", "inside"));
        Assert.Equal("inside", System.IO.File.ReadAllText(Path.Combine(_root, "sentinel/etc/passwd")));
        AssertSentinelUntouched();
    }

    [Fact]
    public async Task DeepSymlinkChainsStayInside()
    {
        await Apply(Symlink("l1", "l2"), Symlink("l2", "l3/../l4"), DirEntry("l3/"), Symlink("l4", "/../../" + _sentinel.TrimStart('/')), TextFile("l1/etc/passwd", "inside"));
        Assert.Equal("inside", System.IO.File.ReadAllText(Path.Combine(_root, _sentinel.TrimStart('/'), "etc/passwd")));
        AssertSentinelUntouched();
    }

    [Fact]
    public async Task SymlinkLoopsAreRejected()
    {
        var e = await Assert.ThrowsAsync<MockerException>(() => Apply(Symlink("loop", "loop"), TextFile("loop/x", "1")));
        Assert.Contains("loop/x", e.Message);
        AssertSentinelUntouched();
    }

    [Fact]
    public async Task HardLinksOutsideAreConfinedOrRejected()
    {
        // "/etc/passwd" names the layer's own /etc/passwd, which does not exist: rejected.
        var abs = await Assert.ThrowsAsync<MockerException>(() => Apply(HardLink("h", _sentinel + "/etc/passwd")));
        Assert.Contains("\"h\"", abs.Message);
        var up = await Assert.ThrowsAsync<MockerException>(() => Apply(HardLink("h2", "../sentinel/etc/passwd")));
        Assert.Contains("h2", up.Message);
        // A link through a symlinked parent resolves inside the root too.
        var via = await Assert.ThrowsAsync<MockerException>(() => Apply(Symlink("s", _sentinel), HardLink("h3", "s/etc/passwd")));
        Assert.Equal(ErrorKind.InvalidArgument, via.Kind);
        AssertSentinelUntouched();
    }

    [Fact]
    public async Task SymlinkAsFinalComponentIsReplacedNotFollowed()
    {
        await Apply(Symlink("f", _sentinel + "/etc/passwd"), TextFile("f", "replaced"));
        Assert.Equal("replaced", System.IO.File.ReadAllText(Path.Combine(_root, "f")));
        Assert.Null(new FileInfo(Path.Combine(_root, "f")).LinkTarget);
        AssertSentinelUntouched();
    }

    [Fact]
    public async Task DirectoryTimesAreNotAppliedThroughLaterSymlinks()
    {
        var before = Directory.GetLastWriteTimeUtc(Path.Combine(_sentinel, "etc"));
        var etc = DirEntry("d/etc/");
        etc.ModificationTime = new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await Apply(DirEntry("d/"), etc, Symlink("d", _sentinel));
        Assert.Equal(before, Directory.GetLastWriteTimeUtc(Path.Combine(_sentinel, "etc")));
        AssertSentinelUntouched();
    }

    [Fact]
    public async Task WhiteoutsBecomeOverlayForm()
    {
        await Apply(DirEntry("d/"), TextFile("d/.wh..wh..opq", ""), TextFile(".wh.gone", ""));
        Assert.True(Native.Libc.TryLstat(Path.Combine(_root, "gone"), out var st));
        Assert.Equal(Native.Libc.S_IFCHR, st.Type);
        Assert.Equal(0ul, st.Rdev);
        Assert.Equal("y"u8.ToArray(), Native.Libc.GetXattr(Path.Combine(_root, "d"), "trusted.overlay.opaque"));
        Assert.False(System.IO.File.Exists(Path.Combine(_root, "d/.wh..wh..opq")));
    }
}

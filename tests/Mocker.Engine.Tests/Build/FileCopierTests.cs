using Mocker.Engine.Build;
using Xunit;

namespace Mocker.Engine.Tests.Build;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FileCopierTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mocker-copy-" + Guid.NewGuid().ToString("N"));
    private string Ctx => Path.Combine(_dir, "ctx");
    private string Rootfs => Path.Combine(_dir, "rootfs");
    private static readonly FileCopier.Attributes Root = new(0, 0, null);

    public FileCopierTests()
    {
        Directory.CreateDirectory(Path.Combine(Ctx, "src/nested"));
        File.WriteAllText(Path.Combine(Ctx, "a.txt"), "a");
        File.WriteAllText(Path.Combine(Ctx, "b.txt"), "b");
        File.WriteAllText(Path.Combine(Ctx, "c.md"), "c");
        File.WriteAllText(Path.Combine(Ctx, "src/nested/deep.txt"), "deep");
        Directory.CreateDirectory(Path.Combine(Rootfs, "etc"));
        File.WriteAllText(Path.Combine(Rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n");
        File.WriteAllText(Path.Combine(Rootfs, "etc/group"), "root:x:0:\nstaff:x:50:\n");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("*.txt", new[] { "a.txt", "b.txt" })]
    [InlineData("[ab].txt", new[] { "a.txt", "b.txt" })]
    [InlineData("[^a].txt", new[] { "b.txt" })]
    [InlineData("?.md", new[] { "c.md" })]
    [InlineData("src/*/deep.txt", new[] { "src/nested/deep.txt" })]
    [InlineData("nomatch*", new string[0])]
    [InlineData("**/*.txt", new[] { "a.txt", "b.txt", "src/nested/deep.txt" })]
    [InlineData("src/**/deep.txt", new[] { "src/nested/deep.txt" })]
    public void Wildcards(string pattern, string[] expected) =>
        Assert.Equal(expected, FileCopier.Expand(Ctx, pattern).Select(s => s.Rel));

    [Fact]
    public void SymlinksResolveInsideTheRoot()
    {
        File.CreateSymbolicLink(Path.Combine(Ctx, "escape"), "/etc/passwd");
        File.CreateSymbolicLink(Path.Combine(Ctx, "up"), "../../../..");
        Assert.Equal(Path.Combine(Ctx, "etc/passwd"), FileCopier.ResolveInScope(Ctx, "escape"));
        Assert.Equal(Ctx, FileCopier.ResolveInScope(Ctx, "up"));
        Assert.Empty(FileCopier.Expand(Ctx, "escape"));
    }

    [Fact]
    public async Task DirectorySourceCopiesItsContents()
    {
        var src = FileCopier.Expand(Ctx, "src").Single();
        await FileCopier.CopyAsync(src, Rootfs, "/app", destIsDir: false, Root, CancellationToken.None);
        Assert.Equal("deep", File.ReadAllText(Path.Combine(Rootfs, "app/nested/deep.txt")));
        Assert.False(Directory.Exists(Path.Combine(Rootfs, "app/src")));
    }

    [Fact]
    public async Task FileToTrailingSlashGoesInsideAndFileToNameRenames()
    {
        var a = FileCopier.Expand(Ctx, "a.txt").Single();
        await FileCopier.CopyAsync(a, Rootfs, "/opt/dir/", destIsDir: true, Root, CancellationToken.None);
        Assert.Equal("a", File.ReadAllText(Path.Combine(Rootfs, "opt/dir/a.txt")));
        await FileCopier.CopyAsync(a, Rootfs, "/opt/renamed", destIsDir: false, Root, CancellationToken.None);
        Assert.Equal("a", File.ReadAllText(Path.Combine(Rootfs, "opt/renamed")));
        // An existing directory as destination receives the file inside.
        await FileCopier.CopyAsync(a, Rootfs, "/opt/dir", destIsDir: false, Root, CancellationToken.None);
        Assert.True(File.Exists(Path.Combine(Rootfs, "opt/dir/a.txt")));
    }

    [Fact]
    public async Task DestinationSymlinkCannotEscapeTheRootfs()
    {
        var outside = Path.Combine(_dir, "outside");
        Directory.CreateDirectory(outside);
        Directory.CreateSymbolicLink(Path.Combine(Rootfs, "evil"), outside);
        var a = FileCopier.Expand(Ctx, "a.txt").Single();
        await FileCopier.CopyAsync(a, Rootfs, "/evil/", destIsDir: true, Root, CancellationToken.None);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        Assert.True(File.Exists(Path.Combine(Rootfs, _dir.TrimStart('/'), "outside/a.txt")));
    }

    [Fact]
    public async Task ChmodAndChownApply()
    {
        var (uid, gid) = FileCopier.ResolveOwner(Rootfs, "app");
        Assert.Equal((1000, 1001), (uid, gid));
        Assert.Equal((1000, 50), FileCopier.ResolveOwner(Rootfs, "app:staff"));
        Assert.Equal((42, 42), FileCopier.ResolveOwner(Rootfs, "42"));
        Assert.Equal((42, 7), FileCopier.ResolveOwner(Rootfs, "42:7"));
        Assert.Throws<Mocker.Engine.Errors.MockerException>(() => FileCopier.ResolveOwner(Rootfs, "nobody"));

        var a = FileCopier.Expand(Ctx, "a.txt").Single();
        await FileCopier.CopyAsync(a, Rootfs, "/x.txt", false, new FileCopier.Attributes(uid, gid, (UnixFileMode)0x1C0), CancellationToken.None);
        var target = Path.Combine(Rootfs, "x.txt");
        Assert.Equal((UnixFileMode)0x1C0, File.GetUnixFileMode(target));
    }
}

using Mocker.Engine.Build;
using Xunit;

namespace Mocker.Engine.Tests.Build;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CacheKeyTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mocker-cachekey-" + Guid.NewGuid().ToString("N"));

    public CacheKeyTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void SameInputsSameKey()
    {
        var a = BuildCache.ComputeKey("sha256:p", ["run", "/bin/sh -c echo"]);
        Assert.Equal(a, BuildCache.ComputeKey("sha256:p", ["run", "/bin/sh -c echo"]));
        Assert.StartsWith("sha256:", a, StringComparison.Ordinal);
        Assert.NotEqual(a, BuildCache.ComputeKey("sha256:q", ["run", "/bin/sh -c echo"]));
        Assert.NotEqual(a, BuildCache.ComputeKey(null, ["run", "/bin/sh -c echo"]));
        // Length-prefixing: moving a boundary changes the key.
        Assert.NotEqual(BuildCache.ComputeKey("p", ["ab", "c"]), BuildCache.ComputeKey("p", ["a", "bc"]));
    }

    [Fact]
    public async Task SourceChecksumFollowsContentModeAndNamesOnly()
    {
        File.WriteAllText(Path.Combine(_dir, "a.txt"), "one");
        Directory.CreateDirectory(Path.Combine(_dir, "dir"));
        File.WriteAllText(Path.Combine(_dir, "dir", "b.txt"), "two");
        File.WriteAllText(Path.Combine(_dir, "other.txt"), "unrelated");

        async Task<string> Sum(string src) => await FileCopier.ChecksumAsync(FileCopier.Expand(_dir, src), CancellationToken.None);

        var a1 = await Sum("a.txt");
        var d1 = await Sum("dir");
        Assert.Equal(a1, await Sum("a.txt"));

        File.WriteAllText(Path.Combine(_dir, "other.txt"), "changed");
        Assert.Equal(a1, await Sum("a.txt"));
        Assert.Equal(d1, await Sum("dir"));

        File.WriteAllText(Path.Combine(_dir, "dir", "b.txt"), "TWO");
        Assert.NotEqual(d1, await Sum("dir"));
        Assert.Equal(a1, await Sum("a.txt"));

        File.SetUnixFileMode(Path.Combine(_dir, "a.txt"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Assert.NotEqual(a1, await Sum("a.txt"));
    }
}

using System.Formats.Tar;
using System.IO.Compression;
using Mocker.Engine.Build;
using Mocker.Engine.Errors;
using Xunit;

namespace Mocker.Engine.Tests.Build;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ContextExtractionTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mocker-ctx-" + Guid.NewGuid().ToString("N"));
    private string Root => Path.Combine(_dir, "root");

    public ContextExtractionTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static MemoryStream Tar(params TarEntry[] entries)
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

    private static PaxTarEntry File(string name, string content, UnixFileMode mode = (UnixFileMode)0x1A4) => new(TarEntryType.RegularFile, name)
    {
        DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content)),
        Mode = mode,
        ModificationTime = new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.Zero),
    };

    private static PaxTarEntry Link(TarEntryType type, string name, string target) => new(type, name) { LinkName = target };

    [Fact]
    public async Task ExtractsPlainTarKeepingModeAndMtime()
    {
        using var tar = Tar(new PaxTarEntry(TarEntryType.Directory, "sub/") { Mode = (UnixFileMode)0x1ED }, File("sub/run.sh", "#!/bin/sh\n", (UnixFileMode)0x1ED), File("Mockerfile", "FROM scratch\n"));
        await SafeTarExtractor.ExtractAsync(tar, Root, preserveOwner: false, CancellationToken.None);
        Assert.Equal("FROM scratch\n", System.IO.File.ReadAllText(Path.Combine(Root, "Mockerfile")));
        Assert.Equal((UnixFileMode)0x1ED, System.IO.File.GetUnixFileMode(Path.Combine(Root, "sub/run.sh")));
        Assert.Equal(new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc), System.IO.File.GetLastWriteTimeUtc(Path.Combine(Root, "sub/run.sh")));
    }

    [Fact]
    public async Task DetectsGzip()
    {
        using var tar = Tar(File("a.txt", "zipped"));
        var gz = new MemoryStream();
        await using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            await tar.CopyToAsync(z);
        }
        gz.Position = 0;
        await SafeTarExtractor.ExtractAsync(gz, Root, preserveOwner: false, CancellationToken.None);
        Assert.Equal("zipped", System.IO.File.ReadAllText(Path.Combine(Root, "a.txt")));
    }

    [Fact]
    public async Task DotDotEscapeIsRejected()
    {
        using var tar = Tar(File("../escape.txt", "x"));
        var e = await Assert.ThrowsAsync<MockerException>(() => SafeTarExtractor.ExtractAsync(tar, Root, false, CancellationToken.None));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("../escape.txt", e.Message, StringComparison.Ordinal);
        Assert.False(Path.Exists(Path.Combine(_dir, "escape.txt")));
    }

    [Fact]
    public async Task AbsoluteNamesAreConfined()
    {
        using var tar = Tar(File("/abs/file.txt", "in"));
        await SafeTarExtractor.ExtractAsync(tar, Root, false, CancellationToken.None);
        Assert.Equal("in", System.IO.File.ReadAllText(Path.Combine(Root, "abs/file.txt")));
    }

    [Fact]
    public async Task WritingThroughASymlinkIsRejected()
    {
        var outside = Path.Combine(_dir, "outside");
        Directory.CreateDirectory(outside);
        using var tar = Tar(Link(TarEntryType.SymbolicLink, "link", outside), File("link/pwned.txt", "x"));
        var e = await Assert.ThrowsAsync<MockerException>(() => SafeTarExtractor.ExtractAsync(tar, Root, false, CancellationToken.None));
        Assert.Contains("is a symlink", e.Message, StringComparison.Ordinal);
        Assert.False(Path.Exists(Path.Combine(outside, "pwned.txt")));
    }

    [Fact]
    public async Task FileOverExistingSymlinkReplacesTheLinkNotItsTarget()
    {
        var victim = Path.Combine(_dir, "victim.txt");
        System.IO.File.WriteAllText(victim, "safe");
        using var tar = Tar(Link(TarEntryType.SymbolicLink, "f", victim), File("f", "overwritten"));
        await SafeTarExtractor.ExtractAsync(tar, Root, false, CancellationToken.None);
        Assert.Equal("safe", System.IO.File.ReadAllText(victim));
        Assert.Null(new FileInfo(Path.Combine(Root, "f")).LinkTarget);
        Assert.Equal("overwritten", System.IO.File.ReadAllText(Path.Combine(Root, "f")));
    }

    [Fact]
    public async Task HardLinkOutsideIsRejected()
    {
        using var tar = Tar(Link(TarEntryType.HardLink, "h", "../../etc/passwd"));
        var e = await Assert.ThrowsAsync<MockerException>(() => SafeTarExtractor.ExtractAsync(tar, Root, false, CancellationToken.None));
        Assert.Contains("outside the extraction root", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HardLinkThroughSymlinkIsRejected()
    {
        using var tar = Tar(Link(TarEntryType.SymbolicLink, "etc", "/etc"), Link(TarEntryType.HardLink, "h", "etc/passwd"));
        await Assert.ThrowsAsync<MockerException>(() => SafeTarExtractor.ExtractAsync(tar, Root, false, CancellationToken.None));
        Assert.False(Path.Exists(Path.Combine(Root, "h")));
    }

    [Theory]
    [InlineData("a/../b", "b")]
    [InlineData("./x/./y/", "x/y")]
    [InlineData("/abs", "abs")]
    [InlineData("..", null)]
    [InlineData("a/../../b", null)]
    public void CleanRelative(string name, string? expected) => Assert.Equal(expected, SafeTarExtractor.CleanRelative(name));
}

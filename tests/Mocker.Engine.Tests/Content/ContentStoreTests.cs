using System.Text;
using Mocker.Engine.Content;
using Mocker.Engine.Errors;
using Mocker.Engine.Images;
using Mocker.Engine.Tests.Snapshots;
using Xunit;

namespace Mocker.Engine.Tests.Content;

public sealed class ContentStoreTests
{
    [Fact]
    public void DigestParsing()
    {
        var hex = new string('a', 64);
        Assert.Equal(hex, Digest.Parse("sha256:" + hex).Hex);
        Assert.False(Digest.TryParse("sha256:" + new string('A', 64), out _));
        Assert.False(Digest.TryParse("sha512:" + hex, out _));
        Assert.False(Digest.TryParse(hex, out _));
        Assert.False(Digest.TryParse("sha256:abc", out _));
        Assert.Equal(ErrorKind.InvalidArgument, Assert.Throws<MockerException>(() => Digest.Parse("x")).Kind);
    }

    [Fact]
    public async Task WritesVerifiesAndDeletes()
    {
        using var root = new StorageTestRoot();
        var data = Encoding.UTF8.GetBytes("hello blob");
        var expected = Digest.Compute(data);
        var desc = await root.Content.WriteAsync(new MemoryStream(data), MediaTypes.OciLayer, expected, default);
        Assert.Equal(expected, desc.Digest);
        Assert.Equal(data.Length, desc.Size);
        Assert.True(root.Content.Exists(expected));
        Assert.Equal(data.Length, root.Content.SizeOf(expected));
        using (var s = root.Content.OpenRead(expected))
        {
            Assert.Equal(expected, await Digest.ComputeAsync(s, default));
        }
        Assert.Contains(expected, root.Content.List());
        var again = await root.Content.WriteAsync(data, MediaTypes.OciConfig, default);
        Assert.Equal(expected, again.Digest);
        await root.Content.DeleteAsync(expected, default);
        Assert.False(root.Content.Exists(expected));
        Assert.Null(root.Content.SizeOf(expected));
        Assert.Equal(ErrorKind.NotFound, Assert.Throws<MockerException>(() => root.Content.OpenRead(expected)).Kind);
    }

    [Fact]
    public async Task WrongDigestCommitsNothing()
    {
        using var root = new StorageTestRoot();
        var data = Encoding.UTF8.GetBytes("payload");
        var wrong = Digest.Compute("other"u8);
        var e = await Assert.ThrowsAsync<MockerException>(() => root.Content.WriteAsync(new MemoryStream(data), MediaTypes.OciLayer, wrong, default));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Contains(wrong.ToString(), e.Message);
        Assert.Contains(Digest.Compute(data).ToString(), e.Message);
        Assert.Empty(root.Content.List());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(root.Options.ContentRoot, "ingest")));
    }

    [Fact]
    public async Task CleanupRemovesIngestLeftovers()
    {
        using var root = new StorageTestRoot();
        var ingest = Path.Combine(root.Options.ContentRoot, "ingest");
        await File.WriteAllTextAsync(Path.Combine(ingest, "leftover"), "partial");
        await root.Content.CleanupIngestsAsync(default);
        Assert.Empty(Directory.EnumerateFileSystemEntries(ingest));
    }
}

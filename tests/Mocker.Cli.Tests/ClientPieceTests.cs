using System.Formats.Tar;
using System.Text;
using Mocker.Client;
using Xunit;

namespace Mocker.Cli.Tests;

public class ClientPieceTests
{
    [Fact]
    public async Task StdCopyDemultiplexesFrames()
    {
        var data = new MemoryStream();
        data.Write(StdCopy.Frame(StdStream.Stdout, "hi\n"u8));
        data.Write(StdCopy.Frame(StdStream.Stderr, "oops\n"u8));
        data.Write(StdCopy.Frame(StdStream.Stdout, "bye\n"u8));
        data.Position = 0;
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        await StdCopy.CopyAsync(data, stdout, stderr, tty: false);
        Assert.Equal("hi\nbye\n", Encoding.UTF8.GetString(stdout.ToArray()));
        Assert.Equal("oops\n", Encoding.UTF8.GetString(stderr.ToArray()));
    }

    [Fact]
    public async Task StdCopyPassesTtyBytesThrough()
    {
        var stdout = new MemoryStream();
        await StdCopy.CopyAsync(new MemoryStream("\u0001raw"u8.ToArray()), stdout, new MemoryStream(), tty: true);
        Assert.Equal("\u0001raw", Encoding.UTF8.GetString(stdout.ToArray()));
    }

    [Fact]
    public async Task StdCopyRejectsTruncatedFrame()
    {
        var frame = StdCopy.Frame(StdStream.Stdout, "hello"u8);
        await Assert.ThrowsAsync<InvalidDataException>(() =>
            StdCopy.CopyAsync(new MemoryStream(frame[..^2]), new MemoryStream(), new MemoryStream(), tty: false));
    }

    [Theory]
    [InlineData("*.txt", "a.txt", true)]
    [InlineData("*.txt", "dir/a.txt", false)]
    [InlineData("**/*.txt", "dir/sub/a.txt", true)]
    [InlineData("**/*.txt", "a.txt", true)]
    [InlineData("dir", "dir/sub/a.txt", true)]
    [InlineData("/dir/", "dir/x", true)]
    [InlineData("a?c", "abc", true)]
    [InlineData("a?c", "a/c", false)]
    [InlineData("[a-c]x", "bx", true)]
    [InlineData("node_modules", "node_modulesx", false)]
    [InlineData("./secret", "secret", true)]
    public void IgnoreSinglePattern(string pattern, string path, bool excluded) =>
        Assert.Equal(excluded, new IgnorePatterns([pattern]).IsExcluded(path));

    [Fact]
    public void IgnoreLastMatchWinsWithExceptions()
    {
        var p = new IgnorePatterns(["# comment", "", "*.md", "!README.md", "README-secret.md", "logs", "!logs/keep.log"]);
        Assert.True(p.IsExcluded("CHANGES.md"));
        Assert.False(p.IsExcluded("README.md"));
        Assert.True(p.IsExcluded("README-secret.md"));
        Assert.True(p.IsExcluded("logs/a.log"));
        Assert.False(p.IsExcluded("logs/keep.log"));
        Assert.False(p.IsExcluded("src/main.c"));
        Assert.True(p.HasExclusions);
    }

    [Fact]
    public async Task BuildContextAppliesIgnoreAndKeepsBuildFiles()
    {
        var dir = Directory.CreateTempSubdirectory("mocker-ctx-test-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "Dockerfile"), "FROM bb\n");
            File.WriteAllText(Path.Combine(dir.FullName, ".dockerignore"), "ignored.txt\n.dockerignore\nDockerfile\nsub/*.log\n");
            File.WriteAllText(Path.Combine(dir.FullName, "ignored.txt"), "x");
            File.WriteAllText(Path.Combine(dir.FullName, "hello.txt"), "hello");
            Directory.CreateDirectory(Path.Combine(dir.FullName, "sub"));
            File.WriteAllText(Path.Combine(dir.FullName, "sub", "a.log"), "log");
            File.WriteAllText(Path.Combine(dir.FullName, "sub", "b.txt"), "b");
            var content = new BuildContext(dir.FullName, "Dockerfile", null);
            var tar = new MemoryStream();
            await content.WriteTarAsync(tar, CancellationToken.None);
            tar.Position = 0;
            var names = new List<string>();
            using var reader = new TarReader(tar);
            while (await reader.GetNextEntryAsync() is { } e)
            {
                names.Add(e.Name);
                Assert.Equal(0, e.Uid);
            }
            Assert.Equal([".dockerignore", "Dockerfile", "hello.txt", "sub/", "sub/b.txt"], names);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData(null, "unix:///run/mocker/mocker.sock")]
    [InlineData("unix:///tmp/m.sock", "unix:///tmp/m.sock")]
    [InlineData("/tmp/m.sock", "unix:///tmp/m.sock")]
    public void EndpointResolvesUnixSockets(string? host, string expected)
    {
        if (host is null && (Environment.GetEnvironmentVariable("MOCKER_HOST") ?? Environment.GetEnvironmentVariable("DOCKER_HOST")) is not null) return;
        var ep = MockerEndpoint.Resolve(host);
        Assert.Equal(expected, ep.Original);
        Assert.Equal(expected["unix://".Length..], ep.SocketPath);
    }

    [Fact]
    public void EndpointResolvesTcp()
    {
        var ep = MockerEndpoint.Resolve("tcp://10.0.0.1:2375");
        Assert.Null(ep.SocketPath);
        Assert.Equal("10.0.0.1", ep.TcpHost);
        Assert.Equal(2375, ep.TcpPort);
        Assert.Throws<ArgumentException>(() => MockerEndpoint.Resolve("ftp://x"));
    }

    [Fact]
    public void VersionsCompareNumerically()
    {
        Assert.True(MockerClient.CompareVersions("1.9", "1.41") < 0);
        Assert.True(MockerClient.CompareVersions("1.50", "1.41") > 0);
        Assert.Equal(0, MockerClient.CompareVersions("1.41", "1.41"));
    }
}

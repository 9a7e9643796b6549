using Mocker.Api;
using Mocker.Cli;
using Xunit;

namespace Mocker.Cli.Tests;

public class FormattingTests
{
    [Theory]
    [InlineData(0, "0B")]
    [InlineData(999, "999B")]
    [InlineData(1000, "1kB")]
    [InlineData(4_261_000, "4.26MB")]
    [InlineData(4_265_000, "4.26MB")]
    [InlineData(1_234_567_890, "1.23GB")]
    [InlineData(12_345, "12.3kB")]
    public void HumanSizeIsSi(long bytes, string expected) => Assert.Equal(expected, Units.HumanSize(bytes));

    [Theory]
    [InlineData(0.5, "Less than a second")]
    [InlineData(1, "1 second")]
    [InlineData(5, "5 seconds")]
    [InlineData(60, "About a minute")]
    [InlineData(150, "2 minutes")]
    [InlineData(3600, "About an hour")]
    [InlineData(3 * 3600, "3 hours")]
    [InlineData(3 * 86400, "3 days")]
    [InlineData(20 * 86400, "2 weeks")]
    public void HumanDuration(double seconds, string expected) => Assert.Equal(expected, Units.HumanDuration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void EllipsisCutsToWidth()
    {
        Assert.Equal("sh -c 'while true; …", Units.Ellipsis("sh -c 'while true; do sleep 1; done'", 20));
        Assert.Equal("echo hi", Units.Ellipsis("echo hi", 20));
        Assert.Equal(20, Units.Ellipsis(new string('x', 30), 20).Length);
    }

    [Fact]
    public void ShortIdStripsAlgorithm()
    {
        Assert.Equal("0123456789ab", Units.ShortId("sha256:0123456789abcdef"));
        Assert.Equal("0123456789ab", Units.ShortId("0123456789abcdef0000"));
    }

    [Theory]
    [InlineData("512m", 512L << 20)]
    [InlineData("1g", 1L << 30)]
    [InlineData("100", 100)]
    [InlineData("64k", 64L << 10)]
    public void RamInBytes(string text, long expected) => Assert.Equal(expected, Units.RamInBytes(text));

    [Fact]
    public void TabWriterPadsLikeDocker()
    {
        var text = TabWriter.Format(["CONTAINER ID\tIMAGE\tNAMES", "abc\tbusybox\tweb"]);
        Assert.Equal("CONTAINER ID   IMAGE     NAMES\nabc            busybox   web\n", text);
    }

    [Fact]
    public void PsRowQuotesAndTruncatesCommand()
    {
        var row = ContainerCommands.PsRow(new ContainerSummary
        {
            Id = "0123456789abcdef0123",
            Names = ["/web"],
            Image = "bb",
            Command = "sh -c 'while true; do sleep 1; done'",
            Created = DateTimeOffset.UtcNow.AddSeconds(-5).ToUnixTimeSeconds(),
            Status = "Up 4 seconds",
            State = "running",
            Ports = [new PortSummary { IP = "0.0.0.0", PrivatePort = 80, PublicPort = 8080 }, new PortSummary { PrivatePort = 443 }],
        }, trunc: true);
        Assert.Equal("0123456789ab", row["ID"]);
        Assert.Equal("\"sh -c 'while true; …\"", row["Command"]);
        Assert.Equal("\"a\\\"b\\\\\\n\"", Units.GoQuote("a\"b\\\n"));
        Assert.Equal("web", row["Names"]);
        Assert.Equal("5 seconds ago", row["RunningFor"]);
        Assert.Equal("0.0.0.0:8080->80/tcp, 443/tcp", row["Ports"]);
    }

    [Fact]
    public void TagSplitAndNormalize()
    {
        Assert.Equal(("bb", "t1"), ImageCommands.SplitTag("bb:t1"));
        Assert.Equal(("localhost:5000/a", "<none>"), ImageCommands.SplitTag("localhost:5000/a"));
        Assert.Equal("docker.io/library/bb", ImageCommands.NormalizeRepository("bb"));
        Assert.Equal("docker.io/me/bb", ImageCommands.NormalizeRepository("me/bb"));
        Assert.Equal("127.0.0.1:5000/x/bb", ImageCommands.NormalizeRepository("127.0.0.1:5000/x/bb"));
    }

    [Fact]
    public void TimeArgsParseDurationsTimestampsAndDates()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        Assert.Equal("1799999400.000000000", TimeArgs.ToApiTimestamp("10m", now));
        Assert.Equal("1799994600.000000000", TimeArgs.ToApiTimestamp("1h30m", now));
        Assert.Equal("1600000000", TimeArgs.ToApiTimestamp("1600000000", now));
        Assert.Equal("1600000000.500000000", TimeArgs.ToApiTimestamp("1600000000.5", now));
        Assert.Equal("1704067200.000000000", TimeArgs.ToApiTimestamp("2024-01-01T00:00:00Z", now));
        Assert.Throws<FormatException>(() => TimeArgs.ToApiTimestamp("yesterday", now));
    }
}

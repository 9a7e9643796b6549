using System.Buffers;
using System.Text;
using Mocker.Daemon.Api;
using Mocker.Daemon.Http;
using Mocker.Engine.Containers;
using Xunit;

namespace Mocker.Daemon.Tests;

public class ParsingTests
{
    [Fact]
    public void HeadParserAcceptsBareLfHeaders()
    {
        var raw = "POST /containers/create?name=x HTTP/1.1\r\nUser-Agent: Docker.DotNet\nHost: proxy.sock:80\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"u8.ToArray();
        var end = RequestHead.FindEnd(new ReadOnlySequence<byte>(raw));
        Assert.Equal(raw.Length - "5\r\nhello\r\n0\r\n\r\n".Length, end);
        var head = RequestHead.Parse(raw.AsSpan(0, (int)end));
        Assert.Equal("POST", head.Method);
        Assert.Equal("/containers/create", head.Path);
        Assert.Equal("?name=x", head.Query);
        Assert.Equal("proxy.sock:80", head.Get("host"));
        Assert.True(head.IsChunked);
    }

    [Fact]
    public void HeadEndNotFoundWhenIncomplete() =>
        Assert.Equal(-1, RequestHead.FindEnd(new ReadOnlySequence<byte>("GET / HTTP/1.1\r\nHost: x\r\n"u8.ToArray())));

    [Fact]
    public void ChunkedDecoderFindsBodyEndByteByByte()
    {
        var wire = "4;ext=1\r\nWiki\r\n5\npedia\n0\r\nTrailer: x\r\n\r\nNEXT"u8.ToArray();
        var decoder = new ChunkedDecoder();
        var payload = new ArrayBufferWriter<byte>();
        var consumed = 0;
        foreach (var b in wire)
        {
            if (decoder.IsDone)
            {
                break;
            }
            consumed += decoder.Decode([b], payload);
        }
        Assert.True(decoder.IsDone);
        Assert.Equal(wire.Length - 4, consumed);
        Assert.Equal("Wikipedia", Encoding.ASCII.GetString(payload.WrittenSpan));
    }

    [Fact]
    public void ChunkedDecoderRejectsGarbage() =>
        Assert.Throws<FormatException>(() => new ChunkedDecoder().Decode("zz\r\n"u8, null));

    [Fact]
    public void StdCopyFrameMatchesDocker()
    {
        var w = new ArrayBufferWriter<byte>();
        StdCopy.WriteFrame(w, StdStream.Stdout, "hi\n"u8);
        Assert.Equal(new byte[] { 1, 0, 0, 0, 0, 0, 0, 3, (byte)'h', (byte)'i', (byte)'\n' }, w.WrittenSpan.ToArray());
        var raw = new ArrayBufferWriter<byte>();
        StdCopy.WriteOutput(raw, tty: true, StdStream.Stderr, "x"u8);
        Assert.Equal("x"u8.ToArray(), raw.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("0", false)]
    [InlineData("no", false)]
    [InlineData("False", false)]
    [InlineData("NONE", false)]
    [InlineData("1", true)]
    [InlineData("True", true)]
    [InlineData("yes", true)]
    public void QueryBooleansFollowMoby(string value, bool expected) => Assert.Equal(expected, Query.IsTrue(value));

    [Fact]
    public void FiltersAcceptMapAndListForms()
    {
        var map = Query.ParseFilters("""{"label":{"a=1":true},"status":{"running":true}}""");
        var list = Query.ParseFilters("""{"label": ["a=1"], "status": ["running"]}""");
        Assert.Equal(["a=1"], map["label"]);
        Assert.Equal(map["status"], list["status"]);
        Assert.Equal(map["label"], list["label"]);
    }

    [Fact]
    public void VersionPrefixIsStripped()
    {
        Assert.Equal("/containers/json", ApiVersionPrefix.Strip("/v1.41/containers/json", out var v));
        Assert.Equal(new Version(1, 41), v);
        Assert.Equal("/version", ApiVersionPrefix.Strip("/version", out var none));
        Assert.Null(none);
        Assert.NotNull(ApiVersionPrefix.Check(new Version(1, 50)));
        Assert.Null(ApiVersionPrefix.Check(new Version(1, 24)));
    }

    [Fact]
    public void TimestampIsRfc3339NanoFixed()
    {
        var buf = new byte[40];
        var n = ContainerRoutes.FormatTimestamp(new DateTimeOffset(2026, 11, 22, 3, 35, 41, TimeSpan.Zero).AddTicks(116779), buf);
        Assert.Equal("2026-11-22T03:35:41.011677900Z ", Encoding.ASCII.GetString(buf, 0, n));
    }
}

using System.Formats.Tar;
using System.Net.Sockets;
using System.Text;
using Mocker.Client;
using Xunit;

namespace Mocker.Cli.Tests;

/// <summary>
/// The client's HTTP/1.1 transport against a socket peer: keep-alive reuse, a chunked request body (build context),
/// a chunked <c>\r\n</c>-separated JSON message stream, and the <c>Api-Version</c> negotiation (§5.1, §5.6).
/// </summary>
public sealed class TransportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mocker-transport-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task BuildStreamsChunkedTarAndReadsMessagesOnOneConnection()
    {
        var ctx = Directory.CreateDirectory(Path.Combine(_dir, "ctx")).FullName;
        File.WriteAllText(Path.Combine(ctx, "Dockerfile"), "FROM bb\n");
        File.WriteAllText(Path.Combine(ctx, "big.bin"), new string('x', 200_000));
        var path = Path.Combine(_dir, "d.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        string? buildHead = null;
        var entries = new List<(string Name, long Length)>();
        var server = Task.Run(async () =>
        {
            using var s = await listener.AcceptAsync();
            await using var ns = new NetworkStream(s);
            var reader = new Reader(ns);
            Assert.StartsWith("HEAD /_ping ", await reader.HeadAsync(), StringComparison.Ordinal);
            await ns.WriteAsync("HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Length: 0\r\n\r\n"u8.ToArray());
            buildHead = await reader.HeadAsync();
            var body = await reader.ChunkedAsync();
            using (var tar = new TarReader(new MemoryStream(body)))
                while (tar.GetNextEntry() is { } e) entries.Add((e.Name, e.Length));
            var stream = "{\"stream\":\"Step 1/1 : FROM bb\\n\"}\r\n{\"aux\":{\"ID\":\"sha256:abc\"}}\r\n"u8.ToArray();
            await ns.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{stream.Length:x}\r\n")
                .Concat(stream).Concat("\r\n0\r\n\r\n"u8.ToArray()).ToArray());
            Assert.StartsWith("POST /v1.41/images/bb/tag?repo=r&tag=t ", await reader.HeadAsync(), StringComparison.Ordinal);
            await ns.WriteAsync("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"u8.ToArray());
        });

        using var client = new MockerClient("unix://" + path);
        var messages = new List<Mocker.Api.JsonMessage>();
        await foreach (var m in client.Images.BuildAsync(ctx, new BuildOptions { Tags = ["a:1", "b:2"], BuildArgs = new Dictionary<string, string> { ["X"] = "1" } }))
            messages.Add(m);
        await client.Images.TagAsync("bb", "r", "t");
        await server;

        Assert.Equal("1.41", await client.GetApiVersionAsync());
        Assert.StartsWith("POST /v1.41/build?buildargs=%7B%22X%22%3A%221%22%7D&dockerfile=Dockerfile&t=a%3A1&t=b%3A2&version=1 HTTP/1.1", buildHead, StringComparison.Ordinal);
        Assert.Contains("Transfer-Encoding: chunked", buildHead, StringComparison.Ordinal);
        Assert.Contains("X-Registry-Config: e30=", buildHead, StringComparison.Ordinal);
        Assert.Equal([("Dockerfile", 8L), ("big.bin", 200_000L)], entries);
        Assert.Equal("Step 1/1 : FROM bb\n", messages[0].stream);
        Assert.Equal("sha256:abc", messages[1].aux?.ID);
    }

    /// <summary>Byte-exact reader for the test peer: request heads and chunked bodies.</summary>
    private sealed class Reader(Stream s)
    {
        public async Task<string> HeadAsync()
        {
            var sb = new StringBuilder();
            var one = new byte[1];
            while (!sb.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                if (await s.ReadAsync(one) == 0) throw new IOException("EOF in head");
                sb.Append((char)one[0]);
            }
            return sb.ToString();
        }

        public async Task<byte[]> ChunkedAsync()
        {
            var body = new MemoryStream();
            while (true)
            {
                var line = await LineAsync();
                var size = Convert.ToInt32(line, 16);
                var chunk = new byte[size + 2];
                await s.ReadExactlyAsync(chunk);
                if (size == 0) return body.ToArray();
                body.Write(chunk, 0, size);
            }
        }

        private async Task<string> LineAsync()
        {
            var sb = new StringBuilder();
            var one = new byte[1];
            while (!sb.ToString().EndsWith("\r\n", StringComparison.Ordinal))
            {
                await s.ReadExactlyAsync(one);
                sb.Append((char)one[0]);
            }
            return sb.ToString().TrimEnd();
        }
    }
}

using System.Net.Sockets;
using System.Text;
using Mocker.Client;
using Xunit;

namespace Mocker.Cli.Tests;

/// <summary>
/// The client's hand-written upgrade against a socket peer that answers byte for byte what dockerd sends
/// (engine-api-trace.md §1.4, §5.4): 101, raw stdin in, stdcopy frames out, half-close at stdin EOF.
/// </summary>
public sealed class HijackTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mocker-hijack-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task AttachSendsUpgradeAndStreamsBothWays()
    {
        var path = Path.Combine(_dir, "d.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        var requests = new List<string>();
        var server = Task.Run(async () =>
        {
            // Connection 1: HEAD /_ping from the version negotiation.
            using (var ping = await listener.AcceptAsync())
            {
                requests.Add(await ReadHeadAsync(ping));
                await ping.SendAsync("HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 0\r\n\r\n"u8.ToArray());
                // Connection 2: the hijacked attach.
                using var attach = await listener.AcceptAsync();
                requests.Add(await ReadHeadAsync(attach));
                await attach.SendAsync("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"u8.ToArray()
                    .Concat(StdCopy.Frame(StdStream.Stderr, "ready\n"u8)).ToArray());
                var stdin = new MemoryStream();
                var buffer = new byte[1024];
                int n;
                while ((n = await attach.ReceiveAsync(buffer)) > 0) stdin.Write(buffer, 0, n);
                await attach.SendAsync(StdCopy.Frame(StdStream.Stdout, stdin.ToArray()));
                attach.Shutdown(SocketShutdown.Both);
            }
        });

        using var client = new MockerClient("unix://" + path);
        await using var stream = await client.Containers.AttachAsync("c1", new ContainerAttachOptions { Stdin = true });
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        await stream.CopyStdinAsync(new MemoryStream("from-stdin\n"u8.ToArray()));
        await stream.CopyOutputAsync(stdout, stderr, tty: false);
        await server;

        Assert.StartsWith("HEAD /_ping HTTP/1.1", requests[0], StringComparison.Ordinal);
        Assert.StartsWith("POST /v1.41/containers/c1/attach?stderr=1&stdin=1&stdout=1&stream=1 HTTP/1.1\r\n", requests[1], StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: Upgrade\r\n", requests[1], StringComparison.Ordinal);
        Assert.Contains("\r\nUpgrade: tcp\r\n", requests[1], StringComparison.Ordinal);
        Assert.Equal("from-stdin\n", Encoding.UTF8.GetString(stdout.ToArray()));
        Assert.Equal("ready\n", Encoding.UTF8.GetString(stderr.ToArray()));
    }

    [Fact]
    public async Task ErrorStatusBecomesTypedException()
    {
        var path = Path.Combine(_dir, "e.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        var server = Task.Run(async () =>
        {
            using var ping = await listener.AcceptAsync();
            await ReadHeadAsync(ping);
            await ping.SendAsync("HTTP/1.1 200 OK\r\nApi-Version: 1.50\r\nContent-Length: 0\r\n\r\n"u8.ToArray());
            using var exec = await listener.AcceptAsync();
            var head = await ReadHeadAsync(exec);
            Assert.StartsWith("POST /v1.41/exec/nosuch/start HTTP/1.1", head, StringComparison.Ordinal);
            Assert.EndsWith("{\"Detach\":false,\"Tty\":true}", head, StringComparison.Ordinal);
            var body = "{\"message\":\"no such exec\"}\n"u8.ToArray();
            await exec.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n").Concat(body).ToArray());
        });
        using var client = new MockerClient("unix://" + path);
        var e = await Assert.ThrowsAsync<MockerNotFoundException>(() => client.Exec.StartAsync("nosuch", tty: true));
        Assert.Equal("no such exec", e.Message);
        await server;
    }

    [Fact]
    public async Task UnreachableDaemonIsAConnectionError()
    {
        using var client = new MockerClient("unix://" + Path.Combine(_dir, "missing.sock"));
        var e = await Assert.ThrowsAsync<MockerConnectionException>(() => client.System.VersionAsync());
        Assert.Equal($"Cannot connect to the Mocker daemon at unix://{_dir}/missing.sock. Is the mocker daemon running?", e.Message);
    }

    /// <summary>Reads a request head plus a Content-Length body (exact bytes, no read-ahead beyond it).</summary>
    private static async Task<string> ReadHeadAsync(Socket s)
    {
        var sb = new StringBuilder();
        var one = new byte[1];
        while (!sb.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await s.ReceiveAsync(one) == 0) break;
            sb.Append((char)one[0]);
        }
        var head = sb.ToString();
        var cl = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        if (cl is not null && int.Parse(cl["Content-Length:".Length..].Trim()) is var len and > 0)
        {
            var body = new byte[len];
            var got = 0;
            while (got < len) got += await s.ReceiveAsync(body.AsMemory(got));
            head += Encoding.UTF8.GetString(body);
        }
        return head;
    }
}

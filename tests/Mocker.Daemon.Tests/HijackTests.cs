using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mocker.Daemon.Http;
using Mocker.Engine.Containers;
using Mocker.Engine.Errors;
using Xunit;

namespace Mocker.Daemon.Tests;

/// <summary>Drives Kestrel + <see cref="DockerConnectionMiddleware"/> on a real UNIX socket, byte for byte as the clients do.</summary>
public sealed class HijackTests : IAsyncLifetime
{
    private readonly string _socket = Path.Combine(Path.GetTempPath(), $"mocker-daemon-test-{Guid.NewGuid():N}.sock");
    private WebApplication? _app;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(_socket,
            lo => lo.Use(next => new DockerConnectionMiddleware(next, new TestTarget(), NullLogger.Instance).OnConnectionAsync)));
        _app = builder.Build();
        _app.MapGet("/_ping", (HttpContext ctx) =>
        {
            ctx.Response.ContentLength = 2;
            return ctx.Response.WriteAsync("OK");
        });
        _app.MapPost("/echo", async (HttpContext ctx) =>
        {
            using var ms = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(ms);
            ctx.Response.ContentLength = ms.Length;
            await ctx.Response.Body.WriteAsync(ms.ToArray());
        });
        await _app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _app!.StopAsync();
        await _app.DisposeAsync();
        File.Delete(_socket);
    }

    [Fact]
    public async Task CliExecStartWithBodyGets101ThenStdinEchoAfterHalfClose()
    {
        using var s = await ConnectAsync();
        var body = "{\"Detach\":false,\"Tty\":false}\n";
        Assert.Equal(29, body.Length);
        await SendAsync(s, "POST /v1.41/exec/e1/start HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: Docker-Client/28.2.2 (linux)\r\n" +
            "Content-Length: 29\r\nConnection: Upgrade\r\nContent-Type: application/json\r\nUpgrade: tcp\r\n\r\n" + body);
        var head = await ReadHeadAsync(s);
        Assert.Equal("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", head);
        await SendAsync(s, "from-stdin\n");
        s.Shutdown(SocketShutdown.Send);
        var rest = await ReadToEndAsync(s);
        Assert.Equal([.. Frame(1, "from-stdin\n"), .. Frame(2, "bye\n")], rest);
    }

    [Fact]
    public async Task DockerodeAttachWithoutUpgradeAfterKeepAliveRequest()
    {
        using var s = await ConnectAsync();
        await SendAsync(s, "GET /_ping HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n");
        var ping = await ReadHeadAsync(s);
        Assert.StartsWith("HTTP/1.1 200 OK", ping);
        // Body "OK" (Content-Length: 2) follows the head.
        var ok = new byte[2];
        await ReadExactlyAsync(s, ok);
        Assert.Equal("OK"u8.ToArray(), ok);

        await SendAsync(s, "POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK", await ReadHeadAsync(s));
        var abc = new byte[3];
        await ReadExactlyAsync(s, abc);
        Assert.Equal("abc"u8.ToArray(), abc);

        var json = "{\"stream\":true,\"stdout\":true,\"stderr\":true}";
        await SendAsync(s, $"POST /containers/c1/attach?stream=true&stdout=true&stderr=true HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {json.Length}\r\n\r\n{json}");
        var all = await ReadToEndAsync(s);
        var expectedHead = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"u8.ToArray();
        Assert.Equal([.. expectedHead, .. Frame(1, "out\n")], all);
    }

    [Fact]
    public async Task UnknownExecIsA404JsonResponse()
    {
        using var s = await ConnectAsync();
        await SendAsync(s, "POST /exec/missing/start HTTP/1.1\r\nHost: x\r\nUpgrade: tcp\r\nConnection: Upgrade\r\nContent-Length: 2\r\n\r\n{}");
        var text = Encoding.ASCII.GetString(await ReadToEndAsync(s));
        Assert.StartsWith("HTTP/1.1 404 Not Found\r\n", text);
        Assert.Contains("Content-Length: 27\r\n", text);
        Assert.EndsWith("{\"message\":\"no such exec\"}\n", text);
    }

    private static byte[] Frame(byte stream, string text)
    {
        var payload = Encoding.ASCII.GetBytes(text);
        return [stream, 0, 0, 0, 0, 0, 0, (byte)payload.Length, .. payload];
    }

    private async Task<Socket> ConnectAsync()
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(_socket));
        return s;
    }

    private static async Task SendAsync(Socket s, string text) => await s.SendAsync(Encoding.ASCII.GetBytes(text));

    private static async Task<string> ReadHeadAsync(Socket s)
    {
        var sb = new StringBuilder();
        var one = new byte[1];
        while (!sb.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            Assert.Equal(1, await s.ReceiveAsync(one, cts.Token));
            sb.Append((char)one[0]);
        }
        return sb.ToString();
    }

    private static async Task ReadExactlyAsync(Socket s, byte[] buffer)
    {
        var got = 0;
        while (got < buffer.Length)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var n = await s.ReceiveAsync(buffer.AsMemory(got), cts.Token);
            Assert.True(n > 0);
            got += n;
        }
    }

    private static async Task<byte[]> ReadToEndAsync(Socket s)
    {
        using var ms = new MemoryStream();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int n;
        while ((n = await s.ReceiveAsync(buffer, cts.Token)) > 0)
        {
            ms.Write(buffer, 0, n);
        }
        return ms.ToArray();
    }

    /// <summary>Test input standing in for the engine: exec echoes stdin at EOF, attach prints "out\n".</summary>
    private sealed class TestTarget : IHijackTarget
    {
        public Task<IStdioSession> OpenAsync(HijackRequest request, CancellationToken ct)
        {
            if (request.Id == "missing")
            {
                throw new MockerException(ErrorKind.NotFound, "no such exec");
            }
            var session = new TestSession();
            if (!request.IsExec)
            {
                session.Emit(StdStream.Stdout, "out\n");
                session.Finish();
            }
            return Task.FromResult<IStdioSession>(session);
        }
    }

    private sealed class TestSession : IStdioSession
    {
        private readonly Channel<OutputChunk> _output = Channel.CreateUnbounded<OutputChunk>();
        private readonly MemoryStream _stdin = new();

        public bool Tty => false;
        public ChannelReader<OutputChunk> Output => _output.Reader;

        public void Emit(StdStream stream, string text) => _output.Writer.TryWrite(new OutputChunk(stream, Encoding.ASCII.GetBytes(text)));
        public void Finish() => _output.Writer.TryComplete();

        public ValueTask WriteStdinAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
        {
            _stdin.Write(data.Span);
            return ValueTask.CompletedTask;
        }

        public ValueTask CloseStdinAsync(CancellationToken ct)
        {
            _output.Writer.TryWrite(new OutputChunk(StdStream.Stdout, _stdin.ToArray()));
            Emit(StdStream.Stderr, "bye\n");
            Finish();
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

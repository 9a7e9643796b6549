using System.Net;
using System.Text;
using System.Text.Json;
using Mocker.Integration.Tests.Infrastructure;
using Xunit;

namespace Mocker.Integration.Tests;

/// <summary>Marks the tests that kill a daemon: each has its own daemon, and they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class FaultCollection
{
    public const string Name = "daemon faults";
}

/// <summary>
/// A daemon killed with SIGKILL at a bad moment comes back consistent: running containers are still running and
/// their exit codes are recorded; an interrupted import leaves no image, ingest file or snapshot behind.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class FaultTests
{
    [Fact]
    public async Task Container_survives_a_daemon_kill_and_its_exit_code_is_recorded_after_restart()
    {
        await using var d = await DaemonInstance.StartNewAsync();
        await d.BootstrapBusyboxAsync();
        var name = Names.Unique("it-survivor");
        Expect.Ok(await d.DockerAsync("run", "-d", "--name", name, "busybox", "sh", "-c", "trap 'exit 7' TERM; sleep 1000 & wait"));
        var pidBefore = Expect.Ok(await d.DockerAsync("inspect", "-f", "{{.State.Pid}}", name)).Stdout.Trim();

        await d.KillAsync();
        await d.StartAsync();

        var state = Expect.Ok(await d.DockerAsync("inspect", "-f", "{{.State.Running}} {{.State.Pid}}", name));
        Assert.Equal($"true {pidBefore}", state.Stdout.Trim());
        var exec = Expect.Ok(await d.DockerAsync("exec", name, "echo", "alive"));
        Assert.Equal("alive\n", exec.Stdout);

        Expect.Ok(await d.DockerAsync("kill", "-s", "TERM", name));
        var wait = Expect.Ok(await d.DockerAsync("wait", name));
        Assert.Equal("7", wait.Stdout.Trim());
        var exited = Expect.Ok(await d.DockerAsync("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name));
        Assert.Equal("exited 7", exited.Stdout.Trim());

        Expect.Ok(await d.DockerAsync("rm", name));
    }

    [Fact]
    public async Task Import_interrupted_by_a_daemon_kill_leaves_nothing_behind()
    {
        await using var d = await DaemonInstance.StartNewAsync();
        await d.BootstrapBusyboxAsync();
        var imagesBefore = await CountImagesAsync(d);
        var snapshotsBefore = Entries(Path.Combine(d.DataRoot, "snapshots"), depth: 2);
        var mountsBefore = DaemonInstance.MountPointsUnder(d.DataRoot).Order().ToList();

        using var body = new SlowTarContent(totalBytes: 200L << 20, pauseAfter: 32L << 20);
        using var requestCts = new CancellationTokenSource(DaemonInstance.Timeout * 2);
        var request = new HttpRequestMessage(HttpMethod.Post, "/images/create?fromSrc=-&repo=it-partial%3A1") { Content = body };
        var send = d.Http.SendAsync(request, requestCts.Token);

        // 32 MiB went into the socket, far more than its buffers hold: the daemon is reading the import.
        if (await Task.WhenAny(body.Paused, send) != body.Paused)
        {
            Assert.Fail($"the import ended before 32 MiB were sent: {(send.IsFaulted ? send.Exception : await DescribeAsync(send))}\n{d.ReadLog()}");
        }
        await d.KillAsync();
        await requestCts.CancelAsync();
        try
        {
            using var _ = await send;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            // Expected: the daemon died mid-request.
        }

        await d.StartAsync();
        using var ct = new CancellationTokenSource(DaemonInstance.Timeout);
        using (var inspect = await d.Http.GetAsync("/images/it-partial:1/json", ct.Token))
        {
            Assert.Equal(HttpStatusCode.NotFound, inspect.StatusCode);
        }
        Assert.Equal(imagesBefore, await CountImagesAsync(d));
        Assert.Empty(Entries(Path.Combine(d.DataRoot, "content", "ingest"), depth: 1));
        Assert.Empty(Entries(d.DataRoot + "/tmp", depth: 1));
        Assert.Equal(snapshotsBefore, Entries(Path.Combine(d.DataRoot, "snapshots"), depth: 2));
        Assert.Equal(mountsBefore, DaemonInstance.MountPointsUnder(d.DataRoot).Order().ToList());
    }

    private static async Task<string> DescribeAsync(Task<HttpResponseMessage> send)
    {
        using var response = await send;
        return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
    }

    private static async Task<int> CountImagesAsync(DaemonInstance d)
    {
        using var ct = new CancellationTokenSource(DaemonInstance.Timeout);
        using var doc = JsonDocument.Parse(await d.Http.GetStringAsync("/images/json?all=1", ct.Token));
        return doc.RootElement.GetArrayLength();
    }

    /// <summary>Relative paths of the entries under <paramref name="dir"/> down to <paramref name="depth"/> levels, sorted.</summary>
    private static List<string> Entries(string dir, int depth)
    {
        if (!Directory.Exists(dir))
        {
            return [];
        }
        var options = new EnumerationOptions { RecurseSubdirectories = depth > 1, MaxRecursionDepth = depth - 1, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        return Directory.EnumerateFileSystemEntries(dir, "*", options).Select(p => Path.GetRelativePath(dir, p)).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// A chunked request body: a ustar archive with one file of <c>totalBytes</c> random bytes, of which only the
    /// first <c>pauseAfter</c> bytes are sent; then <see cref="Paused"/> completes and the body waits until the
    /// request is cancelled, like a slow client in the middle of an upload.
    /// </summary>
    private sealed class SlowTarContent(long totalBytes, long pauseAfter) : HttpContent
    {
        private readonly TaskCompletionSource _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Paused => _paused.Task;

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(UstarHeader("big.bin", totalBytes), cancellationToken);
            var chunk = new byte[1 << 20];
            new Random(42).NextBytes(chunk);
            for (long sent = 0; sent < pauseAfter; sent += chunk.Length)
            {
                await stream.WriteAsync(chunk, cancellationToken);
            }
            await stream.FlushAsync(cancellationToken);
            _paused.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        private static byte[] UstarHeader(string name, long size)
        {
            var h = new byte[512];
            void Put(int offset, string value) => Encoding.ASCII.GetBytes(value).CopyTo(h, offset);
            Put(0, name);
            Put(100, "0000644\0");
            Put(108, "0000000\0");
            Put(116, "0000000\0");
            Put(124, Convert.ToString(size, 8).PadLeft(11, '0') + "\0");
            Put(136, Convert.ToString(DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 8).PadLeft(11, '0') + "\0");
            Put(148, "        ");
            h[156] = (byte)'0';
            Put(257, "ustar\0");
            Put(263, "00");
            var sum = h.Sum(b => (int)b);
            Put(148, Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ");
            return h;
        }
    }
}

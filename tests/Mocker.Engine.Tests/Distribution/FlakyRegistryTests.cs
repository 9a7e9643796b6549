using System.IO.Compression;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Mocker.Engine.Content;
using Mocker.Engine.Distribution;
using Mocker.Engine.Images;
using Mocker.Engine.Tests.Snapshots;
using Xunit;

namespace Mocker.Engine.Tests.Distribution;

/// <summary>
/// Behaviour the stock registry cannot show: the bearer-token flow (realm, service, scope) and a blob transfer that
/// breaks halfway and must resume with HTTP Range. A small in-process HTTP server plays the registry and token server.
/// </summary>
public sealed class FlakyRegistryTests
{
    private sealed class FakeRegistry : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _loop;
        private readonly Dictionary<string, (byte[] Body, string Type)> _routes = new(StringComparer.Ordinal);
        public int Port { get; }
        public string Host => "127.0.0.1:" + Port;
        public List<string> TokenScopes { get; } = [];
        public List<string?> LayerRanges { get; } = [];
        public string? BrokenBlob { get; set; }

        public FakeRegistry()
        {
            using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                Port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }
            _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            _listener.Start();
            _loop = Task.Run(LoopAsync);
        }

        public void Add(string path, byte[] body, string type) => _routes[path] = (body, type);

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
                Handle(ctx);
            }
        }

        private void Handle(HttpListenerContext ctx)
        {
            var path = ctx.Request.Url!.AbsolutePath;
            var resp = ctx.Response;
            if (path == "/token")
            {
                lock (TokenScopes)
                {
                    TokenScopes.Add(ctx.Request.QueryString["service"] + " " + ctx.Request.QueryString["scope"]);
                }
                Write(resp, 200, Encoding.UTF8.GetBytes("{\"token\":\"tok\"}"), "application/json");
                return;
            }
            if (ctx.Request.Headers["Authorization"] != "Bearer tok")
            {
                resp.AddHeader("WWW-Authenticate", $"Bearer realm=\"http://{Host}/token\",service=\"fake.registry\",scope=\"repository:fake/img:pull\"");
                Write(resp, 401, Encoding.UTF8.GetBytes("{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}"), "application/json");
                return;
            }
            if (path == "/v2/")
            {
                Write(resp, 200, "{}"u8.ToArray(), "application/json");
                return;
            }
            if (!_routes.TryGetValue(path, out var route))
            {
                Write(resp, 404, Encoding.UTF8.GetBytes("{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}"), "application/json");
                return;
            }
            if (BrokenBlob is { } broken && path.EndsWith(broken, StringComparison.Ordinal))
            {
                var range = ctx.Request.Headers["Range"];
                lock (LayerRanges)
                {
                    LayerRanges.Add(range);
                }
                if (range is null)
                {
                    // Promise everything, send half, then drop the connection.
                    resp.StatusCode = 200;
                    resp.ContentType = route.Type;
                    resp.ContentLength64 = route.Body.Length;
                    resp.OutputStream.Write(route.Body, 0, route.Body.Length / 2);
                    resp.OutputStream.Flush();
                    resp.Abort();
                    return;
                }
                var from = int.Parse(range["bytes=".Length..].TrimEnd('-'), System.Globalization.CultureInfo.InvariantCulture);
                resp.AddHeader("Content-Range", $"bytes {from}-{route.Body.Length - 1}/{route.Body.Length}");
                Write(resp, 206, route.Body[from..], route.Type);
                return;
            }
            Write(resp, 200, route.Body, route.Type);
        }

        private static void Write(HttpListenerResponse resp, int status, byte[] body, string type)
        {
            resp.StatusCode = status;
            resp.ContentType = type;
            resp.ContentLength64 = body.Length;
            resp.OutputStream.Write(body);
            resp.Close();
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _loop.Wait();
        }
    }

    private sealed class NoCredentials : IRegistryCredentials
    {
        public Task<RegistryCredential?> GetAsync(string registryHost, CancellationToken ct) => Task.FromResult<RegistryCredential?>(null);
    }

    [Fact]
    public async Task BearerTokenFlowPlatformSelectionAndResumedLayer()
    {
        // A gzip layer big enough that half of it is a real partial transfer.
        var rnd = new Random(42);
        var payload = new byte[600_000];
        rnd.NextBytes(payload);
        var tar = StorageTestRoot.Tar(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "data.bin")
        {
            DataStream = new MemoryStream(payload),
            Mode = (UnixFileMode)0x1A4,
            ModificationTime = StorageTestRoot.Epoch,
        }).ToArray();
        var diffId = Digest.Compute(tar);
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(tar);
        }
        var layer = gz.ToArray();
        var layerDigest = Digest.Compute(layer);
        var config = Encoding.UTF8.GetBytes($$"""{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["{{diffId}}"]} }""");
        var configDigest = Digest.Compute(config);
        var manifest = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.DockerManifest}}","config":{"mediaType":"{{MediaTypes.DockerConfig}}","size":{{config.Length}},"digest":"{{configDigest}}"},"layers":[{"mediaType":"{{MediaTypes.DockerLayerGzip}}","size":{{layer.Length}},"digest":"{{layerDigest}}"} ]}""");
        var manifestDigest = Digest.Compute(manifest);
        var arm = "sha256:" + new string('e', 64);
        var list = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.DockerManifestList}}","manifests":[{"mediaType":"{{MediaTypes.DockerManifest}}","size":1,"digest":"{{arm}}","platform":{"architecture":"arm64","os":"linux"} },{"mediaType":"{{MediaTypes.DockerManifest}}","size":{{manifest.Length}},"digest":"{{manifestDigest}}","platform":{"architecture":"amd64","os":"linux"} }]}""");
        var listDigest = Digest.Compute(list);

        using var registry = new FakeRegistry { BrokenBlob = layerDigest.ToString() };
        registry.Add("/v2/fake/img/manifests/latest", list, MediaTypes.DockerManifestList);
        registry.Add($"/v2/fake/img/manifests/{manifestDigest}", manifest, MediaTypes.DockerManifest);
        registry.Add($"/v2/fake/img/blobs/{configDigest}", config, "application/octet-stream");
        registry.Add($"/v2/fake/img/blobs/{layerDigest}", layer, "application/octet-stream");

        using var root = new StorageTestRoot();
        using var dist = new DistributionService(root.Options, root.Content, root.Images, root.Snapshotter, root.Unpacker, new NoCredentials(), NullLogger<DistributionService>.Instance);
        var progress = new RegistryInteropTests.Collect();
        var image = await dist.PullAsync(registry.Host + "/fake/img", null, progress, default);

        Assert.Equal(configDigest, image.Id);
        Assert.Equal([$"{registry.Host}/fake/img@{listDigest}"], image.RepoDigests);
        Assert.Contains("fake.registry repository:fake/img:pull", registry.TokenScopes);
        Assert.Equal([null, $"bytes={layer.Length / 2}-"], registry.LayerRanges);
        Assert.Equal($"Digest: {listDigest}", progress.Messages[^2].status);
        Assert.True(root.Content.Exists(layerDigest));
        Assert.NotNull(await root.Snapshotter.StatAsync(diffId.ToString(), default));

        // docker save inflates the gzip blob: layer.tar's sha256 is the diffID, so loading it elsewhere keeps the image ID.
        var saved = new MemoryStream();
        await new ImageArchive(root.Options, root.Content, root.Images, root.Snapshotter, root.Unpacker, NullLogger<ImageArchive>.Instance)
            .SaveAsync([registry.Host + "/fake/img"], saved, default);
        saved.Position = 0;
        using var other = new StorageTestRoot();
        var loaded = await new ImageArchive(other.Options, other.Content, other.Images, other.Snapshotter, other.Unpacker, NullLogger<ImageArchive>.Instance)
            .LoadAsync(saved, quiet: true, new RegistryInteropTests.Collect(), default);
        Assert.Equal(configDigest, Assert.Single(loaded));
        Assert.True(other.Content.Exists(diffId));
        Assert.Empty(Directory.EnumerateFileSystemEntries(root.Options.TmpRoot));
    }
}

using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Mocker.Api;
using Mocker.Engine.Distribution;
using Mocker.Engine.Errors;
using Mocker.Engine.Tests.Snapshots;
using Mocker.Tests.Shared;
using Xunit;

namespace Mocker.Engine.Tests.Distribution;

/// <summary>Push and pull against a real distribution 2.8 registry (Debian package docker-registry).</summary>
public sealed class RegistryInteropTests
{
    private static readonly Func<string, Mocker.Engine.Images.ImageUser?> NotUsed = _ => null;

    internal sealed class Collect : IProgress<JsonMessage>
    {
        private readonly List<JsonMessage> _messages = [];
        public List<JsonMessage> Messages { get { lock (_messages) { return [.. _messages]; } } }
        public void Report(JsonMessage value)
        {
            lock (_messages)
            {
                _messages.Add(value);
            }
        }
        public IEnumerable<string> Statuses => Messages.Select(m => m.status ?? "");
    }

    private sealed class NoCredentials : IRegistryCredentials
    {
        public Task<RegistryCredential?> GetAsync(string registryHost, CancellationToken ct) => Task.FromResult<RegistryCredential?>(null);
    }

    private static DistributionService Service(StorageTestRoot root, IRegistryCredentials creds, long chunkThreshold = 64L << 20) =>
        new(root.Options, root.Content, root.Images, root.Snapshotter, root.Unpacker, creds, NullLogger<DistributionService>.Instance)
        {
            ChunkedUploadThreshold = chunkThreshold,
        };

    private static async Task AssertSnapshotUsableAsync(StorageTestRoot root, string topChainId)
    {
        var key = "view-" + Guid.NewGuid().ToString("N");
        var mounts = await root.Snapshotter.ViewAsync(key, topChainId, default);
        var target = root.Mount(mounts);
        try
        {
            Assert.True(File.Exists(Path.Combine(target, "bin", "busybox")));
            Assert.True(File.Exists(Path.Combine(target, "etc", "passwd")));
        }
        finally
        {
            root.Unmount(target);
            await root.Snapshotter.RemoveAsync(key, default);
        }
    }

    [Fact]
    public async Task PushDeletePullBusybox()
    {
        using var registry = await LocalRegistry.StartAsync();
        using var root = new StorageTestRoot();
        using var dist = Service(root, new NoCredentials());
        var id = await root.Service.BootstrapAsync("busybox", null, null, default);
        var name = registry.Host + "/test/bb";
        await root.Service.TagAsync("busybox:latest", name, "1", default);

        var push = new Collect();
        await dist.PushAsync(name + ":1", push, default);
        Assert.Equal($"The push refers to repository [{name}]", push.Messages[0].status);
        Assert.Contains("Preparing", push.Statuses);
        Assert.Contains("Pushed", push.Statuses);
        var aux = Assert.Single(push.Messages, m => m.aux is not null).aux!;
        Assert.Equal("1", aux.Tag);
        Assert.Contains(push.Statuses, s => s == $"1: digest: {aux.Digest} size: {aux.Size}");
        var pushed = await root.Images.GetAsync(id, default);
        Assert.Contains(name + "@" + aux.Digest, pushed.RepoDigests);

        var again = new Collect();
        await dist.PushAsync(name + ":1", again, default);
        Assert.Contains("Layer already exists", again.Statuses);
        Assert.DoesNotContain("Pushed", again.Statuses);

        var other = new Collect();
        await root.Service.TagAsync(id, registry.Host + "/other/bb", "2", default);
        await dist.PushAsync(registry.Host + "/other/bb:2", other, default);
        Assert.Contains("Mounted from test/bb", other.Statuses);

        await root.Service.RemoveAsync(id, force: true, noPrune: false, NotUsed, default);
        Assert.Null(await root.Images.FindAsync(id, default));
        Assert.Empty(await root.Snapshotter.ListAsync(default));

        var pull = new Collect();
        var image = await dist.PullAsync(name + ":1", null, pull, default);
        Assert.Equal(id, image.Id.ToString());
        Assert.Equal(new JsonMessage { status = "Pulling from test/bb", id = "1" }, pull.Messages[0]);
        foreach (var expected in new[] { "Pulling fs layer", "Downloading", "Verifying Checksum", "Download complete", "Extracting", "Pull complete" })
        {
            Assert.Contains(expected, pull.Statuses);
        }
        Assert.Equal($"Digest: {aux.Digest}", pull.Messages[^2].status);
        Assert.Equal($"Status: Downloaded newer image for {name}:1", pull.Messages[^1].status);
        Assert.Contains(name + ":1", image.Tags);
        Assert.Contains(name + "@" + aux.Digest, image.RepoDigests);
        await AssertSnapshotUsableAsync(root, image.TopChainId!);

        var upToDate = new Collect();
        await dist.PullAsync(name + ":1", null, upToDate, default);
        Assert.Contains("Already exists", upToDate.Statuses);
        Assert.Equal($"Status: Image is up to date for {name}:1", upToDate.Messages[^1].status);

        var byDigest = await dist.PullAsync(name + "@" + aux.Digest, null, new Collect(), default);
        Assert.Equal(id, byDigest.Id.ToString());

        var missing = await Assert.ThrowsAsync<MockerException>(() => dist.PullAsync(name + ":nosuch", null, new Collect(), default));
        Assert.Equal(ErrorKind.NotFound, missing.Kind);
        Assert.Equal($"manifest for {name}:nosuch not found: manifest unknown: manifest unknown", missing.Message);
    }

    [Fact]
    public async Task MultiLayerImageKeepsLayerOrderAndWhiteouts()
    {
        using var registry = await LocalRegistry.StartAsync();
        using var root = new StorageTestRoot();
        var layers = new[]
        {
            StorageTestRoot.Tar(StorageTestRoot.TextFile("a.txt", "a"), StorageTestRoot.TextFile("keep.txt", "1")),
            StorageTestRoot.Tar(StorageTestRoot.TextFile("b.txt", "b"), StorageTestRoot.TextFile("keep.txt", "2")),
            StorageTestRoot.Tar(StorageTestRoot.TextFile(".wh.a.txt", ""), StorageTestRoot.TextFile("c.txt", "c")),
        };
        var descriptors = new List<Mocker.Engine.Images.Descriptor>();
        var diffIds = new List<Mocker.Engine.Content.Digest>();
        string? parent = null;
        foreach (var tar in layers)
        {
            var desc = await root.Content.WriteAsync(tar, Mocker.Engine.Images.MediaTypes.OciLayer, null, default);
            var unpacked = await root.Unpacker.UnpackAsync(root.Content.OpenRead(desc.Digest), parent, null, default);
            descriptors.Add(desc);
            diffIds.Add(unpacked.DiffId);
            parent = unpacked.ChainId;
        }
        var config = new Mocker.Engine.Images.ImageConfig { RootFs = new Mocker.Engine.Images.ImageRootFs { DiffIds = diffIds } };
        var configDesc = await root.Content.WriteAsync(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(config, Mocker.Engine.Images.OciJsonContext.Default.ImageConfig), Mocker.Engine.Images.MediaTypes.OciConfig, default);
        var manifest = new Mocker.Engine.Images.ImageManifest { Config = configDesc, Layers = descriptors };
        var manifestDesc = await root.Content.WriteAsync(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(manifest, Mocker.Engine.Images.OciJsonContext.Default.ImageManifest), Mocker.Engine.Images.MediaTypes.OciManifest, default);
        var name = registry.Host + "/multi/img:1";
        await root.Images.PutAsync(new Mocker.Engine.Images.ImageRecord { Id = configDesc.Digest, ManifestDigest = manifestDesc.Digest, Config = config, TopChainId = parent }, [name], default);

        using var serial = new DistributionService(root.Options, root.Content, root.Images, root.Snapshotter, root.Unpacker, new NoCredentials(), NullLogger<DistributionService>.Instance)
        {
            MaxConcurrentUploads = 1,
            MaxConcurrentDownloads = 1,
        };
        var push = new Collect();
        await serial.PushAsync(name, push, default);
        Assert.Contains("Waiting", push.Statuses);
        Assert.Equal(3, push.Statuses.Count(s => s == "Pushed"));

        await root.Service.RemoveAsync(configDesc.Digest.ToString(), force: true, noPrune: false, NotUsed, default);
        Assert.Empty(await root.Snapshotter.ListAsync(default));
        var image = await serial.PullAsync(name, null, new Collect(), default);
        Assert.Equal(configDesc.Digest, image.Id);
        Assert.Equal(parent, image.TopChainId);
        var key = "view-" + Guid.NewGuid().ToString("N");
        var target = root.Mount(await root.Snapshotter.ViewAsync(key, image.TopChainId, default));
        try
        {
            Assert.False(File.Exists(Path.Combine(target, "a.txt")));
            Assert.Equal("b", File.ReadAllText(Path.Combine(target, "b.txt")));
            Assert.Equal("c", File.ReadAllText(Path.Combine(target, "c.txt")));
            Assert.Equal("2", File.ReadAllText(Path.Combine(target, "keep.txt")));
        }
        finally
        {
            root.Unmount(target);
            await root.Snapshotter.RemoveAsync(key, default);
        }
    }

    [Fact]
    public async Task UnreachableRegistryIsInternalWithTransportText()
    {
        using var root = new StorageTestRoot();
        using var dist = Service(root, new NoCredentials());
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }
        var e = await Assert.ThrowsAsync<MockerException>(() => dist.PullAsync($"127.0.0.1:{port}/x/y:1", null, new Collect(), default));
        Assert.Equal(ErrorKind.Internal, e.Kind);
        Assert.StartsWith($"Get \"http://127.0.0.1:{port}/v2/\": ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BasicAuthChunkedPushAndPull()
    {
        const string htpasswdBinary = "/usr/bin/htpasswd";
        Assert.True(File.Exists(htpasswdBinary), $"{htpasswdBinary} is missing: install the Debian package \"apache2-utils\" to run the basic-auth registry test");
        var htpasswd = Process.Start(new ProcessStartInfo(htpasswdBinary, ["-Bbn", "mocker", "s3cret"]) { RedirectStandardOutput = true })!;
        var line = (await htpasswd.StandardOutput.ReadToEndAsync()).Trim();
        await htpasswd.WaitForExitAsync();
        Assert.Equal(0, htpasswd.ExitCode);
        using var registry = await LocalRegistry.StartAsync(line);
        using var root = new StorageTestRoot();
        var home = Path.Combine(root.Dir, "home");
        Directory.CreateDirectory(Path.Combine(home, ".mocker"));
        File.WriteAllText(Path.Combine(home, ".mocker", "config.json"),
            "{\"auths\":{\"" + registry.Host + "\":{\"auth\":\"" + Convert.ToBase64String("mocker:s3cret"u8.ToArray()) + "\"}}}");
        var id = await root.Service.BootstrapAsync("busybox", null, null, default);
        var name = registry.Host + "/auth/bb";
        await root.Service.TagAsync(id, name, "1", default);

        using (var anonymous = Service(root, new NoCredentials()))
        {
            var denied = await Assert.ThrowsAsync<MockerException>(() => anonymous.PushAsync(name + ":1", new Collect(), default));
            Assert.Contains("unauthorized", denied.Message, StringComparison.Ordinal);
        }

        using var dist = Service(root, DockerConfigCredentials.FromHome(home), chunkThreshold: 1024);
        await dist.PushAsync(name + ":1", new Collect(), default);
        await root.Service.RemoveAsync(id, force: true, noPrune: false, NotUsed, default);
        Assert.Null(await root.Images.FindAsync(id, default));
        var image = await dist.PullAsync(name + ":1", "linux/amd64", new Collect(), default);
        Assert.Equal(id, image.Id.ToString());
        await AssertSnapshotUsableAsync(root, image.TopChainId!);

        // Credentials sent by a client (X-Registry-Auth) work without any config file.
        using var fromHeader = Service(root, new NoCredentials());
        var header = Convert.ToBase64String("{\"username\":\"mocker\",\"password\":\"s3cret\",\"serveraddress\":\"x\"}"u8.ToArray()).TrimEnd('=');
        var sent = RegistryAuthHeader.Decode(header);
        Assert.Equal(new RegistryCredential("mocker", "s3cret"), sent);
        await fromHeader.PullAsync(name + "@" + image.RepoDigests[0].Split('@')[1], null, sent, new Collect(), default);
        await Assert.ThrowsAsync<MockerException>(() => fromHeader.PullAsync(name + ":1", null, null, new Collect(), default));
    }
}

using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Mocker.Api;
using Mocker.Engine.Content;
using Mocker.Engine.Errors;
using Mocker.Engine.Images;
using Mocker.Engine.Snapshots;

namespace Mocker.Engine.Distribution;

/// <summary>
/// Pull and push against OCI Distribution registries (distribution-spec 1.1), with dockerd's progress stream
/// (engine-api-trace.md §1.17) and error texts. Blobs stream into the content store verified by digest and size;
/// layers are unpacked bottom-up into chainID snapshots; the image record (with its tag and "repo@digest") is written
/// last, so a failed pull leaves no image behind (verified blobs stay in the content store and make a retry cheaper).
/// </summary>
public sealed class DistributionService(
    EngineOptions options,
    IContentStore content,
    IImageStore images,
    ISnapshotter snapshotter,
    ILayerUnpacker unpacker,
    IRegistryCredentials credentials,
    ILogger<DistributionService> logger) : IDistributionService, IDisposable
{
    private const int MaxConfigBytes = 16 << 20;
    private readonly ConcurrentDictionary<string, RegistryClient> _clients = new(StringComparer.Ordinal);

    /// <summary>Layers downloaded at once (dockerd max-concurrent-downloads; default 3).</summary>
    public int MaxConcurrentDownloads { get; init; } = 3;

    /// <summary>Layers uploaded at once (dockerd max-concurrent-uploads; default 3 here).</summary>
    public int MaxConcurrentUploads { get; init; } = 3;

    /// <summary>Blobs larger than this many bytes are uploaded in PATCH chunks instead of one PUT (default 64 MiB).</summary>
    public long ChunkedUploadThreshold { get; init; } = 64L << 20;

    private RegistryClient Client(string host) =>
        _clients.GetOrAdd(host, h => new RegistryClient(options, h, credentials, logger));

    /// <summary>
    /// <c>POST /images/create?fromImage=&amp;tag=</c>: pulls <paramref name="reference"/> ("busybox", "host:5000/x:1",
    /// "x@sha256:…"; no tag means ":latest") for <paramref name="platform"/> ("os/arch[/variant]", default linux/amd64).
    /// Messages: "Pulling from &lt;path&gt;", per layer "Already exists" | "Pulling fs layer", "Downloading" (current/total),
    /// "Verifying Checksum", "Download complete", "Extracting", "Pull complete"; then "Digest: sha256:…" and
    /// "Status: Downloaded newer image for X" or "Status: Image is up to date for X". Nothing is reported before the
    /// manifest was fetched, so the daemon can still answer with an HTTP error status.
    /// Errors: NotFound "manifest for X not found: manifest unknown: manifest unknown"; Internal with the transport error
    /// ("Get \"https://host/v2/\": …") for an unreachable registry; InvalidArgument for schema 1 and corrupt content.
    /// <paramref name="progress"/> is called from concurrent download tasks: its implementation must be thread-safe.
    /// </summary>
    /// <returns>The stored image record.</returns>
    public Task<ImageRecord> PullAsync(string reference, string? platform, IProgress<JsonMessage> progress, CancellationToken ct) =>
        PullAsync(reference, platform, null, progress, ct);

    /// <summary>
    /// <see cref="PullAsync(string, string?, IProgress{JsonMessage}, CancellationToken)"/> with the credential a client sent
    /// (<see cref="RegistryAuthHeader.Decode"/> of X-Registry-Auth); null uses <see cref="IRegistryCredentials"/>.
    /// </summary>
    public async Task<ImageRecord> PullAsync(string reference, string? platform, RegistryCredential? credential, IProgress<JsonMessage> progress, CancellationToken ct)
    {
        var named = Reference.Parse(reference).WithDefaultTag();
        var wanted = ManifestSelector.ParsePlatform(platform);
        using var own = credential is null ? null : new RegistryClient(options, named.Domain, new FixedCredentials(credential), logger);
        var client = own ?? Client(named.Domain);
        var repo = named.Path;
        var familiar = named.FamiliarString();

        var top = await client.GetManifestAsync(repo, named.Digest ?? named.Tag!, familiar, ct).ConfigureAwait(false);
        var fetched = top;
        if (ManifestSelector.IsIndex(top.MediaType))
        {
            var index = JsonSerializer.Deserialize(top.Bytes, OciJsonContext.Default.ImageIndex)
                ?? throw MockerException.InvalidArgument("invalid image index: empty document");
            var chosen = ManifestSelector.SelectPlatform(index, wanted);
            fetched = await client.GetManifestAsync(repo, chosen.Digest.ToString(), familiar, ct).ConfigureAwait(false);
            if (ManifestSelector.IsIndex(fetched.MediaType))
            {
                throw MockerException.InvalidArgument($"manifest {chosen.Digest} selected from the index of {familiar} is itself an index");
            }
        }
        var manifest = ParseManifest(fetched.Bytes);
        var configBytes = content.Exists(manifest.Config.Digest)
            ? await ReadSmallBlobAsync(manifest.Config.Digest, ct).ConfigureAwait(false)
            : await client.GetSmallBlobAsync(repo, manifest.Config, MaxConfigBytes, ct).ConfigureAwait(false);
        var config = JsonSerializer.Deserialize(configBytes, OciJsonContext.Default.ImageConfig)
            ?? throw MockerException.InvalidArgument("invalid image config: empty document");
        var diffIds = config.RootFs.DiffIds;
        if (diffIds.Count != manifest.Layers.Count)
        {
            throw MockerException.InvalidArgument($"image config of {familiar} lists {diffIds.Count} diffIDs for {manifest.Layers.Count} layers");
        }
        foreach (var layer in manifest.Layers)
        {
            if (layer.MediaType == MediaTypes.OciLayerZstd)
            {
                throw MockerException.InvalidArgument($"layer {layer.Digest} of {familiar}: unsupported media type {layer.MediaType}");
            }
        }

        progress.Report(new JsonMessage { status = "Pulling from " + repo, id = named.Digest is null ? named.Tag : familiar });
        var chainIds = new string[diffIds.Count];
        string? parent = null;
        for (var i = 0; i < diffIds.Count; i++)
        {
            parent = chainIds[i] = ILayerUnpacker.ChainId(parent, diffIds[i]);
        }
        var present = new bool[diffIds.Count];
        for (var i = 0; i < diffIds.Count; i++)
        {
            present[i] = await snapshotter.StatAsync(chainIds[i], ct).ConfigureAwait(false) is not null;
            progress.Report(ProgressText.Status(manifest.Layers[i].Digest.Short, present[i] ? "Already exists" : "Pulling fs layer"));
        }

        long size = 0;
        using (var downloadCts = CancellationTokenSource.CreateLinkedTokenSource(ct))
        using (var gate = new SemaphoreSlim(Math.Max(1, MaxConcurrentDownloads)))
        {
            var downloads = new Task?[diffIds.Count];
            for (var i = 0; i < diffIds.Count; i++)
            {
                if (!present[i])
                {
                    var layer = manifest.Layers[i];
                    downloads[i] = DownloadAsync(client, repo, layer, gate, progress, downloadCts.Token);
                }
            }
            try
            {
                parent = null;
                for (var i = 0; i < diffIds.Count; i++)
                {
                    if (present[i])
                    {
                        size += await snapshotter.UsageAsync(chainIds[i], ct).ConfigureAwait(false);
                    }
                    else
                    {
                        await downloads[i]!.ConfigureAwait(false);
                        var layer = manifest.Layers[i];
                        var id = layer.Digest.Short;
                        progress.Report(ProgressText.Progress(id, "Extracting", 0, layer.Size));
                        UnpackedLayer unpacked;
                        await using (var blob = content.OpenRead(layer.Digest))
                        {
                            unpacked = await unpacker.UnpackAsync(blob, parent, diffIds[i], ct).ConfigureAwait(false);
                        }
                        progress.Report(ProgressText.Progress(id, "Extracting", layer.Size, layer.Size));
                        progress.Report(ProgressText.Status(id, "Pull complete"));
                        size += unpacked.Size;
                    }
                    parent = chainIds[i];
                }
            }
            catch
            {
                await downloadCts.CancelAsync().ConfigureAwait(false);
                foreach (var d in downloads)
                {
                    if (d is not null)
                    {
                        await d.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    }
                }
                throw;
            }
        }

        var configDesc = await content.WriteAsync(configBytes, manifest.Config.MediaType, ct).ConfigureAwait(false);
        var manifestDesc = await content.WriteAsync(fetched.Bytes, fetched.MediaType, ct).ConfigureAwait(false);
        var existing = await images.FindAsync(configDesc.Digest.ToString(), ct).ConfigureAwait(false);
        var tagged = named.Digest is null ? await images.FindAsync(named.ToString(), ct).ConfigureAwait(false) : null;
        var upToDate = existing is not null && (named.Digest is not null ? existing.RepoDigests.Contains(named.Name + "@" + top.Digest) : tagged?.Id == existing.Id);
        var record = new ImageRecord
        {
            Id = configDesc.Digest,
            // An image already known keeps the manifest whose layer blobs it has; this pull may have skipped them.
            ManifestDigest = existing?.ManifestDigest ?? manifestDesc.Digest,
            Config = config,
            TopChainId = chainIds.Length > 0 ? chainIds[^1] : null,
            Size = size,
            CreatedAt = existing?.CreatedAt ?? DateTimeOffset.UtcNow,
            Parent = existing?.Parent,
            RepoDigests = [named.Name + "@" + top.Digest],
        };
        await images.PutAsync(record, named.Digest is null ? [named.ToString()] : [], ct).ConfigureAwait(false);
        if (logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation("pulled {Reference} ({Digest}) as image {Id}", familiar, top.Digest, record.Id);
        }
        progress.Report(new JsonMessage { status = "Digest: " + top.Digest });
        progress.Report(new JsonMessage { status = (upToDate ? "Status: Image is up to date for " : "Status: Downloaded newer image for ") + familiar });
        return await images.GetAsync(record.Id.ToString(), ct).ConfigureAwait(false);
    }

    private async Task DownloadAsync(RegistryClient client, string repo, Descriptor layer, SemaphoreSlim gate, IProgress<JsonMessage> progress, CancellationToken ct)
    {
        var id = layer.Digest.Short;
        await WaitTurnAsync(gate, id, progress, ct).ConfigureAwait(false);
        try
        {
            if (!content.Exists(layer.Digest))
            {
                long reported = -1;
                var verifying = false;
                void OnBytes(long current)
                {
                    // Throttled: a message per 512 KiB and the last byte, as a TTY renders them anyway.
                    if (current == layer.Size || current - reported >= 512 * 1024)
                    {
                        reported = current;
                        progress.Report(ProgressText.Progress(id, "Downloading", current, layer.Size));
                    }
                    if (current == layer.Size && !verifying)
                    {
                        verifying = true;
                        progress.Report(ProgressText.Status(id, "Verifying Checksum"));
                    }
                }
                await using var stream = new BlobDownloadStream(client, repo, layer, OnBytes, logger);
                await content.WriteAsync(stream, layer.MediaType, layer.Digest, ct).ConfigureAwait(false);
            }
            progress.Report(ProgressText.Status(id, "Download complete"));
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Takes a transfer slot; a layer queued behind the concurrency limit shows "Waiting" first, as dockerd's transfer manager does.</summary>
    private static async Task WaitTurnAsync(SemaphoreSlim gate, string id, IProgress<JsonMessage> progress, CancellationToken ct)
    {
        if (!await gate.WaitAsync(0, ct).ConfigureAwait(false))
        {
            progress.Report(ProgressText.Status(id, "Waiting"));
            await gate.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    private async Task<byte[]> ReadSmallBlobAsync(Digest digest, CancellationToken ct)
    {
        await using var stream = content.OpenRead(digest);
        var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, ct).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private static ImageManifest ParseManifest(byte[] bytes)
    {
        try
        {
            return JsonSerializer.Deserialize(bytes, OciJsonContext.Default.ImageManifest)
                ?? throw MockerException.InvalidArgument("invalid manifest: empty document");
        }
        catch (JsonException e)
        {
            throw MockerException.InvalidArgument($"invalid manifest: {e.Message}");
        }
    }

    /// <summary>
    /// <c>POST /images/{name}/push?tag=</c>: pushes "repo:tag", or every local tag of "repo" when no tag is given (as dockerd).
    /// Messages: "The push refers to repository [host/path]", per layer (id = short diffID) "Preparing", then
    /// "Layer already exists" (HEAD hit) | "Mounted from &lt;repo&gt;" (cross-repo mount from a repository of the same
    /// registry this image was pulled from or pushed to) | "Pushing" (current/total) and "Pushed"; the config follows,
    /// the manifest (exact stored bytes) is PUT by tag last; then "&lt;tag&gt;: digest: sha256:… size: N" and
    /// aux {"Tag","Digest","Size"}. The pushed "repo@digest" is recorded in the image's RepoDigests.
    /// Errors: NotFound "An image does not exist locally with the tag: X"; InvalidArgument for a digest reference;
    /// the registry's error text ("unauthorized: authentication required", …) otherwise.
    /// <paramref name="progress"/> is called from concurrent upload tasks: its implementation must be thread-safe.
    /// </summary>
    public Task PushAsync(string reference, IProgress<JsonMessage> progress, CancellationToken ct) => PushAsync(reference, null, progress, ct);

    /// <summary>
    /// <see cref="PushAsync(string, IProgress{JsonMessage}, CancellationToken)"/> with the credential a client sent
    /// (<see cref="RegistryAuthHeader.Decode"/> of X-Registry-Auth); null uses <see cref="IRegistryCredentials"/>.
    /// </summary>
    public async Task PushAsync(string reference, RegistryCredential? credential, IProgress<JsonMessage> progress, CancellationToken ct)
    {
        var named = Reference.Parse(reference);
        if (named.Digest is not null)
        {
            throw MockerException.InvalidArgument("cannot push a digest reference");
        }
        List<(string Tag, ImageRecord Image)> targets = [];
        if (named.Tag is not null)
        {
            var image = await images.FindAsync(named.ToString(), ct).ConfigureAwait(false)
                ?? throw new MockerException(ErrorKind.NotFound, "An image does not exist locally with the tag: " + named.FamiliarName);
            targets.Add((named.Tag, image));
        }
        else
        {
            foreach (var image in await images.ListAsync(ct).ConfigureAwait(false))
            {
                foreach (var tag in image.Tags)
                {
                    if (Reference.TryParse(tag, out var t, out _) && t.Name == named.Name && t.Tag is not null)
                    {
                        targets.Add((t.Tag, image));
                    }
                }
            }
            if (targets.Count == 0)
            {
                throw new MockerException(ErrorKind.NotFound, "An image does not exist locally with the tag: " + named.FamiliarName);
            }
        }
        progress.Report(new JsonMessage { status = $"The push refers to repository [{named.Name}]" });
        using var own = credential is null ? null : new RegistryClient(options, named.Domain, new FixedCredentials(credential), logger);
        var client = own ?? Client(named.Domain);
        foreach (var (tag, image) in targets.OrderBy(t => t.Tag, StringComparer.Ordinal))
        {
            await PushOneAsync(client, named, tag, image, progress, ct).ConfigureAwait(false);
        }
    }

    private async Task PushOneAsync(RegistryClient client, Reference named, string tag, ImageRecord image, IProgress<JsonMessage> progress, CancellationToken ct)
    {
        var repo = named.Path;
        var manifestBytes = await ReadSmallBlobAsync(image.ManifestDigest, ct).ConfigureAwait(false);
        var manifest = ParseManifest(manifestBytes);
        var diffIds = image.Config.RootFs.DiffIds;
        var ids = manifest.Layers.Select((l, i) => i < diffIds.Count ? diffIds[i].Short : l.Digest.Short).ToArray();
        foreach (var id in ids)
        {
            progress.Report(ProgressText.Status(id, "Preparing"));
        }
        var mountSources = image.RepoDigests
            .Select(r => Reference.TryParse(r, out var parsed, out _) ? parsed : null)
            .Where(r => r is not null && r.Domain == named.Domain && r.Path != repo)
            .Select(r => r!.Path)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        using (var gate = new SemaphoreSlim(Math.Max(1, MaxConcurrentUploads)))
        {
            var uploads = manifest.Layers.Select((layer, i) => PushLayerAsync(client, repo, layer, ids[i], mountSources, gate, progress, ct)).ToList();
            await Task.WhenAll(uploads).ConfigureAwait(false);
        }
        if (!await client.BlobExistsAsync(repo, manifest.Config.Digest, ct).ConfigureAwait(false))
        {
            await client.UploadBlobAsync(repo, manifest.Config, () => content.OpenRead(manifest.Config.Digest), ChunkedUploadThreshold, null, ct).ConfigureAwait(false);
        }
        var mediaType = string.IsNullOrEmpty(manifest.MediaType) ? MediaTypes.OciManifest : manifest.MediaType;
        var digest = await client.PutManifestAsync(repo, tag, manifestBytes, mediaType, ct).ConfigureAwait(false);
        await images.TagAsync(image.Id, named.Name + "@" + digest, ct).ConfigureAwait(false);
        if (logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation("pushed image {Id} as {Reference}:{Tag} ({Digest})", image.Id, named.Name, tag, digest);
        }
        progress.Report(new JsonMessage { status = $"{tag}: digest: {digest} size: {manifestBytes.Length}" });
        progress.Report(new JsonMessage { progressDetail = new ProgressDetail(), aux = new AuxId { Tag = tag, Digest = digest.ToString(), Size = manifestBytes.Length } });
    }

    private async Task PushLayerAsync(RegistryClient client, string repo, Descriptor layer, string id, IReadOnlyList<string> mountSources,
        SemaphoreSlim gate, IProgress<JsonMessage> progress, CancellationToken ct)
    {
        await WaitTurnAsync(gate, id, progress, ct).ConfigureAwait(false);
        try
        {
            if (await client.BlobExistsAsync(repo, layer.Digest, ct).ConfigureAwait(false))
            {
                progress.Report(ProgressText.Status(id, "Layer already exists"));
                return;
            }
            foreach (var source in mountSources)
            {
                if (await client.TryMountAsync(repo, layer.Digest, source, ct).ConfigureAwait(false))
                {
                    progress.Report(ProgressText.Status(id, "Mounted from " + source));
                    return;
                }
            }
            if (!content.Exists(layer.Digest))
            {
                throw new MockerException(ErrorKind.NotFound, $"layer {layer.Digest} is not in the content store; pull or load the image again before pushing it");
            }
            long reported = -1;
            var sent = new SyncProgress(current =>
            {
                if (current == layer.Size || current - reported >= 512 * 1024)
                {
                    reported = current;
                    progress.Report(ProgressText.Progress(id, "Pushing", current, layer.Size));
                }
            });
            await client.UploadBlobAsync(repo, layer, () => content.OpenRead(layer.Digest), ChunkedUploadThreshold, sent, ct).ConfigureAwait(false);
            progress.Report(ProgressText.Status(id, "Pushed"));
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Invokes the callback on the reporting thread (System.Progress would post to the thread pool, out of order).</summary>
    private sealed class SyncProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }

    /// <summary>
    /// <c>POST /auth</c> (docker login): probes GET /v2/ on <paramref name="serverAddress"/> ("host[:port]", optionally
    /// with a scheme and path, which are ignored; empty means Docker Hub) and answers its challenge with
    /// <paramref name="credential"/> (Basic, or a Bearer token fetched from the realm with the credential).
    /// Errors: Internal "login attempt to &lt;base&gt;v2/ failed with status: 401 Unauthorized" (dockerd's text) when the
    /// registry still refuses, the token endpoint's error when it refuses the credential, or the transport error.
    /// </summary>
    public async Task LoginAsync(string serverAddress, RegistryCredential credential, CancellationToken ct)
    {
        var host = serverAddress.Trim();
        var scheme = host.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            host = host[(scheme + 3)..];
        }
        host = host.Split('/')[0];
        if (host.Length == 0 || host is "index.docker.io" or "registry-1.docker.io")
        {
            host = Reference.DefaultDomain;
        }
        using var client = new RegistryClient(options, host, new FixedCredentials(credential), logger);
        using var response = await client.SendAsync(b => new HttpRequestMessage(HttpMethod.Get, new Uri(b, "v2/")), [], HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var baseUri = await client.BaseAsync(ct).ConfigureAwait(false);
            throw new MockerException(ErrorKind.Internal, $"login attempt to {baseUri}v2/ failed with status: {(int)response.StatusCode} {response.ReasonPhrase}");
        }
    }

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }
        _clients.Clear();
    }
}

using System.Formats.Tar;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Mocker.Api;
using Mocker.Engine.Content;
using Mocker.Engine.Errors;
using Mocker.Engine.Images;
using Mocker.Engine.Snapshots;

namespace Mocker.Engine.Distribution;

/// <summary>The layout <see cref="ImageArchive.SaveAsync(IReadOnlyList{string}, Stream, ArchiveFormat, CancellationToken)"/> writes.</summary>
public enum ArchiveFormat
{
    /// <summary>docker save's legacy layout: manifest.json, repositories, &lt;config&gt;.json, &lt;layer&gt;/{VERSION,json,layer.tar}.</summary>
    Docker,
    /// <summary>OCI image layout (image-spec image-layout.md): oci-layout, index.json, blobs/sha256/&lt;hex&gt;.</summary>
    Oci,
}

/// <summary>
/// <c>GET /images/get</c> and <c>POST /images/load</c> (engine-api-trace.md §1.11; moby image/tarexport). Save streams a
/// tar to the output; load accepts either layout (detected by manifest.json or index.json; a gzip-compressed archive is
/// accepted too), extracting the archive into a private directory under <see cref="EngineOptions.TmpRoot"/> (entries are
/// confined to it, links resolved inside it) so no layer is held in memory, then verifies and stores every blob,
/// unpacks layers into chainID snapshots (expected diffIDs from the config) and records each image with its tags.
/// </summary>
public sealed class ImageArchive(
    EngineOptions options,
    IContentStore content,
    IImageStore images,
    ISnapshotter snapshotter,
    ILayerUnpacker unpacker,
    ILogger<ImageArchive> logger) : IImageArchive
{
    private const int MaxDocumentBytes = 16 << 20;
    private const string ContainerdNameAnnotation = "io.containerd.image.name";
    private const string OciRefNameAnnotation = "org.opencontainers.image.ref.name";
    private static readonly DateTimeOffset Epoch = DateTimeOffset.UnixEpoch;

    /// <summary>Saves in docker save's legacy layout. See <see cref="SaveAsync(IReadOnlyList{string}, Stream, ArchiveFormat, CancellationToken)"/>.</summary>
    public Task SaveAsync(IReadOnlyList<string> names, Stream output, CancellationToken ct) => SaveAsync(names, output, ArchiveFormat.Docker, ct);

    /// <summary>
    /// Writes the images named by <paramref name="names"/> (references or IDs; a reference contributes its tag to
    /// RepoTags, an ID none) as a tar to <paramref name="output"/>. Docker layout: layer.tar is the uncompressed layer
    /// (its sha256 is the diffID; a compressed blob is inflated into a temporary file first). OCI layout: blobs as stored,
    /// index.json entries annotated with io.containerd.image.name and org.opencontainers.image.ref.name.
    /// Errors: NotFound "No such image: X".
    /// </summary>
    public async Task SaveAsync(IReadOnlyList<string> names, Stream output, ArchiveFormat format, CancellationToken ct)
    {
        var order = new List<ImageRecord>();
        var tagsById = new Dictionary<Digest, List<Reference>>();
        foreach (var name in names)
        {
            var image = await images.GetAsync(name, ct).ConfigureAwait(false);
            if (!tagsById.TryGetValue(image.Id, out var tags))
            {
                tagsById[image.Id] = tags = [];
                order.Add(image);
            }
            if (Reference.TryParse(name, out var named, out _) && named.Digest is null
                && image.Tags.Contains(named.WithDefaultTag().ToString()) && !tags.Contains(named.WithDefaultTag()))
            {
                tags.Add(named.WithDefaultTag());
            }
        }
        await using var writer = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true);
        if (format == ArchiveFormat.Docker)
        {
            await SaveDockerAsync(writer, order, tagsById, ct).ConfigureAwait(false);
        }
        else
        {
            await SaveOciAsync(writer, order, tagsById, ct).ConfigureAwait(false);
        }
    }

    private async Task SaveDockerAsync(TarWriter writer, List<ImageRecord> order, Dictionary<Digest, List<Reference>> tagsById, CancellationToken ct)
    {
        var entries = new List<DockerArchiveEntry>();
        var repositories = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        var writtenLayers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var image in order)
        {
            var manifest = await ReadManifestAsync(image.ManifestDigest, ct).ConfigureAwait(false);
            var diffIds = image.Config.RootFs.DiffIds;
            var layerPaths = new List<string>();
            string? parentChain = null;
            string? parentLayerId = null;
            for (var i = 0; i < manifest.Layers.Count; i++)
            {
                var chain = ILayerUnpacker.ChainId(parentChain, diffIds[i]);
                // The legacy layer ID only has to be unique per position in the stack; the chainID is.
                var layerId = Digest.Parse(chain).Hex;
                if (writtenLayers.Add(layerId))
                {
                    await WriteBytesAsync(writer, layerId + "/VERSION", "1.0"u8.ToArray(), ct).ConfigureAwait(false);
                    var legacy = new DockerLegacyLayer { Id = layerId, Parent = parentLayerId, Os = image.Config.Os };
                    await WriteBytesAsync(writer, layerId + "/json", JsonSerializer.SerializeToUtf8Bytes(legacy, DistributionJsonContext.Default.DockerLegacyLayer), ct).ConfigureAwait(false);
                    await WriteUncompressedLayerAsync(writer, layerId + "/layer.tar", manifest.Layers[i], ct).ConfigureAwait(false);
                }
                layerPaths.Add(layerId + "/layer.tar");
                parentChain = chain;
                parentLayerId = layerId;
            }
            var configName = image.Id.Hex + ".json";
            await WriteBlobAsync(writer, configName, image.Id, ct).ConfigureAwait(false);
            var tags = tagsById[image.Id];
            entries.Add(new DockerArchiveEntry { Config = configName, RepoTags = tags.Count > 0 ? tags.Select(t => t.FamiliarString()).ToList() : null, Layers = layerPaths });
            foreach (var tag in tags)
            {
                if (!repositories.TryGetValue(tag.FamiliarName, out var byTag))
                {
                    repositories[tag.FamiliarName] = byTag = new Dictionary<string, string>(StringComparer.Ordinal);
                }
                if (parentLayerId is not null)
                {
                    byTag[tag.Tag!] = parentLayerId;
                }
            }
        }
        await WriteBytesAsync(writer, "manifest.json", JsonSerializer.SerializeToUtf8Bytes(entries, DistributionJsonContext.Default.ListDockerArchiveEntry), ct).ConfigureAwait(false);
        if (repositories.Count > 0)
        {
            await WriteBytesAsync(writer, "repositories", JsonSerializer.SerializeToUtf8Bytes(repositories, DistributionJsonContext.Default.DictionaryStringDictionaryStringString), ct).ConfigureAwait(false);
        }
    }

    private async Task SaveOciAsync(TarWriter writer, List<ImageRecord> order, Dictionary<Digest, List<Reference>> tagsById, CancellationToken ct)
    {
        var written = new HashSet<Digest>();
        var index = new ImageIndex();
        await WriteBytesAsync(writer, "oci-layout", JsonSerializer.SerializeToUtf8Bytes(new OciLayoutFile(), DistributionJsonContext.Default.OciLayoutFile), ct).ConfigureAwait(false);
        foreach (var image in order)
        {
            var manifestBytes = await ReadAllAsync(image.ManifestDigest, ct).ConfigureAwait(false);
            var manifest = JsonSerializer.Deserialize(manifestBytes, OciJsonContext.Default.ImageManifest)!;
            foreach (var blob in manifest.Layers.Append(manifest.Config))
            {
                if (written.Add(blob.Digest))
                {
                    await WriteBlobAsync(writer, "blobs/sha256/" + blob.Digest.Hex, blob.Digest, ct).ConfigureAwait(false);
                }
            }
            if (written.Add(image.ManifestDigest))
            {
                await WriteBytesAsync(writer, "blobs/sha256/" + image.ManifestDigest.Hex, manifestBytes, ct).ConfigureAwait(false);
            }
            var mediaType = string.IsNullOrEmpty(manifest.MediaType) ? MediaTypes.OciManifest : manifest.MediaType;
            var tags = tagsById[image.Id];
            if (tags.Count == 0)
            {
                index.Manifests.Add(new Descriptor { MediaType = mediaType, Digest = image.ManifestDigest, Size = manifestBytes.Length });
            }
            foreach (var tag in tags)
            {
                index.Manifests.Add(new Descriptor
                {
                    MediaType = mediaType,
                    Digest = image.ManifestDigest,
                    Size = manifestBytes.Length,
                    Annotations = new Dictionary<string, string> { [ContainerdNameAnnotation] = tag.ToString(), [OciRefNameAnnotation] = tag.Tag! },
                });
            }
        }
        await WriteBytesAsync(writer, "index.json", JsonSerializer.SerializeToUtf8Bytes(index, OciJsonContext.Default.ImageIndex), ct).ConfigureAwait(false);
    }

    private static async Task WriteBytesAsync(TarWriter writer, string name, byte[] bytes, CancellationToken ct)
    {
        var entry = new UstarTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(bytes, writable: false),
            Mode = (UnixFileMode)0x1A4,
            ModificationTime = Epoch,
        };
        await writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
    }

    private async Task WriteBlobAsync(TarWriter writer, string name, Digest digest, CancellationToken ct)
    {
        await using var blob = content.OpenRead(digest);
        var entry = new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = blob, Mode = (UnixFileMode)0x1A4, ModificationTime = Epoch };
        await writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
    }

    private async Task WriteUncompressedLayerAsync(TarWriter writer, string name, Descriptor layer, CancellationToken ct)
    {
        await using var blob = content.OpenRead(layer.Digest);
        var (isGzip, peeked) = await Compression.PeekAsync(blob, ct).ConfigureAwait(false);
        if (!isGzip)
        {
            await peeked.DisposeAsync().ConfigureAwait(false);
            await WriteBlobAsync(writer, name, layer.Digest, ct).ConfigureAwait(false);
            return;
        }
        // A tar header needs the size up front: inflate into a private temporary file first.
        Directory.CreateDirectory(options.TmpRoot);
        var tmp = Path.Combine(options.TmpRoot, "save-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await using (var gz = new System.IO.Compression.GZipStream(peeked, System.IO.Compression.CompressionMode.Decompress, leaveOpen: true))
                {
                    await gz.CopyToAsync(file, ct).ConfigureAwait(false);
                }
                file.Position = 0;
                var entry = new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = file, Mode = (UnixFileMode)0x1A4, ModificationTime = Epoch };
                await writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            File.Delete(tmp);
        }
    }

    private async Task<byte[]> ReadAllAsync(Digest digest, CancellationToken ct)
    {
        await using var stream = content.OpenRead(digest);
        var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, ct).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private async Task<ImageManifest> ReadManifestAsync(Digest digest, CancellationToken ct) =>
        JsonSerializer.Deserialize(await ReadAllAsync(digest, ct).ConfigureAwait(false), OciJsonContext.Default.ImageManifest)
            ?? throw MockerException.InvalidArgument($"manifest {digest} is empty");

    /// <summary>
    /// <c>POST /images/load?quiet=</c>: reads a docker-save or OCI-layout tar (optionally gzip-compressed) from
    /// <paramref name="input"/>. Reports, unless <paramref name="quiet"/>, "Loading layer" progress per layer, and always
    /// {"stream":"Loaded image: name:tag\n"} per tag or {"stream":"Loaded image ID: sha256:…\n"} for an untagged image.
    /// Errors: InvalidArgument for an archive in neither layout, an entry escaping the archive root, or content whose
    /// digest or diffID does not match what the archive claims.
    /// </summary>
    /// <returns>The IDs of the loaded images, in archive order.</returns>
    public async Task<IReadOnlyList<Digest>> LoadAsync(Stream input, bool quiet, IProgress<JsonMessage> progress, CancellationToken ct)
    {
        Directory.CreateDirectory(options.TmpRoot);
        var root = Path.Combine(options.TmpRoot, "load-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            var tree = await ExtractAsync(input, root, ct).ConfigureAwait(false);
            if (tree.Exists("manifest.json"))
            {
                return await LoadDockerAsync(tree, quiet, progress, ct).ConfigureAwait(false);
            }
            if (tree.Exists("index.json"))
            {
                return await LoadOciAsync(tree, quiet, progress, ct).ConfigureAwait(false);
            }
            throw MockerException.InvalidArgument("invalid image archive: neither manifest.json (docker save) nor index.json (OCI layout) found");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The extracted archive: regular files under a private root plus links resolved to archive paths.</summary>
    private sealed class ArchiveTree(string root)
    {
        public Dictionary<string, string> Links { get; } = new(StringComparer.Ordinal);

        public string? Resolve(string archivePath)
        {
            var path = Normalize(archivePath);
            for (var hops = 0; path is not null && hops < 16; hops++)
            {
                if (!Links.TryGetValue(path, out var target))
                {
                    var full = Path.Combine(root, path);
                    return File.Exists(full) ? full : null;
                }
                path = target;
            }
            return null;
        }

        public bool Exists(string archivePath) => Resolve(archivePath) is not null;

        public FileStream Open(string archivePath) =>
            Resolve(archivePath) is { } full
                ? new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous)
                : throw MockerException.InvalidArgument($"invalid image archive: {archivePath} is missing");

        /// <summary>"a/./b/../c" → "a/c"; null when the path is absolute or climbs above the root.</summary>
        public static string? Normalize(string path)
        {
            if (path.StartsWith('/'))
            {
                return null;
            }
            var parts = new List<string>();
            foreach (var part in path.Split('/'))
            {
                if (part is "" or ".")
                {
                    continue;
                }
                if (part == "..")
                {
                    if (parts.Count == 0)
                    {
                        return null;
                    }
                    parts.RemoveAt(parts.Count - 1);
                    continue;
                }
                parts.Add(part);
            }
            return parts.Count == 0 ? null : string.Join('/', parts);
        }
    }

    private static async Task<ArchiveTree> ExtractAsync(Stream input, string root, CancellationToken ct)
    {
        var tree = new ArchiveTree(root);
        await using var decompressed = await Compression.OpenDecompressedAsync(input, ct).ConfigureAwait(false);
        await using var reader = new TarReader(decompressed, leaveOpen: true);
        var files = 0;
        while (await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is { } entry)
        {
            var path = ArchiveTree.Normalize(entry.Name);
            if (path is null)
            {
                if (entry.EntryType == TarEntryType.Directory)
                {
                    continue;
                }
                throw MockerException.InvalidArgument($"invalid image archive: entry \"{entry.Name}\" escapes the archive root");
            }
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(Path.Combine(root, path));
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    // A later regular file replaces an earlier link of the same name.
                    tree.Links.Remove(path);
                    var full = Path.Combine(root, path);
                    Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                    await using (var file = new FileStream(full, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
                    {
                        if (entry.DataStream is { } data)
                        {
                            await data.CopyToAsync(file, ct).ConfigureAwait(false);
                        }
                    }
                    files++;
                    break;
                case TarEntryType.SymbolicLink:
                    var dir = path.Contains('/') ? path[..path.LastIndexOf('/')] : "";
                    var target = entry.LinkName.StartsWith('/') ? null : ArchiveTree.Normalize(dir.Length > 0 ? dir + "/" + entry.LinkName : entry.LinkName);
                    tree.Links[path] = target ?? throw MockerException.InvalidArgument($"invalid image archive: link \"{entry.Name}\" escapes the archive root");
                    break;
                case TarEntryType.HardLink:
                    tree.Links[path] = ArchiveTree.Normalize(entry.LinkName)
                        ?? throw MockerException.InvalidArgument($"invalid image archive: link \"{entry.Name}\" escapes the archive root");
                    break;
                default:
                    break;
            }
        }
        if (files == 0)
        {
            throw MockerException.InvalidArgument("invalid image archive: no files found (is the input a tar archive?)");
        }
        return tree;
    }

    private static async Task<byte[]> ReadDocumentAsync(ArchiveTree tree, string path, CancellationToken ct)
    {
        await using var file = tree.Open(path);
        if (file.Length > MaxDocumentBytes)
        {
            throw MockerException.InvalidArgument($"invalid image archive: {path} is larger than {MaxDocumentBytes} bytes");
        }
        var bytes = new byte[file.Length];
        await file.ReadExactlyAsync(bytes, ct).ConfigureAwait(false);
        return bytes;
    }

    private async Task<IReadOnlyList<Digest>> LoadDockerAsync(ArchiveTree tree, bool quiet, IProgress<JsonMessage> progress, CancellationToken ct)
    {
        var entries = JsonSerializer.Deserialize(await ReadDocumentAsync(tree, "manifest.json", ct).ConfigureAwait(false), DistributionJsonContext.Default.ListDockerArchiveEntry)
            ?? throw MockerException.InvalidArgument("invalid image archive: empty manifest.json");
        var loaded = new List<Digest>();
        foreach (var entry in entries)
        {
            var configBytes = await ReadDocumentAsync(tree, entry.Config, ct).ConfigureAwait(false);
            var layers = entry.Layers.Select(path => new ArchivedLayer(path, null)).ToList();
            var tags = (entry.RepoTags ?? []).Select(t => Reference.Parse(t).WithDefaultTag()).ToList();
            loaded.Add(await LoadImageAsync(tree, configBytes, null, layers, tags, quiet, progress, ct).ConfigureAwait(false));
        }
        return loaded;
    }

    private async Task<IReadOnlyList<Digest>> LoadOciAsync(ArchiveTree tree, bool quiet, IProgress<JsonMessage> progress, CancellationToken ct)
    {
        var index = JsonSerializer.Deserialize(await ReadDocumentAsync(tree, "index.json", ct).ConfigureAwait(false), OciJsonContext.Default.ImageIndex)
            ?? throw MockerException.InvalidArgument("invalid image archive: empty index.json");
        var byManifest = new Dictionary<Digest, (byte[] Bytes, string MediaType, List<Reference> Tags)>();
        var order = new List<Digest>();
        foreach (var top in index.Manifests)
        {
            var descriptor = top;
            var bytes = await ReadVerifiedBlobAsync(tree, descriptor.Digest, ct).ConfigureAwait(false);
            if (ManifestSelector.IsIndex(descriptor.MediaType))
            {
                var nested = JsonSerializer.Deserialize(bytes, OciJsonContext.Default.ImageIndex)
                    ?? throw MockerException.InvalidArgument($"invalid image archive: index {descriptor.Digest} is empty");
                descriptor = ManifestSelector.SelectPlatform(nested, ManifestSelector.DefaultPlatform);
                bytes = await ReadVerifiedBlobAsync(tree, descriptor.Digest, ct).ConfigureAwait(false);
            }
            if (!byManifest.TryGetValue(descriptor.Digest, out var item))
            {
                item = (bytes, descriptor.MediaType, []);
                byManifest[descriptor.Digest] = item;
                order.Add(descriptor.Digest);
            }
            if (ImageName(top.Annotations) is { } name && !item.Tags.Contains(name))
            {
                item.Tags.Add(name);
            }
        }
        var loaded = new List<Digest>();
        foreach (var digest in order)
        {
            var (bytes, mediaType, tags) = byManifest[digest];
            var manifest = JsonSerializer.Deserialize(bytes, OciJsonContext.Default.ImageManifest)
                ?? throw MockerException.InvalidArgument($"invalid image archive: manifest {digest} is empty");
            var configBytes = await ReadVerifiedBlobAsync(tree, manifest.Config.Digest, ct).ConfigureAwait(false);
            var layers = manifest.Layers.Select(l => new ArchivedLayer("blobs/sha256/" + l.Digest.Hex, l)).ToList();
            loaded.Add(await LoadImageAsync(tree, configBytes, (bytes, mediaType, manifest), layers, tags, quiet, progress, ct).ConfigureAwait(false));
        }
        return loaded;
    }

    /// <summary>containerd's image name annotation, else a ref.name that is a full reference (a bare tag names nothing).</summary>
    private static Reference? ImageName(Dictionary<string, string>? annotations)
    {
        if (annotations is null)
        {
            return null;
        }
        if (annotations.TryGetValue(ContainerdNameAnnotation, out var full) && Reference.TryParse(full, out var named, out _))
        {
            return named.WithDefaultTag();
        }
        if (annotations.TryGetValue(OciRefNameAnnotation, out var refName) && (refName.Contains('/') || refName.Contains(':'))
            && Reference.TryParse(refName, out var byRefName, out _))
        {
            return byRefName.WithDefaultTag();
        }
        return null;
    }

    private static async Task<byte[]> ReadVerifiedBlobAsync(ArchiveTree tree, Digest digest, CancellationToken ct)
    {
        var bytes = await ReadDocumentAsync(tree, "blobs/sha256/" + digest.Hex, ct).ConfigureAwait(false);
        if (Digest.Compute(bytes) != digest)
        {
            throw MockerException.InvalidArgument($"invalid image archive: blob {digest} has digest {Digest.Compute(bytes)}");
        }
        return bytes;
    }

    /// <summary>A layer inside the archive: its path and, for OCI layouts, the descriptor the manifest gives it.</summary>
    private sealed record ArchivedLayer(string Path, Descriptor? Descriptor);

    private async Task<Digest> LoadImageAsync(ArchiveTree tree, byte[] configBytes, (byte[] Bytes, string MediaType, ImageManifest Manifest)? ociManifest,
        IReadOnlyList<ArchivedLayer> layers, IReadOnlyList<Reference> tags, bool quiet, IProgress<JsonMessage> progress, CancellationToken ct)
    {
        var config = JsonSerializer.Deserialize(configBytes, OciJsonContext.Default.ImageConfig)
            ?? throw MockerException.InvalidArgument("invalid image archive: empty image config");
        var diffIds = config.RootFs.DiffIds;
        if (diffIds.Count != layers.Count)
        {
            throw MockerException.InvalidArgument($"invalid image archive: config lists {diffIds.Count} diffIDs for {layers.Count} layers");
        }
        var descriptors = new List<Descriptor>();
        string? parent = null;
        long size = 0;
        for (var i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var id = diffIds[i].Short;
            Descriptor stored;
            await using (var file = tree.Open(layer.Path))
            {
                var total = file.Length;
                if (!quiet)
                {
                    progress.Report(ProgressText.Progress(id, "Loading layer", 0, total));
                }
                if (layer.Descriptor is { } declared)
                {
                    if (declared.Size != total)
                    {
                        throw MockerException.InvalidArgument($"invalid image archive: layer {declared.Digest} has {total} bytes, the manifest says {declared.Size}");
                    }
                    stored = await content.WriteAsync(file, declared.MediaType, declared.Digest, ct).ConfigureAwait(false);
                }
                else
                {
                    var (isGzip, peeked) = await Compression.PeekAsync(file, ct).ConfigureAwait(false);
                    stored = await content.WriteAsync(peeked, isGzip ? MediaTypes.OciLayerGzip : MediaTypes.OciLayer, null, ct).ConfigureAwait(false);
                }
            }
            descriptors.Add(stored);
            var chain = ILayerUnpacker.ChainId(parent, diffIds[i]);
            if (await snapshotter.StatAsync(chain, ct).ConfigureAwait(false) is null)
            {
                await using var blob = content.OpenRead(stored.Digest);
                var unpacked = await unpacker.UnpackAsync(blob, parent, diffIds[i], ct).ConfigureAwait(false);
                size += unpacked.Size;
            }
            else
            {
                size += await snapshotter.UsageAsync(chain, ct).ConfigureAwait(false);
            }
            if (!quiet)
            {
                progress.Report(ProgressText.Progress(id, "Loading layer", stored.Size, stored.Size));
            }
            parent = chain;
        }
        var configDesc = await content.WriteAsync(configBytes, ociManifest?.Manifest.Config.MediaType ?? MediaTypes.OciConfig, ct).ConfigureAwait(false);
        Descriptor manifestDesc;
        if (ociManifest is { } oci)
        {
            manifestDesc = await content.WriteAsync(oci.Bytes, oci.MediaType, ct).ConfigureAwait(false);
        }
        else
        {
            manifestDesc = await ImageBlobs.WriteManifestAsync(content, configDesc, descriptors, ct).ConfigureAwait(false);
        }
        var existing = await images.FindAsync(configDesc.Digest.ToString(), ct).ConfigureAwait(false);
        var record = new ImageRecord
        {
            Id = configDesc.Digest,
            ManifestDigest = manifestDesc.Digest,
            Config = config,
            TopChainId = parent,
            Size = size,
            CreatedAt = existing?.CreatedAt ?? DateTimeOffset.UtcNow,
            Parent = existing?.Parent,
        };
        await images.PutAsync(record, tags.Select(t => t.ToString()).ToList(), ct).ConfigureAwait(false);
        if (logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation("loaded image {Id} with {Count} tag(s)", record.Id, tags.Count);
        }
        if (tags.Count == 0)
        {
            progress.Report(new JsonMessage { stream = $"Loaded image ID: {record.Id}\n" });
        }
        foreach (var tag in tags)
        {
            progress.Report(new JsonMessage { stream = $"Loaded image: {tag.FamiliarString()}\n" });
        }
        return record.Id;
    }
}

using System.Diagnostics;
using System.Formats.Tar;
using System.Globalization;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Mocker.Api;
using Mocker.Engine.Content;
using Mocker.Engine.Errors;
using Mocker.Engine.Snapshots;

namespace Mocker.Engine.Images;

/// <summary>
/// <see cref="IImageService"/> over the content store, image store and snapshotter. Behaviour and message texts follow
/// Docker's daemon/images (image_delete.go, image_history.go, image_prune.go, images.go, image_import.go).
/// </summary>
public sealed class ImageService(
    EngineOptions options,
    IContentStore content,
    IImageStore store,
    ISnapshotter snapshotter,
    ILayerUnpacker unpacker,
    Func<ContainerConfig, IReadOnlyList<string>, ContainerConfig> applyChanges,
    ILogger<ImageService> logger) : IImageService
{
    private const string None = "<none>";

    public async Task<IReadOnlyList<ImageSummary>> ListAsync(ImageListOptions listOptions, CancellationToken ct)
    {
        var images = await store.ListAsync(ct).ConfigureAwait(false);
        var filters = listOptions.Filters;
        var before = await BoundaryAsync(filters, "before", ct).ConfigureAwait(false);
        var since = await BoundaryAsync(filters, "since", ct).ConfigureAwait(false);
        var parents = images.Where(i => i.Parent is not null).Select(i => i.Parent!.Value).ToHashSet();
        var result = new List<ImageSummary>();
        foreach (var img in images)
        {
            var created = CreatedOf(img);
            if ((before is { } b && created >= b) || (since is { } s && created <= s))
            {
                continue;
            }
            if (filters.TryGetValue("dangling", out var dangling) && dangling.Count > 0 && (img.Tags.Count == 0) != IsTrue(dangling[0]))
            {
                continue;
            }
            if (!MatchesLabels(img, filters))
            {
                continue;
            }
            var tags = img.Tags.Select(Reference.Parse).ToList();
            if (filters.TryGetValue("reference", out var patterns) && patterns.Count > 0)
            {
                tags = tags.Where(t => patterns.Any(t.FamiliarMatch)).ToList();
                if (tags.Count == 0)
                {
                    continue;
                }
            }
            var digests = img.RepoDigests.Select(d => Reference.Parse(d).FamiliarString()).ToList();
            var untagged = tags.Count == 0 && digests.Count == 0;
            if (!listOptions.All && untagged && parents.Contains(img.Id))
            {
                continue; // intermediate image: shown only with all=1
            }
            result.Add(new ImageSummary
            {
                Id = img.Id.ToString(),
                ParentId = img.Parent?.ToString() ?? "",
                RepoTags = untagged ? [$"{None}:{None}"] : tags.Select(t => t.FamiliarString()).ToList(),
                RepoDigests = untagged ? [$"{None}@{None}"] : digests.Count == 0 ? null : digests,
                Created = created.ToUnixTimeSeconds(),
                Size = img.Size,
                VirtualSize = img.Size,
                Labels = img.Config.Config?.Labels,
            });
        }
        return result;
    }

    public async Task<ImageInspectResponse> InspectAsync(string name, CancellationToken ct)
    {
        var img = await store.GetAsync(name, ct).ConfigureAwait(false);
        var graph = await GraphDriverDataAsync(img.TopChainId, ct).ConfigureAwait(false);
        return new ImageInspectResponse
        {
            Id = img.Id.ToString(),
            RepoTags = img.Tags.Select(t => Reference.Parse(t).FamiliarString()).ToList(),
            RepoDigests = img.RepoDigests.Select(d => Reference.Parse(d).FamiliarString()).ToList(),
            Parent = img.Parent?.ToString() ?? "",
            Comment = img.Config.Comment ?? "",
            Created = RfcNano(CreatedOf(img)),
            Author = img.Config.Author ?? "",
            Config = img.Config.Config,
            Architecture = img.Config.Architecture,
            Variant = img.Config.Variant,
            Os = img.Config.Os,
            Size = img.Size,
            VirtualSize = img.Size,
            GraphDriver = new GraphDriverData { Name = "overlay2", Data = graph },
            RootFS = new RootFS { Layers = img.Config.RootFs.DiffIds.Select(d => d.ToString()).ToList() },
            Metadata = new ImageMetadata { LastTagTime = img.LastTagTime is { } t ? RfcNano(t) : "0001-01-01T00:00:00Z" },
        };
    }

    /// <summary>overlay2-style GraphDriver.Data: UpperDir is the top layer, LowerDir the layers below it (top first).</summary>
    private async Task<Dictionary<string, string>> GraphDriverDataAsync(string? topChainId, CancellationToken ct)
    {
        var dirs = new List<string>();
        for (var key = topChainId; key is not null && await snapshotter.StatAsync(key, ct).ConfigureAwait(false) is { } info; key = info.Parent)
        {
            dirs.Add(await snapshotter.GetChangesDirAsync(key, ct).ConfigureAwait(false));
        }
        var data = new Dictionary<string, string>();
        if (dirs.Count > 0)
        {
            data["UpperDir"] = dirs[0];
        }
        if (dirs.Count > 1)
        {
            data["LowerDir"] = string.Join(':', dirs.Skip(1));
        }
        return data;
    }

    public async Task TagAsync(string source, string repository, string? tag, CancellationToken ct)
    {
        var img = await store.GetAsync(source, ct).ConfigureAwait(false);
        var reference = Reference.Parse(repository);
        if (reference.Digest is not null)
        {
            throw MockerException.InvalidArgument("refusing to create a tag with a digest reference");
        }
        reference = string.IsNullOrEmpty(tag) ? reference.WithDefaultTag() : reference.WithTag(tag);
        await store.TagAsync(img.Id, reference.ToString(), ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ImageDeleteResponseItem>> RemoveAsync(string name, bool force, bool noPrune, Func<string, ImageUser?> imageUser, CancellationToken ct) =>
        (await RemoveCoreAsync(name, force, !noPrune, imageUser, ct).ConfigureAwait(false)).Items;

    /// <summary>
    /// Docker's ImageDelete: untag when named by reference and other references remain; otherwise check conflicts, delete,
    /// and (with <paramref name="pruneParents"/>) delete parents left dangling and unused. Returns the items and bytes freed.
    /// </summary>
    private async Task<(List<ImageDeleteResponseItem> Items, long Reclaimed)> RemoveCoreAsync(string name, bool force, bool pruneParents, Func<string, ImageUser?> imageUser, CancellationToken ct)
    {
        var img = await store.GetAsync(name, ct).ConfigureAwait(false);
        var id = img.Id.ToString();
        var items = new List<ImageDeleteResponseItem>();
        var refs = img.Tags.Concat(img.RepoDigests).ToList();
        var byId = IsIdPrefix(img.Id, name);
        if (!byId)
        {
            // Docker refuses only when this is the last reference: untagging it would leave a container's image dangling.
            if (!force && IsSingleReference(refs) && imageUser(id) is { } user)
            {
                throw MockerException.Conflict($"conflict: unable to remove repository reference \"{name}\" (must force) - container {user.ContainerId[..12]} is using its referenced image {img.Id.Short}");
            }
            var reference = Reference.Parse(name).WithDefaultTag();
            await store.UntagAsync(reference.ToString(), ct).ConfigureAwait(false);
            items.Add(new ImageDeleteResponseItem { Untagged = reference.FamiliarString() });
            if (refs.Count > 1)
            {
                return (items, 0);
            }
        }
        else if (!force && !IsSingleReference(refs))
        {
            throw MockerException.Conflict($"conflict: unable to delete {img.Id.Short} (must be forced) - image is referenced in multiple repositories");
        }
        var all = await store.ListAsync(ct).ConfigureAwait(false);
        if (all.Any(i => i.Parent == img.Id))
        {
            throw MockerException.Conflict($"conflict: unable to delete {img.Id.Short} (cannot be forced) - image has dependent child images");
        }
        switch (imageUser(id))
        {
            case { Running: true } running:
                throw MockerException.Conflict($"conflict: unable to delete {img.Id.Short} (cannot be forced) - image is being used by running container {running.ContainerId[..12]}");
            case { } stopped when !force:
                throw MockerException.Conflict($"conflict: unable to delete {img.Id.Short} (must be forced) - image is being used by stopped container {stopped.ContainerId[..12]}");
        }
        foreach (var r in byId && (force || IsSingleReference(refs)) ? refs : [])
        {
            items.Add(new ImageDeleteResponseItem { Untagged = Reference.Parse(r).FamiliarString() });
        }
        var reclaimed = await DeleteImageAsync(img, items, ct).ConfigureAwait(false);
        for (var parentId = pruneParents ? img.Parent : null; parentId is { } p;)
        {
            var parent = await store.FindAsync(p.ToString(), ct).ConfigureAwait(false);
            if (parent is null || parent.Tags.Count + parent.RepoDigests.Count > 0 || imageUser(p.ToString()) is not null
                || (await store.ListAsync(ct).ConfigureAwait(false)).Any(i => i.Parent == p))
            {
                break;
            }
            reclaimed += await DeleteImageAsync(parent, items, ct).ConfigureAwait(false);
            parentId = parent.Parent;
        }
        return (items, reclaimed);
    }

    /// <summary>Deletes the image record, then the snapshots and blobs no remaining image needs; returns the bytes freed.</summary>
    private async Task<long> DeleteImageAsync(ImageRecord img, List<ImageDeleteResponseItem> items, CancellationToken ct)
    {
        await store.DeleteAsync(img.Id, ct).ConfigureAwait(false);
        items.Add(new ImageDeleteResponseItem { Deleted = img.Id.ToString() });
        var remaining = (await store.ListAsync(ct).ConfigureAwait(false)).ToList();
        var reclaimed = await RemoveSnapshotsAsync(img, remaining, items, ct).ConfigureAwait(false);
        await RemoveBlobsAsync(img, remaining, ct).ConfigureAwait(false);
        return reclaimed;
    }

    /// <summary>
    /// Docker's isSingleReference: at most one tag, and any digest references belong to that tag's repository. Deleting by
    /// ID then removes those references without force.
    /// </summary>
    private static bool IsSingleReference(List<string> refs)
    {
        if (refs.Count <= 1)
        {
            return true;
        }
        var parsed = refs.Select(Reference.Parse).ToList();
        var tags = parsed.Where(r => r.Digest is null).ToList();
        var digestRepos = parsed.Where(r => r.Digest is not null).Select(r => r.Name).Distinct().ToList();
        if (tags.Count > 1)
        {
            return false;
        }
        var single = tags.Count == 1 ? tags[0] : parsed[0];
        return digestRepos.Count == 1 && digestRepos[0] == single.Name;
    }

    private static bool IsIdPrefix(Digest id, string name)
    {
        var hex = name.StartsWith(Digest.Sha256Prefix, StringComparison.Ordinal) ? name[Digest.Sha256Prefix.Length..] : name;
        return hex.Length > 0 && id.Hex.StartsWith(hex, StringComparison.Ordinal);
    }

    /// <summary>Removes the image's layer snapshots top-down until one is still used (by another image, or as a parent).</summary>
    private async Task<long> RemoveSnapshotsAsync(ImageRecord img, List<ImageRecord> remaining, List<ImageDeleteResponseItem> items, CancellationToken ct)
    {
        var used = remaining.Where(i => i.TopChainId is not null).Select(i => i.TopChainId!).ToHashSet();
        long reclaimed = 0;
        for (var key = img.TopChainId; key is not null && !used.Contains(key);)
        {
            var info = await snapshotter.StatAsync(key, ct).ConfigureAwait(false);
            if (info is null)
            {
                break;
            }
            var size = await snapshotter.UsageAsync(key, ct).ConfigureAwait(false);
            try
            {
                await snapshotter.RemoveAsync(key, ct).ConfigureAwait(false);
            }
            catch (MockerException e) when (e.Kind == ErrorKind.Conflict)
            {
                break;
            }
            reclaimed += size;
            items.Add(new ImageDeleteResponseItem { Deleted = key });
            key = info.Parent;
        }
        return reclaimed;
    }

    private async Task RemoveBlobsAsync(ImageRecord img, List<ImageRecord> remaining, CancellationToken ct)
    {
        var keep = await ReferencedBlobsAsync(remaining, ct).ConfigureAwait(false);
        foreach (var d in (await ReferencedBlobsAsync([img], ct).ConfigureAwait(false)).Where(d => !keep.Contains(d)))
        {
            await content.DeleteAsync(d, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Config, manifest and layer blobs the given images need.</summary>
    private async Task<HashSet<Digest>> ReferencedBlobsAsync(IEnumerable<ImageRecord> images, CancellationToken ct)
    {
        var blobs = new HashSet<Digest>();
        foreach (var image in images)
        {
            blobs.Add(image.ManifestDigest);
            blobs.Add(image.Id);
            if (await ReadManifestAsync(image.ManifestDigest, ct).ConfigureAwait(false) is { } m)
            {
                blobs.UnionWith(m.Layers.Select(l => l.Digest));
            }
        }
        return blobs;
    }

    private async Task<ImageManifest?> ReadManifestAsync(Digest digest, CancellationToken ct)
    {
        if (!content.Exists(digest))
        {
            return null;
        }
        await using var s = content.OpenRead(digest);
        return await JsonSerializer.DeserializeAsync(s, OciJsonContext.Default.ImageManifest, ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ImageHistoryItem>> HistoryAsync(string name, CancellationToken ct)
    {
        var img = await store.GetAsync(name, ct).ConfigureAwait(false);
        var items = new List<ImageHistoryItem>();
        var layer = 0;
        string? chain = null;
        foreach (var h in img.Config.History ?? [])
        {
            long size = 0;
            if (!h.EmptyLayer && layer < img.Config.RootFs.DiffIds.Count)
            {
                chain = ILayerUnpacker.ChainId(chain, img.Config.RootFs.DiffIds[layer++]);
                size = await snapshotter.StatAsync(chain, ct).ConfigureAwait(false) is null ? 0 : await snapshotter.UsageAsync(chain, ct).ConfigureAwait(false);
            }
            items.Insert(0, new ImageHistoryItem
            {
                Created = ParseTime(h.Created)?.ToUnixTimeSeconds() ?? 0,
                CreatedBy = h.CreatedBy ?? "",
                Comment = h.Comment ?? "",
                Size = size,
            });
        }
        var current = img;
        for (var i = 0; i < items.Count && current is not null; i++)
        {
            items[i] = items[i] with
            {
                Id = current.Id.ToString(),
                Tags = current.Tags.Count == 0 ? null : current.Tags.Select(t => Reference.Parse(t).FamiliarString()).ToList(),
            };
            current = current.Parent is { } p ? await store.FindAsync(p.ToString(), ct).ConfigureAwait(false) : null;
        }
        return items;
    }

    public async Task<ImagePruneResponse> PruneAsync(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, Func<string, ImageUser?> imageUser, CancellationToken ct)
    {
        var danglingOnly = !filters.TryGetValue("dangling", out var d) || d.Count == 0 || IsTrue(d[0]);
        DateTimeOffset? until = filters.TryGetValue("until", out var u) && u.Count > 0 ? ParseUntil(u[0]) : null;
        var images = await store.ListAsync(ct).ConfigureAwait(false);
        var parents = images.Where(i => i.Parent is not null).Select(i => i.Parent!.Value).ToHashSet();
        var deleted = new List<ImageDeleteResponseItem>();
        long reclaimed = 0;
        foreach (var img in images)
        {
            if ((danglingOnly && (img.Tags.Count > 0 || parents.Contains(img.Id))) || imageUser(img.Id.ToString()) is not null
                || (until is { } t && CreatedOf(img) >= t) || !MatchesLabels(img, filters))
            {
                continue;
            }
            try
            {
                var (items, bytes) = await RemoveCoreAsync(img.Id.ToString(), force: !danglingOnly, pruneParents: true, imageUser, ct).ConfigureAwait(false);
                deleted.AddRange(items);
                reclaimed += bytes;
            }
            catch (MockerException e) when (e.Kind is ErrorKind.Conflict or ErrorKind.NotFound)
            {
                if (logger.IsEnabled(LogLevel.Debug))
                {
                    logger.LogDebug("prune skipped {Image}: {Reason}", img.Id, e.Message);
                }
            }
        }
        return new ImagePruneResponse { ImagesDeleted = deleted.Count == 0 ? null : deleted, SpaceReclaimed = reclaimed };
    }

    public async Task<string> ImportAsync(Stream tarball, ImportOptions importOptions, IProgress<JsonMessage>? progress, CancellationToken ct)
    {
        Reference? target = null;
        if (!string.IsNullOrEmpty(importOptions.Repository))
        {
            target = Reference.Parse(importOptions.Repository);
            if (target.Digest is not null)
            {
                throw MockerException.InvalidArgument("cannot import digest reference");
            }
            if (!string.IsNullOrEmpty(importOptions.Tag))
            {
                target = target.WithTag(importOptions.Tag);
            }
        }
        var config = applyChanges(new ContainerConfig(), importOptions.Changes);
        var (os, arch, variant) = ParsePlatform(importOptions.Platform);
        var id = await ImportLayerAsync(tarball, config, DateTimeOffset.UtcNow, importOptions.Message, os, arch, variant, target, ct).ConfigureAwait(false);
        progress?.Report(new JsonMessage { status = id });
        return id;
    }

    public async Task<string> BootstrapAsync(string name, string? tag, IProgress<JsonMessage>? progress, CancellationToken ct)
    {
        if (name != "busybox")
        {
            throw MockerException.InvalidArgument($"unsupported bootstrap image \"{name}\": only \"busybox\" is supported");
        }
        var target = Reference.Parse(name).WithTag(string.IsNullOrEmpty(tag) ? Reference.DefaultTag : tag);
        Directory.CreateDirectory(options.TmpRoot);
        var tarPath = Path.Combine(options.TmpRoot, "bootstrap-" + Guid.NewGuid().ToString("N") + ".tar");
        try
        {
            var mtime = File.GetLastWriteTimeUtc(options.BusyboxPath);
            var stamp = new DateTimeOffset(mtime.Ticks - mtime.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
            var applets = await ListAppletsAsync(ct).ConfigureAwait(false);
            await using (var file = new FileStream(tarPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await BusyboxRootfs.WriteAsync(file, options.BusyboxPath, applets, stamp, ct).ConfigureAwait(false);
            }
            progress?.Report(new JsonMessage { status = $"Bootstrapping {target.FamiliarString()} from {options.BusyboxPath}" });
            await using var input = new FileStream(tarPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
            var id = await ImportLayerAsync(input, new ContainerConfig { Env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd = ["sh"] }, stamp, null, "linux", "amd64", null, target, ct).ConfigureAwait(false);
            progress?.Report(new JsonMessage { status = id });
            return id;
        }
        finally
        {
            File.Delete(tarPath);
        }
    }

    private async Task<List<string>> ListAppletsAsync(CancellationToken ct)
    {
        var psi = new ProcessStartInfo(options.BusyboxPath, "--list-full") { RedirectStandardOutput = true, UseShellExecute = false };
        using var proc = Process.Start(psi) ?? throw new MockerException(ErrorKind.Internal, $"cannot run {options.BusyboxPath}");
        var output = await proc.StandardOutput.ReadToEndAsync(ct).ConfigureAwait(false);
        await proc.WaitForExitAsync(ct).ConfigureAwait(false);
        if (proc.ExitCode != 0)
        {
            throw new MockerException(ErrorKind.Internal, $"{options.BusyboxPath} --list-full exited with {proc.ExitCode}");
        }
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
    }

    /// <summary>
    /// Stores the layer blob (compression kept as sent), unpacks it into a committed snapshot, writes config and
    /// manifest, then records the image with its tag in one transaction — last, so a failure leaves no image.
    /// </summary>
    private async Task<string> ImportLayerAsync(Stream tarball, ContainerConfig config, DateTimeOffset created, string? message,
        string os, string arch, string? variant, Reference? target, CancellationToken ct)
    {
        var (isGzip, input) = await Compression.PeekAsync(tarball, ct).ConfigureAwait(false);
        var mediaType = isGzip ? MediaTypes.OciLayerGzip : MediaTypes.OciLayer;
        // One pass over the body: the unpacker reads through a tee whose copy streams into the content store.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false));
        var tee = new TeeStream(input, pipe.Writer);
        Descriptor? layerDesc = null;
        var storing = Task.Run(async () =>
        {
            await using var reader = pipe.Reader.AsStream();
            layerDesc = await content.WriteAsync(reader, mediaType, null, ct).ConfigureAwait(false);
        }, ct);
        UnpackedLayer unpacked;
        try
        {
            try
            {
                unpacked = await unpacker.UnpackAsync(tee, null, null, ct).ConfigureAwait(false);
                await tee.CompleteAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                await pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
                throw;
            }
            finally
            {
                await storing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            await storing.ConfigureAwait(false);
        }
        catch
        {
            if (layerDesc is { } written
                && !(await ReferencedBlobsAsync(await store.ListAsync(CancellationToken.None).ConfigureAwait(false), CancellationToken.None).ConfigureAwait(false)).Contains(written.Digest))
            {
                await content.DeleteAsync(written.Digest, CancellationToken.None).ConfigureAwait(false);
            }
            throw;
        }
        var createdText = RfcNano(created);
        var imageConfig = new ImageConfig
        {
            Created = createdText,
            Architecture = arch,
            Os = os,
            Variant = variant,
            Config = config,
            Comment = string.IsNullOrEmpty(message) ? null : message,
            RootFs = new ImageRootFs { DiffIds = [unpacked.DiffId] },
            History = [new HistoryEntry { Created = createdText, CreatedBy = "", Comment = string.IsNullOrEmpty(message) ? null : message }],
        };
        var (configDesc, manifestDesc) = await ImageBlobs.WriteAsync(content, imageConfig, [layerDesc!], ct).ConfigureAwait(false);
        var record = new ImageRecord
        {
            Id = configDesc.Digest,
            ManifestDigest = manifestDesc.Digest,
            Config = imageConfig,
            TopChainId = unpacked.ChainId,
            Size = unpacked.Size,
            CreatedAt = DateTimeOffset.UtcNow,
        };
        await store.PutAsync(record, target is null ? [] : [target.WithDefaultTag().ToString()], ct).ConfigureAwait(false);
        if (logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation("imported image {Id} ({Tag})", record.Id, target?.FamiliarString() ?? "untagged");
        }
        return record.Id.ToString();
    }

    private static (string Os, string Arch, string? Variant) ParsePlatform(string? platform)
    {
        if (string.IsNullOrEmpty(platform))
        {
            return ("linux", "amd64", null);
        }
        var parts = platform.Split('/');
        return (parts[0], parts.Length > 1 ? parts[1] : "amd64", parts.Length > 2 ? parts[2] : null);
    }

    private async Task<DateTimeOffset?> BoundaryAsync(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, string key, CancellationToken ct)
    {
        if (!filters.TryGetValue(key, out var values) || values.Count == 0)
        {
            return null;
        }
        return CreatedOf(await store.GetAsync(values[0], ct).ConfigureAwait(false));
    }

    private static bool MatchesLabels(ImageRecord img, IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        var labels = img.Config.Config?.Labels ?? [];
        bool Has(string spec)
        {
            var eq = spec.IndexOf('=');
            return eq < 0 ? labels.ContainsKey(spec) : labels.TryGetValue(spec[..eq], out var v) && v == spec[(eq + 1)..];
        }
        return (!filters.TryGetValue("label", out var want) || want.All(Has))
            && (!filters.TryGetValue("label!", out var not) || !not.Any(Has));
    }

    private static bool IsTrue(string value) => value is "true" or "1" or "True" or "TRUE";

    private static DateTimeOffset CreatedOf(ImageRecord img) => ParseTime(img.Config.Created) ?? img.CreatedAt;

    private static DateTimeOffset? ParseTime(string? text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    /// <summary>Docker's "until" accepts a Unix timestamp, a Go duration ("24h", "1h30m") or an RFC 3339 time.</summary>
    private static DateTimeOffset ParseUntil(string value)
    {
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var unix))
        {
            return DateTimeOffset.UnixEpoch.AddSeconds(unix);
        }
        var m = System.Text.RegularExpressions.Regex.Matches(value, @"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)");
        if (m.Count > 0 && string.Concat(m.Select(x => x.Value)) == value)
        {
            var total = TimeSpan.Zero;
            foreach (System.Text.RegularExpressions.Match x in m)
            {
                var n = double.Parse(x.Groups[1].Value, CultureInfo.InvariantCulture);
                total += x.Groups[2].Value switch
                {
                    "h" => TimeSpan.FromHours(n),
                    "m" => TimeSpan.FromMinutes(n),
                    "s" => TimeSpan.FromSeconds(n),
                    "ms" => TimeSpan.FromMilliseconds(n),
                    _ => TimeSpan.Zero,
                };
            }
            return DateTimeOffset.UtcNow - total;
        }
        return ParseTime(value) ?? throw MockerException.InvalidArgument($"invalid filter 'until={value}'");
    }

    /// <summary>RFC 3339 with up to 9 fractional digits, trailing zeros trimmed (Go's time.RFC3339Nano).</summary>
    internal static string RfcNano(DateTimeOffset t)
    {
        var s = t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture).TrimEnd('0').TrimEnd('.');
        return s + "Z";
    }
}

/// <summary>Writes a deterministic busybox root filesystem tar (sorted entries, fixed mtime, root ownership).</summary>
internal static class BusyboxRootfs
{
    private static readonly string[] Dirs = ["bin", "dev", "etc", "home", "proc", "root", "sys", "tmp", "usr", "usr/bin", "usr/sbin", "sbin", "var", "var/spool", "var/spool/mail", "var/www"];

    private const string Passwd = """
        root:x:0:0:root:/root:/bin/sh
        daemon:x:1:1:daemon:/usr/sbin:/bin/false
        bin:x:2:2:bin:/bin:/bin/false
        sys:x:3:3:sys:/dev:/bin/false
        sync:x:4:100:sync:/bin:/bin/sync
        mail:x:8:8:mail:/var/spool/mail:/bin/false
        www-data:x:33:33:www-data:/var/www:/bin/false
        operator:x:37:37:Operator:/var:/bin/false
        nobody:x:65534:65534:nobody:/home:/bin/false

        """;

    private const string Group = """
        root:x:0:
        daemon:x:1:
        bin:x:2:
        sys:x:3:
        adm:x:4:
        tty:x:5:
        disk:x:6:
        wheel:x:10:root
        mail:x:12:
        www-data:x:33:
        operator:x:37:
        staff:x:50:
        users:x:100:
        nogroup:x:65534:

        """;

    public static async Task WriteAsync(Stream output, string busyboxPath, IReadOnlyList<string> applets, DateTimeOffset mtime, CancellationToken ct)
    {
        var entries = new SortedDictionary<string, Func<TarEntry>>(StringComparer.Ordinal);
        foreach (var dir in Dirs)
        {
            var mode = dir == "tmp" ? (UnixFileMode)Convert.ToInt32("1777", 8) : dir == "root" ? (UnixFileMode)Convert.ToInt32("700", 8) : (UnixFileMode)Convert.ToInt32("755", 8);
            entries[dir + "/"] = () => new GnuTarEntry(TarEntryType.Directory, dir + "/") { Mode = mode, ModificationTime = mtime };
        }
        entries["etc/passwd"] = () => TextFile("etc/passwd", Passwd, mtime);
        entries["etc/group"] = () => TextFile("etc/group", Group, mtime);
        entries["bin/busybox"] = () => new GnuTarEntry(TarEntryType.RegularFile, "bin/busybox")
        {
            Mode = (UnixFileMode)Convert.ToInt32("755", 8),
            ModificationTime = mtime,
            DataStream = File.OpenRead(busyboxPath),
        };
        foreach (var applet in applets)
        {
            var path = applet.TrimStart('/');
            if (path.Length == 0 || path == "bin/busybox" || entries.ContainsKey(path))
            {
                continue;
            }
            var depth = path.Count(c => c == '/');
            var target = string.Concat(Enumerable.Repeat("../", depth)) + "bin/busybox";
            var dir = Path.GetDirectoryName(path)!;
            if (!entries.ContainsKey(dir + "/"))
            {
                entries[dir + "/"] = () => new GnuTarEntry(TarEntryType.Directory, dir + "/") { Mode = (UnixFileMode)Convert.ToInt32("755", 8), ModificationTime = mtime };
            }
            entries[path] = () => new GnuTarEntry(TarEntryType.SymbolicLink, path) { LinkName = target, Mode = (UnixFileMode)Convert.ToInt32("777", 8), ModificationTime = mtime };
        }
        await using var writer = new TarWriter(output, TarEntryFormat.Gnu, leaveOpen: true);
        foreach (var make in entries.Values)
        {
            var entry = make();
            await writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
            if (entry.DataStream is { } s)
            {
                await s.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static GnuTarEntry TextFile(string name, string text, DateTimeOffset mtime) =>
        new(TarEntryType.RegularFile, name)
        {
            Mode = (UnixFileMode)Convert.ToInt32("644", 8),
            ModificationTime = mtime,
            DataStream = new MemoryStream(System.Text.Encoding.ASCII.GetBytes(text.ReplaceLineEndings("\n"))),
        };
}

using System.Globalization;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Mocker.Api;
using Mocker.Engine.Content;
using Mocker.Engine.Errors;
using Mocker.Engine.Images;
using Mocker.Engine.Snapshots;

namespace Mocker.Engine.Containers;

/// <summary>
/// <c>docker commit</c> and <c>docker export</c> (moby daemon/commit.go, daemon/export.go). Commit diffs the
/// container's upper directory into a gzip layer blob (diffID from the uncompressed stream, digest from the compressed
/// one, one pass), unpacks that blob on top of the image's top snapshot into a committed chainID snapshot (the
/// container keeps its own active snapshot), and records config and manifest last, so a failure leaves no image.
/// The new config is the container's config with <see cref="CommitOptions.Changes"/> applied, one history entry
/// carrying comment and author, and Parent = the container's image.
/// </summary>
public sealed class ContainerImages(
    ContainerService containers,
    IContentStore content,
    IImageStore images,
    ILayerDiffer differ,
    ILayerUnpacker unpacker,
    Func<ContainerConfig, IReadOnlyList<string>, ContainerConfig> applyChanges,
    ILogger<ContainerImages> logger) : IContainerImages
{
    /// <summary>
    /// Errors: NotFound "No such container: X"; InvalidArgument for a malformed repository or change, or a digest
    /// reference. Pausing is not supported: <see cref="CommitOptions.Pause"/> is accepted and the diff is taken live,
    /// under the container's lock.
    /// </summary>
    public async Task<string> CommitAsync(string container, CommitOptions options, CancellationToken ct)
    {
        Reference? target = null;
        if (!string.IsNullOrEmpty(options.Repository))
        {
            target = Reference.Parse(options.Repository);
            if (target.Digest is not null)
            {
                throw MockerException.InvalidArgument("cannot commit to a digest reference");
            }
            target = target.WithTag(string.IsNullOrEmpty(options.Tag) ? Reference.DefaultTag : options.Tag);
        }
        var rec = containers.Get(container);
        var config = applyChanges(rec.Config, options.Changes);
        var image = await images.GetAsync(rec.ImageId, ct).ConfigureAwait(false);
        ImageManifest baseManifest;
        await using (var ms = content.OpenRead(image.ManifestDigest))
        {
            baseManifest = await JsonSerializer.DeserializeAsync(ms, OciJsonContext.Default.ImageManifest, ct).ConfigureAwait(false)
                ?? throw new MockerException(ErrorKind.Internal, $"manifest {image.ManifestDigest} of image {image.Id} is empty");
        }
        var (blob, diffId) = await containers.WithRootfsAsync(rec.Id, mount: false, async (r, _) =>
        {
            var upper = await containers.ChangesDirAsync(r.Id, ct).ConfigureAwait(false);
            var (b, layer) = await LayerBlobs.DiffToBlobAsync(differ, content, upper, ct).ConfigureAwait(false);
            return (b, layer.DiffId);
        }, ct).ConfigureAwait(false);
        UnpackedLayer unpacked;
        await using (var layer = content.OpenRead(blob.Digest))
        {
            unpacked = await unpacker.UnpackAsync(layer, image.TopChainId, diffId, ct).ConfigureAwait(false);
        }
        var now = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);
        var comment = string.IsNullOrEmpty(options.Comment) ? null : options.Comment;
        var author = string.IsNullOrEmpty(options.Author) ? null : options.Author;
        var history = new List<HistoryEntry>(image.Config.History ?? [])
        {
            new() { Created = now, CreatedBy = string.Join(' ', [rec.Path, .. rec.Args]), Author = author, Comment = comment },
        };
        var imageConfig = image.Config with
        {
            Created = now,
            Author = author,
            Comment = comment,
            Config = config,
            RootFs = new ImageRootFs { DiffIds = [.. image.Config.RootFs.DiffIds, unpacked.DiffId] },
            History = history,
        };
        var (configDesc, manifestDesc) = await ImageBlobs.WriteAsync(content, imageConfig, [.. baseManifest.Layers, blob], ct).ConfigureAwait(false);
        var record = new ImageRecord
        {
            Id = configDesc.Digest,
            ManifestDigest = manifestDesc.Digest,
            Config = imageConfig,
            TopChainId = unpacked.ChainId,
            Size = image.Size + unpacked.Size,
            CreatedAt = DateTimeOffset.UtcNow,
            Parent = image.Id,
        };
        await images.PutAsync(record, target is null ? [] : [target.ToString()], ct).ConfigureAwait(false);
        if (logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation("committed container {Container} as image {Id} ({Tag})", rec.Id, record.Id, target?.FamiliarString() ?? "untagged");
        }
        return record.Id.ToString();
    }

    /// <summary>Errors: NotFound "No such container: X". The tar holds the merged view, so no whiteouts appear in it.</summary>
    public Task ExportAsync(string container, Stream output, CancellationToken ct) =>
        containers.WithRootfsAsync(container, mount: true, async (_, rootfs) => await differ.DiffAsync(rootfs, output, ct).ConfigureAwait(false), ct);
}

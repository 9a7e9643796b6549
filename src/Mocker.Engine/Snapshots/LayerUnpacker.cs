using Mocker.Engine.Content;
using Mocker.Engine.Errors;

namespace Mocker.Engine.Snapshots;

/// <summary>
/// <see cref="ILayerUnpacker"/>: applies a layer in a temporary active snapshot "extract-&lt;random&gt;" and commits
/// it as its chainID (containerd core/unpack), so a failure at any point leaves no committed snapshot behind.
/// </summary>
public sealed class LayerUnpacker(ISnapshotter snapshotter, ILayerApplier applier) : ILayerUnpacker
{
    private const string TempPrefix = "extract-";

    /// <summary>Removes temporary snapshots of unpacks interrupted by a crash. Call at daemon start, before any unpack.</summary>
    public async Task CleanupAsync(CancellationToken ct)
    {
        foreach (var info in await snapshotter.ListAsync(ct).ConfigureAwait(false))
        {
            if (info.Key.StartsWith(TempPrefix, StringComparison.Ordinal))
            {
                await snapshotter.RemoveAsync(info.Key, ct).ConfigureAwait(false);
            }
        }
    }

    public async Task<UnpackedLayer> UnpackAsync(Stream layer, string? parentChainId, Digest? expectedDiffId, CancellationToken ct)
    {
        var key = TempPrefix + Guid.NewGuid().ToString("N");
        await snapshotter.PrepareAsync(key, parentChainId, ct).ConfigureAwait(false);
        try
        {
            var dir = await snapshotter.GetChangesDirAsync(key, ct).ConfigureAwait(false);
            var applied = await applier.ApplyAsync(layer, dir, ct).ConfigureAwait(false);
            if (expectedDiffId is { } want && want != applied.DiffId)
            {
                throw MockerException.InvalidArgument($"failed to verify layer: diffID {applied.DiffId} does not match expected {want}");
            }
            var chainId = ILayerUnpacker.ChainId(parentChainId, applied.DiffId);
            if (await snapshotter.StatAsync(chainId, ct).ConfigureAwait(false) is null)
            {
                var size = await snapshotter.UsageAsync(key, ct).ConfigureAwait(false);
                try
                {
                    await snapshotter.CommitAsync(chainId, key, ct).ConfigureAwait(false);
                    return new UnpackedLayer(applied.DiffId, chainId, size);
                }
                catch (MockerException e) when (e.Kind == ErrorKind.Conflict)
                {
                    // Another unpack of the same layer committed first; use its snapshot.
                }
            }
            await snapshotter.RemoveAsync(key, CancellationToken.None).ConfigureAwait(false);
            return new UnpackedLayer(applied.DiffId, chainId, await snapshotter.UsageAsync(chainId, ct).ConfigureAwait(false));
        }
        catch
        {
            await snapshotter.RemoveAsync(key, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }
}

using Mocker.Engine.Content;

namespace Mocker.Engine.Snapshots;

/// <summary>Result of applying or producing a layer: the diffID (sha256 of the uncompressed tar) and its size in bytes.</summary>
public sealed record LayerDigest(Digest DiffId, long UncompressedSize);

/// <summary>
/// Applies a layer tar (plain or gzip, detected by magic) to a snapshot's changes directory, converting OCI whiteouts
/// (".wh.name", ".wh..wh..opq", image-spec layer.md "Whiteouts") to overlayfs form (0/0 char device, trusted.overlay.opaque=y).
/// Safety (containerd archive.Apply, CVE-2018-15664 class): entries never land outside <c>targetDir</c>: absolute
/// names and ".." are confined, symlinks in parent components are resolved inside the root, hard links must point inside.
/// A hostile entry fails the whole apply with MockerException(InvalidArgument) naming the entry.
/// </summary>
public interface ILayerApplier
{
    Task<LayerDigest> ApplyAsync(Stream layer, string targetDir, CancellationToken ct);
}

/// <summary>
/// Writes the changes held in an overlay upper directory as an OCI layer tar: char devices 0/0 become ".wh.name",
/// opaque directories get ".wh..wh..opq". Entries are sorted, uid/gid/mode/mtime/xattrs preserved.
/// </summary>
public interface ILayerDiffer
{
    /// <summary>Writes the uncompressed tar to <paramref name="output"/>; returns its diffID and size.</summary>
    Task<LayerDigest> DiffAsync(string upperDir, Stream output, CancellationToken ct);
}

/// <summary>The committed snapshot made from one layer: its diffID, chainID (image-spec config.md "Layer ChainID") and usage.</summary>
public sealed record UnpackedLayer(Digest DiffId, string ChainId, long Size);

/// <summary>Creates committed snapshots from layer blobs, reusing the one with the same chainID when present.</summary>
public interface ILayerUnpacker
{
    /// <summary>
    /// Applies <paramref name="layer"/> on top of committed snapshot <paramref name="parentChainId"/> (null for the
    /// bottom layer) in a temporary active snapshot, computes the diffID while reading, and commits it under
    /// chainID = diffID (bottom) or sha256(parentChainId + " " + diffID). When that snapshot already exists the
    /// temporary one is dropped. A diffID differing from <paramref name="expectedDiffId"/> fails with InvalidArgument
    /// and leaves nothing behind.
    /// </summary>
    Task<UnpackedLayer> UnpackAsync(Stream layer, string? parentChainId, Digest? expectedDiffId, CancellationToken ct);

    /// <summary>chainID of a layer stacked on <paramref name="parentChainId"/>.</summary>
    static string ChainId(string? parentChainId, Digest diffId) =>
        parentChainId is null
            ? diffId.ToString()
            : Digest.Compute(System.Text.Encoding.ASCII.GetBytes(parentChainId + " " + diffId)).ToString();
}

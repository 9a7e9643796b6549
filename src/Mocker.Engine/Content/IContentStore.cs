using Mocker.Engine.Images;

namespace Mocker.Engine.Content;

/// <summary>
/// Blobs addressed by digest (containerd core/content). A blob becomes visible only after its bytes were
/// fully written, fsynced and verified against the expected digest and size; an interrupted write
/// leaves nothing but an ingest file that <see cref="CleanupIngestsAsync"/> removes.
/// Layout under the data root: content/blobs/sha256/&lt;hex&gt;, content/ingest/&lt;random&gt;.
/// </summary>
public interface IContentStore
{
    /// <summary>True when the blob is committed.</summary>
    bool Exists(Digest digest);

    /// <summary>Size in bytes of a committed blob, or null when absent.</summary>
    long? SizeOf(Digest digest);

    /// <summary>Opens a committed blob for reading. Throws MockerException(NotFound) when absent.</summary>
    Stream OpenRead(Digest digest);

    /// <summary>
    /// Streams <paramref name="content"/> into the store, hashing on the way, and commits it atomically
    /// (temp file + fsync + rename). When <paramref name="expected"/> is given and differs, nothing is
    /// committed and MockerException(InvalidArgument) names both digests. Writing an existing blob is a no-op
    /// apart from reading the input.
    /// </summary>
    Task<Descriptor> WriteAsync(Stream content, string mediaType, Digest? expected, CancellationToken ct);

    /// <summary>Stores a small in-memory blob (manifests, configs).</summary>
    Task<Descriptor> WriteAsync(ReadOnlyMemory<byte> content, string mediaType, CancellationToken ct);

    /// <summary>Deletes a blob; absent blobs are ignored.</summary>
    Task DeleteAsync(Digest digest, CancellationToken ct);

    /// <summary>All committed blob digests.</summary>
    IEnumerable<Digest> List();

    /// <summary>Removes leftovers of interrupted writes (called at daemon start).</summary>
    Task CleanupIngestsAsync(CancellationToken ct);
}

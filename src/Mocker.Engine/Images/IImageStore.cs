using Mocker.Engine.Content;

namespace Mocker.Engine.Images;

/// <summary>
/// An image known to the daemon: its ID (the config digest), the manifest that names its blobs, the parsed
/// config, and the snapshot key (chainID of the top layer; null for an image with no layers) from which
/// containers and builds are prepared.
/// </summary>
public sealed record ImageRecord
{
    /// <summary>The config digest; Docker's image ID.</summary>
    public required Digest Id { get; init; }
    public required Digest ManifestDigest { get; init; }
    public required ImageConfig Config { get; init; }
    /// <summary>chainID of the top layer ("sha256:…"): the committed snapshot name; null when there are no layers.</summary>
    public string? TopChainId { get; init; }
    /// <summary>Normalised references ("docker.io/library/busybox:latest") pointing at this image.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>"repo@sha256:…" references recorded by pull and push.</summary>
    public IReadOnlyList<string> RepoDigests { get; init; } = [];
    /// <summary>Sum of the unpacked layer sizes, bytes.</summary>
    public long Size { get; init; }
    /// <summary>When the image record was created (UTC).</summary>
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>The image this one was built or committed from locally (Docker's Parent); null otherwise.</summary>
    public Digest? Parent { get; init; }
    /// <summary>When a reference was last pointed at this image (Docker's Metadata.LastTagTime); null when never tagged. Set by the store.</summary>
    public DateTimeOffset? LastTagTime { get; init; }
}

/// <summary>
/// Name → image metadata, persisted in the metadata database. Lookup accepts what Docker's does:
/// a full or short reference ("busybox", "busybox:1", "docker.io/library/busybox:latest", "repo@sha256:…"),
/// a full image ID ("sha256:&lt;hex&gt;" or "&lt;hex&gt;") or a unique ID prefix.
/// </summary>
public interface IImageStore
{
    /// <summary>Resolves a reference or ID; null when nothing matches. Throws MockerException(InvalidArgument) for a malformed reference.</summary>
    Task<ImageRecord?> FindAsync(string nameOrId, CancellationToken ct);

    /// <summary>Like <see cref="FindAsync"/> but throws MockerException(NotFound) "No such image: X".</summary>
    Task<ImageRecord> GetAsync(string nameOrId, CancellationToken ct);

    Task<IReadOnlyList<ImageRecord>> ListAsync(CancellationToken ct);

    /// <summary>
    /// Records an image whose blobs and snapshots already exist, and points <paramref name="tags"/> at it,
    /// in one transaction (so a crash never shows a half-made image). Tags moved from another image leave
    /// that image dangling, as Docker does.
    /// </summary>
    Task PutAsync(ImageRecord image, IReadOnlyList<string> tags, CancellationToken ct);

    /// <summary>Points a normalised reference at an image.</summary>
    Task TagAsync(Digest imageId, string reference, CancellationToken ct);

    /// <summary>Removes one reference; returns false when it did not exist.</summary>
    Task<bool> UntagAsync(string reference, CancellationToken ct);

    /// <summary>Deletes the image record (not its blobs or snapshots).</summary>
    Task DeleteAsync(Digest imageId, CancellationToken ct);
}

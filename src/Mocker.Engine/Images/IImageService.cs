using Mocker.Api;

namespace Mocker.Engine.Images;

/// <summary>A container using an image: what Docker's image-delete conflicts name (daemon/images/image_delete.go).</summary>
public sealed record ImageUser(string ContainerId, bool Running);

/// <summary>Filters of <c>GET /images/json</c>: key → accepted values (both Docker filter forms normalise to this).</summary>
public sealed record ImageListOptions(bool All, IReadOnlyDictionary<string, IReadOnlyList<string>> Filters);

/// <summary>Options of <c>POST /images/create?fromSrc=-</c> and <c>mocker import</c>.</summary>
/// <param name="Repository">"repo" or "repo:tag" (the docker CLI puts the tag inside repo), or null for an untagged image.</param>
/// <param name="Tag">Separate tag parameter, if any.</param>
/// <param name="Changes">Dockerfile instructions to apply to the config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL.</param>
/// <param name="Message">Commit message stored as the history comment.</param>
/// <param name="Platform">"os/arch" of the image config; default linux/amd64.</param>
public sealed record ImportOptions(string? Repository, string? Tag, IReadOnlyList<string> Changes, string? Message, string? Platform);

/// <summary>
/// Image operations behind the Engine API image endpoints. Errors follow Docker: MockerException(NotFound)
/// "No such image: X", Conflict for deleting an image used by a container or with several tags without force.
/// </summary>
public interface IImageService
{
    Task<IReadOnlyList<ImageSummary>> ListAsync(ImageListOptions options, CancellationToken ct);

    Task<ImageInspectResponse> InspectAsync(string name, CancellationToken ct);

    /// <summary><c>POST /images/{name}/tag?repo=&amp;tag=</c>. Repo may come normalised ("docker.io/library/bb").</summary>
    Task TagAsync(string source, string repository, string? tag, CancellationToken ct);

    /// <summary>
    /// <c>DELETE /images/{name}</c>: untags when the name is a reference and other references remain, else deletes
    /// the image and its unreferenced layers. <paramref name="imageUser"/> returns a container using an image ID, running
    /// ones first, or null (the container service owns that knowledge). As in Docker, an image used by a running container
    /// cannot be deleted even with force; a stopped container's image needs force; untagging the last reference of an image
    /// a container uses needs force.
    /// </summary>
    Task<IReadOnlyList<ImageDeleteResponseItem>> RemoveAsync(string name, bool force, bool noPrune, Func<string, ImageUser?> imageUser, CancellationToken ct);

    Task<IReadOnlyList<ImageHistoryItem>> HistoryAsync(string name, CancellationToken ct);

    /// <summary><c>POST /images/prune</c>: dangling images (or all unused with dangling=false) not used by a container.</summary>
    Task<ImagePruneResponse> PruneAsync(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, Func<string, ImageUser?> imageUser, CancellationToken ct);

    /// <summary>Imports a rootfs tarball (plain or gzip, detected by magic) as a one-layer image; returns the image ID "sha256:…".</summary>
    Task<string> ImportAsync(Stream tarball, ImportOptions options, IProgress<JsonMessage>? progress, CancellationToken ct);

    /// <summary>
    /// Builds an image offline from host files. Supported: "busybox" (from the host's busybox-static, with applet
    /// links, /etc/passwd, /etc/group). Returns the image ID. Throws InvalidArgument for an unsupported name.
    /// </summary>
    Task<string> BootstrapAsync(string name, string? tag, IProgress<JsonMessage>? progress, CancellationToken ct);
}

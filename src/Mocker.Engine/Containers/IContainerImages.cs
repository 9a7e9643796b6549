using Mocker.Api;

namespace Mocker.Engine.Containers;

/// <summary>What <c>docker commit</c> takes besides the container (Engine API <c>POST /commit</c> query).</summary>
/// <param name="Repository">Repository to tag the new image with ("name" or "host/name"); null or empty for an untagged image.</param>
/// <param name="Tag">Tag within <paramref name="Repository"/>; null or empty means "latest".</param>
/// <param name="Changes">Dockerfile instructions applied to the config (<c>--change</c>): ENV, CMD, ENTRYPOINT, …</param>
public sealed record CommitOptions(string? Repository, string? Tag, string? Comment, string? Author, IReadOnlyList<string> Changes, bool Pause);

/// <summary>Images made from containers and container filesystems as tars (<c>POST /commit</c>, <c>GET /containers/{id}/export</c>); see <see cref="ContainerImages"/>.</summary>
public interface IContainerImages
{
    /// <summary>Commits the container's changes as a new image; returns its ID ("sha256:…").</summary>
    Task<string> CommitAsync(string container, CommitOptions options, CancellationToken ct);

    /// <summary>Writes the container's merged root filesystem as an uncompressed tar to <paramref name="output"/>.</summary>
    Task ExportAsync(string container, Stream output, CancellationToken ct);
}

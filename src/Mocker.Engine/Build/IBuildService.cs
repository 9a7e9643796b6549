using Mocker.Api;
using Mocker.Engine.Errors;

namespace Mocker.Engine.Build;

/// <summary>Options of <c>POST /build</c> (legacy builder, version=1) and <c>mocker build</c>.</summary>
public sealed record BuildOptions
{
    /// <summary>Path of the Mockerfile inside the context. Default: "Mockerfile" when present, else "Dockerfile".</summary>
    public string? Dockerfile { get; init; }
    /// <summary>References to tag the result with ("name:tag").</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>--build-arg values; a null value means "take it from the daemon's environment" (Docker semantics).</summary>
    public IReadOnlyDictionary<string, string?> BuildArgs { get; init; } = new Dictionary<string, string?>();
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public bool NoCache { get; init; }
    public bool Quiet { get; init; }
    public bool Pull { get; init; }
    public string? Target { get; init; }
    /// <summary>Network for RUN: "host" (default, as the issue requires) or "none".</summary>
    public string? NetworkMode { get; init; }
    public IReadOnlyList<string> CacheFrom { get; init; } = [];
    /// <summary>
    /// --secret values by id (the bytes of <c>src=file</c> or <c>env=VAR</c>), for <c>RUN --mount=type=secret,id=…</c>:
    /// mounted read-only (or exported as an environment variable) only for the RUN that asks, never in a layer,
    /// the cache key or history.
    /// </summary>
    public IReadOnlyDictionary<string, byte[]> Secrets { get; init; } = new Dictionary<string, byte[]>();
}

/// <summary>A failed build step. <see cref="Code"/> becomes errorDetail.code (a RUN's exit code, else 1).</summary>
public sealed class BuildException(string message, int code = 1) : MockerException(ErrorKind.InvalidArgument, message)
{
    public int Code { get; } = code;
}

/// <summary>
/// Builds an image from a build context. Progress is reported as Docker's legacy builder does
/// ({"stream":"Step 1/9 : FROM bb\n"}, " ---&gt; id", "Successfully built …", "Successfully tagged …", and the
/// {"aux":{"ID":…}} message). Failures throw <see cref="BuildException"/> (or MockerException) after progress began.
/// </summary>
public interface IBuildService
{
    /// <summary>
    /// Reads <paramref name="contextTar"/> (plain or gzip tar; the client has already applied .dockerignore) as a stream,
    /// never buffering it whole in memory, and returns the image ID "sha256:…".
    /// </summary>
    Task<string> BuildAsync(Stream contextTar, BuildOptions options, IProgress<JsonMessage> progress, CancellationToken ct);

    /// <summary>
    /// <c>POST /build/prune</c>: deletes the RUN --mount=type=cache directories and returns their ids and the bytes freed.
    /// Throws Conflict while a build runs, since a build may be using a cache. The legacy builder's step cache is made of
    /// intermediate images and goes with image prune, as in Docker.
    /// </summary>
    Task<(IReadOnlyList<string> Deleted, long SpaceReclaimed)> PruneCacheAsync(CancellationToken ct);
}

namespace Mocker.Api;

/// <summary>An entry of <c>GET /images/json</c> (Engine API <c>ImageSummary</c>).</summary>
public sealed record ImageSummary
{
    public required string Id { get; init; }
    public string ParentId { get; init; } = "";
    public List<string>? RepoTags { get; init; }
    public List<string>? RepoDigests { get; init; }
    /// <summary>Unix seconds.</summary>
    public long Created { get; init; }
    /// <summary>Bytes, all layers.</summary>
    public long Size { get; init; }
    public long SharedSize { get; init; } = -1;
    public long VirtualSize { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    public long Containers { get; init; } = -1;
}

/// <summary>Body of <c>GET /images/{name}/json</c>.</summary>
public sealed record ImageInspectResponse
{
    public required string Id { get; init; }
    public List<string> RepoTags { get; init; } = [];
    public List<string> RepoDigests { get; init; } = [];
    public string Parent { get; init; } = "";
    public string Comment { get; init; } = "";
    /// <summary>RFC 3339 with nanoseconds.</summary>
    public string Created { get; init; } = "";
    public string Container { get; init; } = "";
    public ContainerConfig? ContainerConfig { get; init; }
    public string DockerVersion { get; init; } = "";
    public string Author { get; init; } = "";
    public ContainerConfig? Config { get; init; }
    public string Architecture { get; init; } = "amd64";
    public string? Variant { get; init; }
    public string Os { get; init; } = "linux";
    public long Size { get; init; }
    public long VirtualSize { get; init; }
    public GraphDriverData GraphDriver { get; init; } = new();
    public RootFS RootFS { get; init; } = new();
    public ImageMetadata Metadata { get; init; } = new();
}

public sealed record RootFS
{
    public string Type { get; init; } = "layers";
    public List<string> Layers { get; init; } = [];
}

public sealed record ImageMetadata
{
    public string? LastTagTime { get; init; }
}

/// <summary>An entry of <c>GET /images/{name}/history</c>.</summary>
public sealed record ImageHistoryItem
{
    public string Id { get; init; } = "<missing>";
    /// <summary>Unix seconds.</summary>
    public long Created { get; init; }
    public string CreatedBy { get; init; } = "";
    public List<string>? Tags { get; init; }
    public long Size { get; init; }
    public string Comment { get; init; } = "";
}

/// <summary>An entry of <c>DELETE /images/{name}</c>: exactly one of the two is set.</summary>
public sealed record ImageDeleteResponseItem
{
    public string? Untagged { get; init; }
    public string? Deleted { get; init; }
}

public sealed record ImagePruneResponse
{
    public List<ImageDeleteResponseItem>? ImagesDeleted { get; init; }
    public long SpaceReclaimed { get; init; }
}

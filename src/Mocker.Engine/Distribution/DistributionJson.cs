using System.Text.Json.Serialization;

namespace Mocker.Engine.Distribution;

/// <summary>Registry error body (distribution-spec spec.md "Error Codes"): {"errors":[{"code","message","detail"}]}.</summary>
internal sealed record RegistryErrors
{
    [JsonPropertyName("errors")] public List<RegistryError>? Errors { get; init; }
}

internal sealed record RegistryError
{
    [JsonPropertyName("code")] public string? Code { get; init; }
    [JsonPropertyName("message")] public string? Message { get; init; }
}

/// <summary>Token endpoint reply (distribution docs/spec/auth/token.md): "token" or its OAuth2 alias "access_token".</summary>
internal sealed record TokenReply
{
    [JsonPropertyName("token")] public string? Token { get; init; }
    [JsonPropertyName("access_token")] public string? AccessToken { get; init; }
}

/// <summary>The fields every manifest-like document has, read before choosing how to parse it.</summary>
internal sealed record ManifestProbe
{
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; init; }
    [JsonPropertyName("mediaType")] public string? MediaType { get; init; }
    [JsonPropertyName("manifests")] public System.Text.Json.JsonElement? Manifests { get; init; }
    [JsonPropertyName("config")] public System.Text.Json.JsonElement? Config { get; init; }
}

/// <summary>One entry of a docker-save manifest.json (docker/docker image/tarexport).</summary>
internal sealed record DockerArchiveEntry
{
    [JsonPropertyName("Config")] public required string Config { get; init; }
    [JsonPropertyName("RepoTags")] public List<string>? RepoTags { get; init; }
    [JsonPropertyName("Layers")] public List<string> Layers { get; init; } = [];
}

/// <summary>A docker-save per-layer "json" file (legacy v1 image JSON, reduced to what docker load reads).</summary>
internal sealed record DockerLegacyLayer
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("parent"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Parent { get; init; }
    [JsonPropertyName("created")] public string Created { get; init; } = "0001-01-01T00:00:00Z";
    [JsonPropertyName("os"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Os { get; init; }
}

/// <summary>oci-layout file (image-spec image-layout.md).</summary>
internal sealed record OciLayoutFile
{
    [JsonPropertyName("imageLayoutVersion")] public string ImageLayoutVersion { get; init; } = "1.0.0";
}

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = false, WriteIndented = false)]
[JsonSerializable(typeof(ClientConfigFile))]
[JsonSerializable(typeof(CredentialHelperReply))]
[JsonSerializable(typeof(RegistryErrors))]
[JsonSerializable(typeof(TokenReply))]
[JsonSerializable(typeof(ManifestProbe))]
[JsonSerializable(typeof(List<DockerArchiveEntry>))]
[JsonSerializable(typeof(DockerLegacyLayer))]
[JsonSerializable(typeof(OciLayoutFile))]
[JsonSerializable(typeof(Dictionary<string, Dictionary<string, string>>))]
internal sealed partial class DistributionJsonContext : JsonSerializerContext;

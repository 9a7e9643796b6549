using System.Text.Json;
using Mocker.Engine.Errors;
using Mocker.Engine.Images;

namespace Mocker.Engine.Distribution;

/// <summary>
/// Manifest negotiation helpers (distribution-spec spec.md "Pulling manifests", image-spec image-index.md):
/// tells an image manifest from an index, refuses Docker schema 1, and picks the manifest for a platform from an index
/// the way containerd's platforms.Only matcher does (exact os/arch; variant must match when requested, amd64 has none
/// by default, arm64 defaults to v8).
/// </summary>
public static class ManifestSelector
{
    private const string Schema1 = "application/vnd.docker.distribution.manifest.v1+json";
    private const string Schema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";

    /// <summary>The default platform: linux/amd64.</summary>
    public static readonly Platform DefaultPlatform = new() { Os = "linux", Architecture = "amd64" };

    /// <summary>Parses "os/arch[/variant]" (the "platform" option); null or empty gives linux/amd64. Throws InvalidArgument otherwise.</summary>
    public static Platform ParsePlatform(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return DefaultPlatform;
        }
        var parts = text.Trim().ToLowerInvariant().Split('/');
        if (parts.Length is < 2 or > 3 || parts.Any(string.IsNullOrEmpty))
        {
            throw MockerException.InvalidArgument($"\"{text}\": unknown operating system or architecture: invalid argument");
        }
        return new Platform { Os = parts[0], Architecture = parts[1], Variant = parts.Length == 3 ? parts[2] : null };
    }

    /// <summary>
    /// The media type of a manifest document: its own "mediaType" field, else the Content-Type, else inferred from its
    /// shape ("manifests" → OCI index, "config" → OCI manifest). Schema 1 (schemaVersion 1 or a v1 media type) fails with
    /// InvalidArgument, as dockerd 28 does.
    /// </summary>
    public static string DetectMediaType(ReadOnlySpan<byte> bytes, string? contentType)
    {
        ManifestProbe? probe;
        try
        {
            probe = JsonSerializer.Deserialize(bytes, DistributionJsonContext.Default.ManifestProbe);
        }
        catch (JsonException e)
        {
            throw MockerException.InvalidArgument($"invalid manifest: {e.Message}");
        }
        if (probe is null)
        {
            throw MockerException.InvalidArgument("invalid manifest: empty document");
        }
        var type = !string.IsNullOrEmpty(probe.MediaType) ? probe.MediaType : contentType;
        if (probe.SchemaVersion == 1 || type is Schema1 or Schema1Signed)
        {
            throw MockerException.InvalidArgument(
                "Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of the image to push it with image manifest version 2, schema 2");
        }
        if (type is MediaTypes.OciIndex or MediaTypes.DockerManifestList or MediaTypes.OciManifest or MediaTypes.DockerManifest)
        {
            return type;
        }
        if (probe.Manifests is not null)
        {
            return MediaTypes.OciIndex;
        }
        if (probe.Config is not null)
        {
            return MediaTypes.OciManifest;
        }
        throw MockerException.InvalidArgument($"unsupported manifest media type {type ?? "(none)"}");
    }

    /// <summary>True for an OCI index or a Docker manifest list.</summary>
    public static bool IsIndex(string mediaType) => mediaType is MediaTypes.OciIndex or MediaTypes.DockerManifestList;

    /// <summary>
    /// The descriptor in <paramref name="index"/> matching <paramref name="wanted"/>. Throws NotFound
    /// "no matching manifest for os/arch in the manifest list entries" (dockerd's text) when none does.
    /// </summary>
    public static Descriptor SelectPlatform(ImageIndex index, Platform wanted)
    {
        var want = Normalize(wanted);
        foreach (var descriptor in index.Manifests)
        {
            if (descriptor.MediaType is not (MediaTypes.OciManifest or MediaTypes.DockerManifest))
            {
                continue;
            }
            if (descriptor.Platform is null)
            {
                continue;
            }
            var have = Normalize(descriptor.Platform);
            if (have.Os == want.Os && have.Architecture == want.Architecture && (want.Variant is null || have.Variant == want.Variant))
            {
                return descriptor;
            }
        }
        var text = want.Os + "/" + want.Architecture + (want.Variant is null ? "" : "/" + want.Variant);
        throw new MockerException(ErrorKind.NotFound, $"no matching manifest for {text} in the manifest list entries");
    }

    private static Platform Normalize(Platform p)
    {
        var arch = p.Architecture.ToLowerInvariant() switch
        {
            "x86_64" or "x86-64" => "amd64",
            "aarch64" => "arm64",
            "i386" => "386",
            var a => a,
        };
        var variant = string.IsNullOrEmpty(p.Variant) ? null : p.Variant.ToLowerInvariant();
        if (arch == "arm64" && variant == "v8")
        {
            variant = null;
        }
        return new Platform { Os = p.Os.ToLowerInvariant(), Architecture = arch, Variant = variant };
    }
}

using System.Text.Json;
using Mocker.Engine.Content;

namespace Mocker.Engine.Images;

/// <summary>
/// Writes the documents that make an image out of its layers (OCI image-spec manifest.md, config.md): the config blob,
/// then an OCI manifest naming it and the layers. The config digest is the image ID.
/// </summary>
internal static class ImageBlobs
{
    public static async Task<(Descriptor Config, Descriptor Manifest)> WriteAsync(IContentStore content, ImageConfig config, IReadOnlyList<Descriptor> layers, CancellationToken ct)
    {
        var configDesc = await content.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(config, OciJsonContext.Default.ImageConfig), MediaTypes.OciConfig, ct).ConfigureAwait(false);
        return (configDesc, await WriteManifestAsync(content, configDesc, layers, ct).ConfigureAwait(false));
    }

    public static Task<Descriptor> WriteManifestAsync(IContentStore content, Descriptor config, IReadOnlyList<Descriptor> layers, CancellationToken ct)
    {
        var manifest = new ImageManifest { Config = config, Layers = [.. layers] };
        return content.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(manifest, OciJsonContext.Default.ImageManifest), MediaTypes.OciManifest, ct);
    }
}

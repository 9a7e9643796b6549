using System.Text.Json.Serialization;

namespace Mocker.Engine.Images;

/// <summary>Source-generated JSON for the OCI documents the engine reads and writes (canonical: no indentation).</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = false, WriteIndented = false)]
[JsonSerializable(typeof(ImageConfig))]
[JsonSerializable(typeof(ImageManifest))]
[JsonSerializable(typeof(ImageIndex))]
[JsonSerializable(typeof(Descriptor))]
internal sealed partial class OciJsonContext : JsonSerializerContext;

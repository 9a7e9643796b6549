using System.Text.Json.Serialization;
using Mocker.Api;

namespace Mocker.Daemon.Api;

/// <summary>Daemon-side JSON metadata: message streams omit null fields, as Docker's jsonmessage does (omitempty).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JsonMessage))]
internal sealed partial class DaemonJsonContext : JsonSerializerContext;

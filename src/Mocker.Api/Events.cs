using System.Text.Json.Serialization;

namespace Mocker.Api;

/// <summary>
/// One object of the <c>GET /events</c> stream (engine-api-trace.md §1.18). Container events also carry the legacy
/// <c>status</c>/<c>id</c>/<c>from</c> fields; other types do not. <c>time</c> is Unix seconds, <c>timeNano</c> Unix nanoseconds.
/// </summary>
public sealed record EventMessage
{
    public string? status { get; init; }
    public string? id { get; init; }
    public string? from { get; init; }
    public string Type { get; init; } = "";
    public string Action { get; init; } = "";
    public EventActor Actor { get; init; } = new();
    public string scope { get; init; } = "local";
    public long time { get; init; }
    public long timeNano { get; init; }
}

/// <summary>The object of an event: its ID and attributes (for containers: name, image, exitCode, signal, labels).</summary>
public sealed record EventActor
{
    public string ID { get; init; } = "";
    public Dictionary<string, string> Attributes { get; init; } = [];
}

/// <summary>JSON metadata for the events stream: null legacy fields are omitted, as Docker's omitempty does.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(EventMessage))]
public sealed partial class EventsJsonContext : JsonSerializerContext;

using System.Text.Json.Serialization;

namespace Mocker.Cli;

/// <summary>Source-generated JSON metadata for the CLI's own values.</summary>
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(SortedDictionary<string, string>))]
internal sealed partial class CliJsonContext : JsonSerializerContext;

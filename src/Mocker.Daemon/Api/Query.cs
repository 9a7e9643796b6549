using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Mocker.Engine.Errors;

namespace Mocker.Daemon.Api;

/// <summary>Query-string parsing with Docker's semantics (engine-api-trace.md §5.7).</summary>
internal static class Query
{
    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> NoFilters = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>moby's BoolValue: "", "0", "no", "false", "none" (any case) are false, anything else true.</summary>
    public static bool IsTrue(string? value)
    {
        var v = value?.Trim() ?? "";
        return !(v.Length == 0 || v == "0" || v.Equals("no", StringComparison.OrdinalIgnoreCase)
            || v.Equals("false", StringComparison.OrdinalIgnoreCase) || v.Equals("none", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>True when <paramref name="name"/> is present and true; absent → false.</summary>
    public static bool Bool(HttpRequest request, string name) => request.Query.TryGetValue(name, out var v) && IsTrue(v.ToString());

    /// <summary>Bool with an explicit default when absent.</summary>
    public static bool Bool(HttpRequest request, string name, bool absent) =>
        request.Query.TryGetValue(name, out var v) ? IsTrue(v.ToString()) : absent;

    /// <summary>First value, or null when absent or empty.</summary>
    public static string? String(HttpRequest request, string name) =>
        request.Query.TryGetValue(name, out var v) && !string.IsNullOrEmpty(v.ToString()) ? v[0] : null;

    /// <summary>Integer parameter; null when absent or empty; InvalidArgument when not a number.</summary>
    public static int? Int(HttpRequest request, string name)
    {
        var s = String(request, name);
        if (s is null)
        {
            return null;
        }
        return int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw MockerException.InvalidArgument($"invalid value for {name}: {s}");
    }

    /// <summary>Unix timestamp with optional fraction ("1795318539", "1795318539.123456789"), or RFC 3339; null when absent or 0.</summary>
    public static DateTimeOffset? Time(HttpRequest request, string name)
    {
        var s = String(request, name);
        if (s is null)
        {
            return null;
        }
        if (decimal.TryParse(s, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
        {
            if (seconds == 0)
            {
                return null;
            }
            var ticks = decimal.Truncate(seconds * TimeSpan.TicksPerSecond);
            return DateTimeOffset.UnixEpoch.AddTicks((long)ticks);
        }
        return DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t
            : throw MockerException.InvalidArgument($"invalid value for {name}: {s}");
    }

    /// <summary>The <c>filters</c> parameter of list/prune endpoints.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Filters(HttpRequest request) =>
        ParseFilters(String(request, "filters"));

    /// <summary>
    /// Parses Docker filters JSON in both forms: map-of-bool <c>{"label":{"k=v":true}}</c> (CLI, Docker.DotNet) and list
    /// <c>{"label":["k=v"]}</c> (docker-py, dockerode). A single string value is accepted too. InvalidArgument on bad JSON.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> ParseFilters(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return NoFilters;
        }
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw MockerException.InvalidArgument("invalid filter: expected a JSON object");
            }
            var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var field in doc.RootElement.EnumerateObject())
            {
                var values = new List<string>();
                switch (field.Value.ValueKind)
                {
                    case JsonValueKind.Object:
                        foreach (var v in field.Value.EnumerateObject())
                        {
                            // moby's filters.Args.Get returns every key of the map, whatever its bool.
                            values.Add(v.Name);
                        }
                        break;
                    case JsonValueKind.Array:
                        foreach (var v in field.Value.EnumerateArray())
                        {
                            values.Add(v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText());
                        }
                        break;
                    case JsonValueKind.String:
                        values.Add(field.Value.GetString()!);
                        break;
                    case JsonValueKind.Null:
                        break;
                    default:
                        throw MockerException.InvalidArgument($"invalid filter '{field.Name}'");
                }
                result[field.Name] = values;
            }
            return result;
        }
        catch (JsonException ex)
        {
            throw MockerException.InvalidArgument($"invalid filter: {ex.Message}");
        }
    }
}

using System.Text.Json.Nodes;

namespace Mocker.Engine.Containers;

/// <summary>
/// Converts Docker's seccomp profile format (moby profiles/seccomp/default.json) into the OCI runtime-spec
/// <c>linux.seccomp</c> object, as moby's profiles/seccomp/seccomp_linux.go does: keep the rules whose
/// includes/excludes match the architecture (amd64 here) and the container's effective capabilities.
/// </summary>
public static class Seccomp
{
    private static readonly Lazy<JsonObject> DefaultProfile = new(() =>
    {
        using var s = typeof(Seccomp).Assembly.GetManifestResourceStream("Mocker.Engine.seccomp-default.json")
            ?? throw new InvalidOperationException("embedded seccomp profile missing");
        return (JsonObject)JsonNode.Parse(s)!;
    });

    private static readonly Dictionary<string, JsonObject> Cache = [];

    /// <summary>Docker's default profile (embedded copy, or <paramref name="path"/> when given).</summary>
    public static JsonObject LoadProfile(string? path) =>
        path is null ? DefaultProfile.Value : (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;

    /// <summary>The converted default profile for a capability set, cached by that set (the start path converts once per set).</summary>
    public static JsonObject ForCaps(string? profilePath, IReadOnlyCollection<string> caps)
    {
        var key = (profilePath ?? "") + "|" + string.Join(',', caps.Order(StringComparer.Ordinal));
        lock (Cache)
        {
            if (!Cache.TryGetValue(key, out var converted))
            {
                converted = Convert(LoadProfile(profilePath), caps, "amd64");
                Cache[key] = converted;
            }
            return (JsonObject)converted.DeepClone();
        }
    }

    /// <summary>Converts <paramref name="profile"/> for Go architecture <paramref name="goArch"/> and capabilities <paramref name="caps"/> ("CAP_…").</summary>
    public static JsonObject Convert(JsonObject profile, IReadOnlyCollection<string> caps, string goArch)
    {
        var result = new JsonObject { ["defaultAction"] = profile["defaultAction"]?.GetValue<string>() ?? "SCMP_ACT_ERRNO" };
        if (profile["defaultErrnoRet"] is { } der)
        {
            result["defaultErrnoRet"] = der.GetValue<int>();
        }
        var nativeArch = goArch switch { "amd64" => "SCMP_ARCH_X86_64", "arm64" => "SCMP_ARCH_AARCH64", _ => "SCMP_ARCH_X86_64" };
        var arches = new JsonArray();
        foreach (var m in profile["archMap"]?.AsArray() ?? [])
        {
            if (m!["architecture"]!.GetValue<string>() == nativeArch)
            {
                arches.Add(nativeArch);
                foreach (var sub in m["subArchitectures"]?.AsArray() ?? [])
                {
                    arches.Add(sub!.GetValue<string>());
                }
            }
        }
        result["architectures"] = arches;
        var syscalls = new JsonArray();
        foreach (var node in profile["syscalls"]?.AsArray() ?? [])
        {
            var rule = node!.AsObject();
            if (!Matches(rule["includes"] as JsonObject, rule["excludes"] as JsonObject, caps, goArch))
            {
                continue;
            }
            var o = new JsonObject
            {
                ["names"] = rule["names"]!.DeepClone(),
                ["action"] = rule["action"]!.GetValue<string>(),
            };
            if (rule["errnoRet"] is { } er)
            {
                o["errnoRet"] = er.GetValue<int>();
            }
            if (rule["args"] is JsonArray args && args.Count > 0)
            {
                o["args"] = args.DeepClone();
            }
            syscalls.Add(o);
        }
        result["syscalls"] = syscalls;
        return result;
    }

    private static bool Matches(JsonObject? includes, JsonObject? excludes, IReadOnlyCollection<string> caps, string goArch)
    {
        if (includes is not null)
        {
            if (includes["arches"] is JsonArray ia && ia.Count > 0 && !ia.Any(a => a!.GetValue<string>() == goArch))
            {
                return false;
            }
            if (includes["caps"] is JsonArray ic && ic.Count > 0 && !ic.All(c => caps.Contains(c!.GetValue<string>())))
            {
                return false;
            }
        }
        if (excludes is not null)
        {
            if (excludes["arches"] is JsonArray ea && ea.Any(a => a!.GetValue<string>() == goArch))
            {
                return false;
            }
            if (excludes["caps"] is JsonArray ec && ec.Any(c => caps.Contains(c!.GetValue<string>())))
            {
                return false;
            }
        }
        return true;
    }
}

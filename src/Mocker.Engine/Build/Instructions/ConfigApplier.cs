using Mocker.Api;

namespace Mocker.Engine.Build.Instructions;

/// <summary>
/// Applies an expanded metadata instruction to a container config as Docker's builder dispatchers do
/// (moby builder/dockerfile/dispatchers.go). Pure: returns a new config.
/// </summary>
public static class ConfigApplier
{
    /// <summary>Docker's default SHELL on Linux.</summary>
    public static readonly IReadOnlyList<string> DefaultShell = ["/bin/sh", "-c"];

    /// <summary>
    /// Returns the config after <paramref name="ins"/>; null when the instruction is not a metadata instruction
    /// (RUN, COPY, ADD, FROM, ARG, MAINTAINER).
    /// </summary>
    public static ContainerConfig? Apply(ContainerConfig c, Instruction ins) => ins switch
    {
        EnvInstruction env => c with { Env = SetEnv(c.Env, env.Pairs) },
        LabelInstruction l => c with { Labels = Merge(c.Labels, l.Pairs) },
        CmdInstruction cmd => c with { Cmd = WithShell(c, cmd.Command, cmd.PrependShell) },
        EntrypointInstruction ep => c with { Entrypoint = WithShell(c, ep.Command, ep.PrependShell) },
        ShellInstruction sh => c with { Shell = [.. sh.Shell] },
        ExposeInstruction ex => c with { ExposedPorts = AddPorts(c.ExposedPorts, ex.Ports) },
        VolumeInstruction v => c with { Volumes = AddKeys(c.Volumes, v.Paths) },
        UserInstruction u => c with { User = u.User },
        WorkdirInstruction w => c with { WorkingDir = ResolveWorkdir(c.WorkingDir, w.Path) },
        StopsignalInstruction s => c with { StopSignal = ValidateSignal(s.Signal) },
        OnbuildInstruction o => c with { OnBuild = [.. c.OnBuild ?? [], o.Expression] },
        HealthcheckInstruction h => c with { Healthcheck = h.Health },
        _ => null,
    };

    /// <summary>WORKDIR chaining: a relative path joins the current one; the result is cleaned (Go path.Clean).</summary>
    public static string ResolveWorkdir(string? current, string path)
    {
        var joined = path.StartsWith('/') ? path : (string.IsNullOrEmpty(current) ? "/" : current) + "/" + path;
        return CleanPath(joined);
    }

    /// <summary>Go's path.Clean for absolute slash paths.</summary>
    public static string CleanPath(string p)
    {
        var parts = new List<string>();
        foreach (var seg in p.Split('/'))
        {
            if (seg is "" or ".")
            {
                continue;
            }
            if (seg == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
                continue;
            }
            parts.Add(seg);
        }
        return "/" + string.Join('/', parts);
    }

    private static List<string> WithShell(ContainerConfig c, IReadOnlyList<string> cmd, bool prependShell) =>
        prependShell ? [.. (c.Shell is { Count: > 0 } ? c.Shell : DefaultShell), string.Join(' ', cmd)] : [.. cmd];

    /// <summary>Sets KEY=value entries in order, replacing an existing key in place (Docker's ENV).</summary>
    public static List<string> SetEnv(IReadOnlyList<string>? env, IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var list = env is null ? new List<string>() : [.. env];
        foreach (var (k, v) in pairs)
        {
            var idx = list.FindIndex(e => e.StartsWith(k + "=", StringComparison.Ordinal) || e == k);
            var entry = k + "=" + v;
            if (idx >= 0)
            {
                list[idx] = entry;
            }
            else
            {
                list.Add(entry);
            }
        }
        return list;
    }

    private static Dictionary<string, string> Merge(Dictionary<string, string>? labels, IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var d = labels is null ? new Dictionary<string, string>() : new Dictionary<string, string>(labels);
        foreach (var (k, v) in pairs)
        {
            d[k] = v;
        }
        return d;
    }

    private static Dictionary<string, EmptyObject> AddKeys(Dictionary<string, EmptyObject>? set, IEnumerable<string> keys)
    {
        var d = set is null ? new Dictionary<string, EmptyObject>() : new Dictionary<string, EmptyObject>(set);
        foreach (var k in keys)
        {
            d[k] = new EmptyObject();
        }
        return d;
    }

    /// <summary>EXPOSE port[/proto] and ranges "8000-8002/udp" (go-connections nat.ParsePortSpecs); proto defaults to tcp.</summary>
    public static Dictionary<string, EmptyObject> AddPorts(Dictionary<string, EmptyObject>? set, IEnumerable<string> ports)
    {
        var keys = new List<string>();
        foreach (var p in ports)
        {
            var slash = p.IndexOf('/', StringComparison.Ordinal);
            var range = slash < 0 ? p : p[..slash];
            var proto = slash < 0 ? "tcp" : p[(slash + 1)..].ToLowerInvariant();
            if (proto is not ("tcp" or "udp" or "sctp"))
            {
                throw new FormatException($"invalid proto: {proto}");
            }
            var dash = range.IndexOf('-', StringComparison.Ordinal);
            if (!ushort.TryParse(dash < 0 ? range : range[..dash], out var lo) || lo == 0)
            {
                throw new FormatException($"invalid containerPort: {range}");
            }
            var hi = lo;
            if (dash >= 0 && (!ushort.TryParse(range[(dash + 1)..], out hi) || hi < lo))
            {
                throw new FormatException($"invalid containerPort: {range}");
            }
            for (int port = lo; port <= hi; port++)
            {
                keys.Add($"{port}/{proto}");
            }
        }
        return AddKeys(set, keys);
    }

    /// <summary>STOPSIGNAL accepts a positive number or a signal name with or without "SIG" (moby signal.ParseSignal).</summary>
    private static string ValidateSignal(string s)
    {
        if (int.TryParse(s, out var number))
        {
            return number > 0 ? s : throw new FormatException($"Invalid signal: {s}");
        }
        var name = s.StartsWith("SIG", StringComparison.OrdinalIgnoreCase) ? s[3..] : s;
        var valid = name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '-');
        return valid ? s : throw new FormatException($"Invalid signal: {s}");
    }
}

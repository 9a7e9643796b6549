using System.Globalization;
using Mocker.Api;
using Mocker.Engine.Build.Parser;

namespace Mocker.Engine.Build.Instructions;

/// <summary>
/// Turns parser <see cref="Node"/>s into typed <see cref="Instruction"/>s (BuildKit instructions/parse.go): validates
/// flags and argument counts. Errors: <see cref="BuildException"/> "file:line:column: KEYWORD: message".
/// </summary>
public static class InstructionParser
{
    public static Instruction Parse(Node node, string fileName = "Mockerfile")
    {
        try
        {
            return ParseCore(node);
        }
        catch (FormatException e)
        {
            throw DockerfileParser.Error(fileName, node.StartLine, 1, $"{node.Keyword.ToUpperInvariant()}: {e.Message}");
        }
    }

    /// <summary>Flags BuildKit accepts several times on one instruction.</summary>
    private static readonly HashSet<string> RepeatableFlags = ["mount", "exclude"];

    private static Instruction ParseCore(Node node)
    {
        var (flags, repeated) = ParseFlags(node.Flags);
        var a = node.Args;
        switch (node.Keyword)
        {
            case "from":
                Allow(flags, "platform");
                if (!(a.Count == 1 || (a.Count == 3 && a[1].Equals("as", StringComparison.OrdinalIgnoreCase))))
                {
                    throw new FormatException("requires either one or three arguments");
                }
                var stage = a.Count == 3 ? a[2].ToLowerInvariant() : null;
                if (stage is not null && !IsValidStageName(stage))
                {
                    throw new FormatException($"invalid name for build stage: \"{a[2]}\", name can't start with a number or contain symbols");
                }
                return new FromInstruction(node, a[0], stage, flags.GetValueOrDefault("platform"));
            case "run":
                Allow(flags, "network", "mount");
                RequireArgs(a);
                var network = flags.GetValueOrDefault("network");
                if (network is not (null or "default" or "none" or "host"))
                {
                    throw new FormatException($"unsupported network mode \"{network}\": use default, none or host");
                }
                return new RunInstruction(node, a, !node.IsJson, network,
                    [.. repeated.GetValueOrDefault("mount", []).Select(m => RunMounts.Parse(m ?? ""))]);
            case "cmd":
                Allow(flags);
                return new CmdInstruction(node, a, !node.IsJson);
            case "entrypoint":
                Allow(flags);
                return new EntrypointInstruction(node, a, !node.IsJson);
            case "shell":
                Allow(flags);
                if (!node.IsJson)
                {
                    throw new FormatException("requires the arguments to be in JSON form");
                }
                RequireArgs(a);
                return new ShellInstruction(node, a);
            case "env":
                Allow(flags);
                RequireArgs(a);
                return new EnvInstruction(node, Pairs(a));
            case "label":
                Allow(flags);
                RequireArgs(a);
                return new LabelInstruction(node, Pairs(a));
            case "arg":
                Allow(flags);
                RequireArgs(a);
                return new ArgInstruction(node, [.. a.Select(w =>
                {
                    var eq = w.IndexOf('=', StringComparison.Ordinal);
                    return eq < 0 ? KeyValuePair.Create(w, (string?)null) : KeyValuePair.Create(w[..eq], (string?)w[(eq + 1)..]);
                })]);
            case "expose":
                Allow(flags);
                RequireArgs(a);
                return new ExposeInstruction(node, a);
            case "copy" or "add":
                var isAdd = node.Keyword == "add";
                if (isAdd)
                {
                    Allow(flags, "chown", "chmod", "link", "exclude", "checksum");
                }
                else
                {
                    Allow(flags, "from", "chown", "chmod", "link", "parents", "exclude");
                }
                if (a.Count < 2)
                {
                    throw new FormatException("requires at least two arguments, but only one was provided. Destination could not be determined");
                }
                var markers = node.Heredocs.Select(h => h.Marker).ToHashSet(StringComparer.Ordinal);
                var checksum = flags.GetValueOrDefault("checksum");
                if (checksum is not null && !checksum.StartsWith("sha256:", StringComparison.Ordinal))
                {
                    throw new FormatException($"unsupported checksum \"{checksum}\": expected sha256:<64 hex digits>");
                }
                return new CopyInstruction(node, [.. a.Take(a.Count - 1).Where(w => !markers.Contains(w))], a[^1], flags.GetValueOrDefault("from"),
                    flags.GetValueOrDefault("chown"), flags.GetValueOrDefault("chmod"), isAdd)
                {
                    Link = Bool(flags, "link"),
                    Parents = Bool(flags, "parents"),
                    Excludes = [.. repeated.GetValueOrDefault("exclude", []).Select(e => e ?? "")],
                    Checksum = checksum,
                    Heredocs = [.. node.Heredocs.Where(h => a.Take(a.Count - 1).Contains(h.Marker))],
                };
            case "volume":
                Allow(flags);
                RequireArgs(a);
                return new VolumeInstruction(node, a);
            case "user":
                Allow(flags);
                RequireExactlyOne(a);
                return new UserInstruction(node, a[0]);
            case "workdir":
                Allow(flags);
                RequireExactlyOne(a);
                return new WorkdirInstruction(node, a[0]);
            case "stopsignal":
                Allow(flags);
                RequireExactlyOne(a);
                return new StopsignalInstruction(node, a[0]);
            case "maintainer":
                Allow(flags);
                RequireExactlyOne(a);
                return new MaintainerInstruction(node, a[0]);
            case "onbuild":
                Allow(flags);
                var original = node.Original.Replace("\n", " ", StringComparison.Ordinal);
                var expr = original.Length > 7 ? original[7..].Trim() : "";
                return new OnbuildInstruction(node, expr);
            case "healthcheck":
                Allow(flags, "interval", "timeout", "start-period", "start-interval", "retries");
                return new HealthcheckInstruction(node, Health(node, flags));
            default:
                throw new FormatException($"unknown instruction: {node.Keyword.ToUpperInvariant()}");
        }
    }

    private static HealthConfig Health(Node node, Dictionary<string, string?> flags)
    {
        var a = node.Args;
        if (a.Count == 1 && a[0] == "NONE")
        {
            if (flags.Count > 0)
            {
                throw new FormatException("options cannot be used with NONE");
            }
            return new HealthConfig { Test = ["NONE"] };
        }
        if (a.Count < 2)
        {
            throw new FormatException("Missing command after HEALTHCHECK CMD");
        }
        List<string> test = node.IsJson ? ["CMD", .. a.Skip(1)] : ["CMD-SHELL", a[1]];
        var retries = 0;
        if (flags.TryGetValue("retries", out var r) && r is not null)
        {
            if (!int.TryParse(r, NumberStyles.Integer, CultureInfo.InvariantCulture, out retries) || retries < 0)
            {
                throw new FormatException($"--retries cannot be negative or non-numeric ({r})");
            }
        }
        return new HealthConfig
        {
            Test = test,
            Interval = Duration(flags, "interval"),
            Timeout = Duration(flags, "timeout"),
            StartPeriod = Duration(flags, "start-period"),
            StartInterval = Duration(flags, "start-interval"),
            Retries = retries,
        };
    }

    private static long Duration(Dictionary<string, string?> flags, string name)
    {
        if (!flags.TryGetValue(name, out var v) || v is null || v.Length == 0)
        {
            return 0;
        }
        var ns = GoDuration.Parse(v) ?? throw new FormatException($"time: invalid duration \"{v}\"");
        if (ns != 0 && ns < 1_000_000)
        {
            throw new FormatException($"Interval \"{name}\" cannot be less than 1ms");
        }
        return ns;
    }

    private static List<KeyValuePair<string, string>> Pairs(IReadOnlyList<string> a)
    {
        if (a.Count % 2 != 0)
        {
            throw new FormatException("Bad input to ENV/LABEL, too many arguments");
        }
        var list = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < a.Count; i += 2)
        {
            list.Add(KeyValuePair.Create(a[i], a[i + 1]));
        }
        return list;
    }

    private static (Dictionary<string, string?> Single, Dictionary<string, List<string?>> Repeated) ParseFlags(IReadOnlyList<string> words)
    {
        var d = new Dictionary<string, string?>(StringComparer.Ordinal);
        var repeated = new Dictionary<string, List<string?>>(StringComparer.Ordinal);
        foreach (var w in words)
        {
            var body = w[2..];
            var eq = body.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? body : body[..eq];
            var value = eq < 0 ? null : Unquote(body[(eq + 1)..]);
            if (RepeatableFlags.Contains(name))
            {
                if (value is null)
                {
                    throw new FormatException($"missing a value on flag: {name}");
                }
                if (!repeated.TryGetValue(name, out var list))
                {
                    repeated[name] = list = [];
                    d[name] = value;
                }
                list.Add(value);
            }
            else if (!d.TryAdd(name, value))
            {
                throw new FormatException($"Duplicate flag specified: {name}");
            }
        }
        return (d, repeated);
    }

    /// <summary>A Go-style boolean flag: "--link", "--link=true", "--link=false".</summary>
    private static bool Bool(Dictionary<string, string?> flags, string name)
    {
        if (!flags.TryGetValue(name, out var v))
        {
            return false;
        }
        return v switch
        {
            null or "" or "true" or "1" => true,
            "false" or "0" => false,
            _ => throw new FormatException($"expecting boolean value for flag {name}, not: {v}"),
        };
    }

    private static string Unquote(string v) =>
        v.Length >= 2 && (v[0] == '"' || v[0] == '\'') && v[^1] == v[0] ? v[1..^1] : v;

    private static void Allow(Dictionary<string, string?> flags, params string[] allowed)
    {
        foreach (var f in flags.Keys)
        {
            if (!allowed.Contains(f))
            {
                throw new FormatException($"Unknown flag: {f}");
            }
        }
    }

    private static void RequireArgs(IReadOnlyList<string> a)
    {
        if (a.Count == 0)
        {
            throw new FormatException("requires at least one argument");
        }
    }

    private static void RequireExactlyOne(IReadOnlyList<string> a)
    {
        if (a.Count != 1)
        {
            throw new FormatException("requires exactly one argument");
        }
    }

    private static bool IsValidStageName(string name) =>
        name.Length > 0 && char.IsAsciiLetter(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');
}

/// <summary>Go's time.ParseDuration subset used by HEALTHCHECK flags ("30s", "1m30s", "500ms", "1.5h"); nanoseconds.</summary>
public static class GoDuration
{
    public static long? Parse(string s)
    {
        if (s == "0")
        {
            return 0;
        }
        double total = 0;
        var i = 0;
        if (s.Length == 0)
        {
            return null;
        }
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }
            if (start == i || !double.TryParse(s[start..i], NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
            {
                return null;
            }
            var us = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.')
            {
                i++;
            }
            double unit = s[us..i] switch
            {
                "ns" => 1,
                "us" or "µs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                "h" => 3600e9,
                _ => double.NaN,
            };
            if (double.IsNaN(unit))
            {
                return null;
            }
            total += n * unit;
        }
        return (long)total;
    }
}

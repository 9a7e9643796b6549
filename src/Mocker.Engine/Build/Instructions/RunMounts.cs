using System.Globalization;

namespace Mocker.Engine.Build.Instructions;

/// <summary>
/// Parses the CSV value of <c>RUN --mount=…</c> (BuildKit instructions/commands_runmount.go): <c>type</c>
/// (bind default, cache, tmpfs, secret), <c>target|dst|destination</c>, <c>source|src</c>, <c>from</c>,
/// <c>ro|readonly</c>, <c>rw|readwrite</c>, <c>id</c>, <c>sharing</c>, <c>mode</c> (octal), <c>uid</c>, <c>gid</c>,
/// <c>size</c> (bytes, or with a k/m/g suffix, 1024-based), <c>required</c>, <c>env</c>. Errors: <see cref="FormatException"/>.
/// </summary>
public static class RunMounts
{
    public static RunMount Parse(string value)
    {
        var fields = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var field in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = field.IndexOf('=', StringComparison.Ordinal);
            var key = (eq < 0 ? field : field[..eq]).ToLowerInvariant();
            var v = eq < 0 ? null : field[(eq + 1)..];
            key = key switch
            {
                "dst" or "destination" => "target",
                "src" => "source",
                "ro" => "readonly",
                "rw" => "readwrite",
                _ => key,
            };
            if (!fields.TryAdd(key, v))
            {
                throw new FormatException($"--mount: duplicate field \"{key}\"");
            }
        }
        var type = fields.GetValueOrDefault("type") ?? "bind";
        var allowed = type switch
        {
            "bind" => new[] { "type", "target", "source", "from", "readonly", "readwrite" },
            "cache" => ["type", "target", "source", "from", "readonly", "readwrite", "id", "sharing", "mode", "uid", "gid"],
            "tmpfs" => ["type", "target", "size"],
            "secret" => ["type", "target", "id", "required", "mode", "uid", "gid", "env"],
            _ => throw new FormatException($"--mount: unsupported mount type \"{type}\": use bind, cache, tmpfs or secret"),
        };
        foreach (var key in fields.Keys)
        {
            if (!allowed.Contains(key))
            {
                throw new FormatException($"--mount: unexpected key '{key}' for a {type} mount");
            }
        }
        var id = fields.GetValueOrDefault("id");
        var target = fields.GetValueOrDefault("target");
        var env = fields.GetValueOrDefault("env");
        if (type == "secret" && string.IsNullOrEmpty(target))
        {
            if (id is null)
            {
                throw new FormatException("--mount: a secret mount requires id or target");
            }
            // BuildKit: with env= and no target the secret is only an environment variable.
            target = env is null ? "/run/secrets/" + id : "";
        }
        if (type == "secret")
        {
            id ??= Path.GetFileName(target);
        }
        else if (string.IsNullOrEmpty(target))
        {
            throw new FormatException($"--mount: a {type} mount requires target");
        }
        var ro = Flag(fields, "readonly");
        var rw = Flag(fields, "readwrite");
        if (ro && rw)
        {
            throw new FormatException("--mount: readonly and readwrite are exclusive");
        }
        var sharing = fields.GetValueOrDefault("sharing") ?? "shared";
        if (sharing is not ("shared" or "private" or "locked"))
        {
            throw new FormatException($"--mount: unsupported sharing value \"{sharing}\": use shared, private or locked");
        }
        return new RunMount(type, target ?? "")
        {
            Source = fields.GetValueOrDefault("source"),
            From = fields.GetValueOrDefault("from"),
            // bind defaults to read-only, cache to read-write (BuildKit).
            ReadWrite = type == "bind" ? rw : !ro,
            Id = id,
            Sharing = sharing,
            Mode = fields.GetValueOrDefault("mode") is { } m ? Octal(m) : null,
            Uid = Int(fields, "uid"),
            Gid = Int(fields, "gid"),
            Size = fields.GetValueOrDefault("size") is { } size ? Size(size) : 0,
            Required = Flag(fields, "required"),
            Env = env,
        };
    }

    private static bool Flag(Dictionary<string, string?> fields, string key) =>
        fields.TryGetValue(key, out var v) && (v is null or "" || (bool.TryParse(v, out var b) ? b : throw new FormatException($"--mount: invalid value for {key}: {v}")));

    private static int Int(Dictionary<string, string?> fields, string key) =>
        fields.GetValueOrDefault(key) is not { } v ? 0
        : int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
        : throw new FormatException($"--mount: invalid {key}: {v}");

    private static int Octal(string v)
    {
        try
        {
            return Convert.ToInt32(v, 8);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            throw new FormatException($"--mount: invalid mode: {v}");
        }
    }

    private static long Size(string v)
    {
        var s = v.Trim().ToLowerInvariant();
        if (s.EndsWith('b'))
        {
            s = s[..^1];
        }
        long multiplier = 1;
        if (s.Length > 0 && s[^1] is 'k' or 'm' or 'g')
        {
            multiplier = s[^1] switch { 'k' => 1L << 10, 'm' => 1L << 20, _ => 1L << 30 };
            s = s[..^1];
        }
        return long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= long.MaxValue / multiplier
            ? n * multiplier
            : throw new FormatException($"--mount: invalid size: {v}");
    }
}

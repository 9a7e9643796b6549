using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Mocker.Cli;

/// <summary>Human units the docker CLI prints (github.com/docker/go-units).</summary>
public static class Units
{
    private static readonly string[] DecimalUnits = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

    /// <summary><c>HumanSizeWithPrecision(size, precision)</c>: SI units, <c>%.{precision}g</c>, e.g. 4261000 → "4.26MB".</summary>
    public static string HumanSize(double size, int precision = 3)
    {
        var i = 0;
        while (size >= 1000 && i < DecimalUnits.Length - 1)
        {
            size /= 1000;
            i++;
        }
        return FormatG(size, precision) + DecimalUnits[i];
    }

    /// <summary>Go's <c>%.Ng</c> for values below 1000 (shortest of N significant digits, no trailing zeros).</summary>
    private static string FormatG(double v, int precision)
    {
        if (v == 0) return "0";
        var s = v.ToString("G" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        if (s.Contains('E', StringComparison.Ordinal))
        {
            var mantissaExp = s.Split('E');
            var exp = int.Parse(mantissaExp[1], CultureInfo.InvariantCulture);
            s = mantissaExp[0] + "e" + (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
        }
        return s;
    }

    /// <summary><c>units.HumanDuration</c>: "Less than a second", "5 seconds", "About a minute", "3 hours", "2 weeks"…</summary>
    public static string HumanDuration(TimeSpan d)
    {
        var seconds = (long)d.TotalSeconds;
        if (seconds < 1) return "Less than a second";
        if (seconds == 1) return "1 second";
        if (seconds < 60) return $"{seconds} seconds";
        var minutes = (long)d.TotalMinutes;
        if (minutes == 1) return "About a minute";
        if (minutes < 60) return $"{minutes} minutes";
        var hours = (long)(d.TotalHours + 0.5);
        if (hours == 1) return "About an hour";
        if (hours < 48) return $"{hours} hours";
        if (hours < 24 * 7 * 2) return $"{hours / 24} days";
        if (hours < 24 * 30 * 2) return $"{hours / 24 / 7} weeks";
        if (hours < 24 * 365 * 2) return $"{hours / 24 / 30} months";
        return $"{(long)d.TotalHours / 24 / 365} years";
    }

    /// <summary>"x ago" for a Unix-seconds timestamp.</summary>
    public static string Ago(long unixSeconds) =>
        HumanDuration(DateTimeOffset.UtcNow - DateTimeOffset.FromUnixTimeSeconds(unixSeconds)) + " ago";

    /// <summary>Docker's <c>RAMInBytes</c>: "512m", "1g", "100000" (binary multiples of b/k/m/g/t/p).</summary>
    /// <exception cref="FormatException">Not a size.</exception>
    public static long RamInBytes(string s)
    {
        var m = Regex.Match(s, @"^(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)[iI]?[bB]?$");
        if (!m.Success) throw new FormatException($"invalid size: '{s}'");
        var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        var mult = char.ToLowerInvariant(m.Groups[2].Value.FirstOrDefault()) switch
        {
            'k' => 1L << 10,
            'm' => 1L << 20,
            'g' => 1L << 30,
            't' => 1L << 40,
            'p' => 1L << 50,
            _ => 1L,
        };
        return (long)(value * mult);
    }

    /// <summary>Docker's <c>stringutils.Ellipsis</c>: at most <paramref name="max"/> characters, the last one "…" when cut.</summary>
    public static string Ellipsis(string s, int max)
    {
        var runes = s.EnumerateRunes().ToList();
        if (runes.Count <= max) return s;
        if (max <= 1) return string.Concat(runes.Take(max).Select(r => r.ToString()));
        return string.Concat(runes.Take(max - 1).Select(r => r.ToString())) + "…";
    }

    /// <summary>Go's <c>strconv.Quote</c>: double quotes; backslash, quote and control characters escaped; printable Unicode kept.</summary>
    public static string GoQuote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var r in s.EnumerateRunes())
        {
            switch (r.Value)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                case < 0x20 or 0x7f: sb.Append("\\x").Append(r.Value.ToString("x2", CultureInfo.InvariantCulture)); break;
                default: sb.Append(r.ToString()); break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>Strips "sha256:" and keeps 12 hex digits, like <c>stringid.TruncateID</c>.</summary>
    public static string ShortId(string id)
    {
        var colon = id.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0) id = id[(colon + 1)..];
        return id.Length > 12 ? id[..12] : id;
    }
}

/// <summary>
/// Go's <c>text/tabwriter</c> as the docker CLI configures it (<c>NewWriter(out, 10, 1, 3, ' ', 0)</c>): cells end at tabs,
/// each column is as wide as its widest cell plus 3 spaces and at least 10; the text after the last tab is not padded.
/// </summary>
public static class TabWriter
{
    /// <summary>Aligns tab-separated <paramref name="lines"/>.</summary>
    public static string Format(IReadOnlyList<string> lines, int minWidth = 10, int padding = 3)
    {
        var rows = lines.Select(l => l.Split('\t')).ToList();
        var sb = new StringBuilder();
        // Consecutive lines with the same number of cells form a column block, as in tabwriter.
        var start = 0;
        while (start < rows.Count)
        {
            var end = start;
            while (end < rows.Count && rows[end].Length > 1 == rows[start].Length > 1) end++;
            var cols = rows.Skip(start).Take(end - start).Max(r => r.Length) - 1;
            var widths = new int[Math.Max(cols, 0)];
            for (var r = start; r < end; r++)
                for (var c = 0; c < rows[r].Length - 1; c++)
                    widths[c] = Math.Max(widths[c], Math.Max(minWidth, Width(rows[r][c]) + padding));
            for (var r = start; r < end; r++)
            {
                var row = rows[r];
                for (var c = 0; c < row.Length; c++)
                {
                    sb.Append(row[c]);
                    if (c < row.Length - 1) sb.Append(' ', widths[c] - Width(row[c]));
                }
                sb.Append('\n');
            }
            start = end;
        }
        return sb.ToString();
    }

    private static int Width(string s) => s.EnumerateRunes().Count();
}

/// <summary>The CLI's time arguments (<c>--since</c>, <c>--until</c>): docker's <c>timetypes.GetTimestamp</c>.</summary>
public static class TimeArgs
{
    private static readonly string[] Layouts =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", "yyyy-MM-dd'T'HH:mm:ss",
        "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH", "yyyy-MM-dd",
    ];

    /// <summary>
    /// Converts a duration ("10m", "1h30m", "2.5s": before <paramref name="now"/>), an RFC 3339 date/time (local time when no
    /// zone is given) or a Unix timestamp ("1600000000", "1600000000.5") into the API's "seconds[.nanoseconds]" form.
    /// </summary>
    /// <exception cref="FormatException">None of the forms matched.</exception>
    public static string ToApiTimestamp(string value, DateTimeOffset now)
    {
        if (TryParseGoDuration(value, out var d))
            return FormatUnix(now - d);
        if (Regex.IsMatch(value, @"^\d+(\.\d{1,9})?$"))
        {
            var parts = value.Split('.');
            return parts.Length == 1 ? parts[0] : parts[0] + "." + parts[1].PadRight(9, '0');
        }
        var styles = DateTimeStyles.AllowWhiteSpaces;
        var hasZone = value.EndsWith('Z') || Regex.IsMatch(value, @"[+-]\d\d:?\d\d$");
        styles |= hasZone ? DateTimeStyles.AdjustToUniversal : DateTimeStyles.AssumeLocal;
        if (DateTimeOffset.TryParseExact(value, Layouts, CultureInfo.InvariantCulture, styles, out var t))
            return FormatUnix(t);
        throw new FormatException($"failed to parse value as time or duration: \"{value}\"");
    }

    private static string FormatUnix(DateTimeOffset t)
    {
        var ticks = t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var rem);
        if (rem < 0) { seconds--; rem += TimeSpan.TicksPerSecond; }
        return seconds.ToString(CultureInfo.InvariantCulture) + "." + (rem * 100).ToString("000000000", CultureInfo.InvariantCulture);
    }

    /// <summary>Go's <c>time.ParseDuration</c> (units ns, us, µs, ms, s, m, h; sign; fractions).</summary>
    public static bool TryParseGoDuration(string s, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var m = Regex.Match(s, @"^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$");
        if (!m.Success) return s == "0";
        double totalNs = 0;
        foreach (Capture c in m.Groups[2].Captures)
        {
            var um = Regex.Match(c.Value, @"^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)$");
            var v = double.Parse(um.Groups[1].Value, CultureInfo.InvariantCulture);
            totalNs += v * um.Groups[2].Value switch
            {
                "ns" => 1,
                "us" or "µs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                _ => 3600e9,
            };
        }
        if (m.Groups[1].Value == "-") totalNs = -totalNs;
        duration = TimeSpan.FromTicks((long)(totalNs / 100));
        return true;
    }
}

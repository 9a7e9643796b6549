using System.Text;
using System.Text.RegularExpressions;

namespace Mocker.Client;

/// <summary>
/// <c>.mockerignore</c> / <c>.dockerignore</c> matching with Docker's rules (moby/patternmatcher, Docker docs
/// "dockerignore file"): one pattern per line, <c>#</c> comments, Go <c>filepath.Match</c> syntax (<c>*</c>, <c>?</c>,
/// <c>[...]</c>, <c>\</c> escapes), <c>**</c> for any number of directories, <c>!</c> re-includes, the last matching
/// pattern wins, and a pattern that matches a parent directory excludes everything below it.
/// </summary>
public sealed class IgnorePatterns
{
    private readonly List<(Regex Regex, bool Exclusion, string Pattern)> _patterns = [];

    /// <summary>Builds a matcher from pattern lines as they appear in the file.</summary>
    /// <exception cref="ArgumentException">A line is a lone <c>!</c> or an invalid pattern.</exception>
    public IgnorePatterns(IEnumerable<string> lines)
    {
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var exclusion = false;
            if (line.StartsWith('!'))
            {
                if (line.Length == 1) throw new ArgumentException("illegal exclusion pattern: \"!\"");
                exclusion = true;
                line = line[1..].Trim();
            }
            line = CleanPath(line);
            if (line.Length > 1 && line[0] == '/') line = line[1..];
            _patterns.Add((new Regex(ToRegex(line), RegexOptions.CultureInvariant), exclusion, line));
        }
    }

    /// <summary>True when there are <c>!</c> patterns, so an excluded directory must still be walked.</summary>
    public bool HasExclusions => _patterns.Any(p => p.Exclusion);

    /// <summary>Reads <c>.mockerignore</c>, else <c>.dockerignore</c>, in <paramref name="contextDir"/>; empty when neither exists.</summary>
    public static IgnorePatterns Load(string contextDir, out string? fileName)
    {
        foreach (var name in new[] { ".mockerignore", ".dockerignore" })
        {
            var path = Path.Combine(contextDir, name);
            if (File.Exists(path))
            {
                fileName = name;
                return new IgnorePatterns(File.ReadAllLines(path));
            }
        }
        fileName = null;
        return new IgnorePatterns([]);
    }

    /// <summary>
    /// True when <paramref name="relativePath"/> (slash-separated, relative to the context root) is excluded: the last
    /// pattern that matches the path or one of its parent directories decides.
    /// </summary>
    public bool IsExcluded(string relativePath)
    {
        var file = CleanPath(relativePath);
        var parent = file.Contains('/', StringComparison.Ordinal) ? file[..file.LastIndexOf('/')] : ".";
        var parentDirs = parent.Split('/');
        var matched = false;
        foreach (var (regex, exclusion, _) in _patterns)
        {
            // An inclusion cannot change an already-excluded path, nor an exclusion a path not excluded yet.
            if (exclusion != matched) continue;
            var match = regex.IsMatch(file);
            if (!match && parent != ".")
            {
                for (var i = 0; i < parentDirs.Length && !match; i++)
                    match = regex.IsMatch(string.Join('/', parentDirs, 0, i + 1));
            }
            if (match) matched = !exclusion;
        }
        return matched;
    }

    /// <summary>Go's <c>filepath.Clean</c> for slash paths.</summary>
    public static string CleanPath(string path)
    {
        if (path.Length == 0) return ".";
        var rooted = path[0] == '/';
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0 || part == ".") continue;
            if (part == "..")
            {
                if (parts.Count > 0 && parts[^1] != "..") parts.RemoveAt(parts.Count - 1);
                else if (!rooted) parts.Add("..");
                continue;
            }
            parts.Add(part);
        }
        var joined = string.Join('/', parts);
        if (rooted) return "/" + joined;
        return joined.Length == 0 ? "." : joined;
    }

    /// <summary>The regular expression moby/patternmatcher compiles a pattern to.</summary>
    internal static string ToRegex(string pattern)
    {
        var sb = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var ch = pattern[i];
            switch (ch)
            {
                case '*' when i + 1 < pattern.Length && pattern[i + 1] == '*':
                    i++;
                    if (i + 1 < pattern.Length && pattern[i + 1] == '/') i++;
                    sb.Append(i + 1 >= pattern.Length ? ".*" : "(.*/)?");
                    break;
                case '*':
                    sb.Append("[^/]*");
                    break;
                case '?':
                    sb.Append("[^/]");
                    break;
                case '\\':
                    if (i + 1 < pattern.Length) sb.Append('\\').Append(pattern[++i]);
                    else sb.Append(@"\\");
                    break;
                case '[':
                    var close = pattern.IndexOf(']', i + 1);
                    if (close < 0) throw new ArgumentException($"syntax error in pattern: {pattern}");
                    var cls = pattern[(i + 1)..close];
                    if (cls.StartsWith('^') || cls.StartsWith('!')) cls = "^" + cls[1..];
                    sb.Append('[').Append(cls.Replace("/", "", StringComparison.Ordinal)).Append(']');
                    i = close;
                    break;
                case '.' or '$' or '+' or '(' or ')' or '{' or '}' or '|' or '^' or ']':
                    sb.Append('\\').Append(ch);
                    break;
                default:
                    sb.Append(ch);
                    break;
            }
        }
        return sb.Append('$').ToString();
    }
}

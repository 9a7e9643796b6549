namespace Mocker.Engine.Build;

/// <summary>
/// moby/patternmatcher semantics for COPY --exclude and ignore files: patterns are "/"-separated, each component a Go
/// filepath.Match pattern (<see cref="PathMatch"/>), <c>**</c> matches any number of components, a leading <c>!</c>
/// re-includes, the last matching pattern wins, and a path is matched when it or one of its parent directories
/// matches. Paths are relative, "/"-separated, without a leading "./". Errors: <see cref="FormatException"/> from
/// <see cref="Matches"/> when a malformed class is reached.
/// </summary>
public sealed class PathPatterns
{
    private readonly List<(bool Negated, string[] Parts)> _patterns = [];

    public PathPatterns(IEnumerable<string> patterns)
    {
        foreach (var raw in patterns)
        {
            var p = raw.Trim();
            var negated = p.StartsWith('!');
            if (negated)
            {
                p = p[1..].Trim();
            }
            var parts = p.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(c => c != ".").ToArray();
            if (parts.Length == 0)
            {
                continue;
            }
            _patterns.Add((negated, parts));
        }
    }

    public bool IsEmpty => _patterns.Count == 0;

    /// <summary>True when the last pattern matching <paramref name="path"/> (or a parent of it) is not negated.</summary>
    public bool Matches(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var matched = false;
        foreach (var (negated, pattern) in _patterns)
        {
            for (var n = 1; n <= parts.Length; n++)
            {
                if (MatchParts(pattern, 0, parts, 0, n))
                {
                    matched = !negated;
                    break;
                }
            }
        }
        return matched;
    }

    private static bool MatchParts(string[] pattern, int pi, string[] path, int si, int length)
    {
        while (pi < pattern.Length)
        {
            if (pattern[pi] == "**")
            {
                // "**" absorbs zero or more components; collapse repeats first so the search stays polynomial.
                while (pi < pattern.Length && pattern[pi] == "**")
                {
                    pi++;
                }
                if (pi == pattern.Length)
                {
                    return true;
                }
                for (var k = si; k <= length; k++)
                {
                    if (MatchParts(pattern, pi, path, k, length))
                    {
                        return true;
                    }
                }
                return false;
            }
            if (si >= length || !PathMatch.Match(pattern[pi], path[si]))
            {
                return false;
            }
            pi++;
            si++;
        }
        return si == length;
    }
}

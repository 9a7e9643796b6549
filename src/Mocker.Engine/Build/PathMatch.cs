namespace Mocker.Engine.Build;

/// <summary>Go's filepath.Match for one path component: <c>*</c>, <c>?</c>, <c>[…]</c> classes with ranges and <c>^</c>, <c>\</c> escapes.</summary>
public static class PathMatch
{
    /// <summary>True when <paramref name="pattern"/> contains a wildcard meta character.</summary>
    public static bool HasMeta(string pattern) => pattern.AsSpan().IndexOfAny("*?[\\") >= 0;

    /// <summary>Matches a whole name; a malformed class throws <see cref="FormatException"/> ("syntax error in pattern").</summary>
    public static bool Match(string pattern, string name) => Match(pattern, 0, name, 0);

    private static bool Match(string p, int pi, string s, int si)
    {
        while (pi < p.Length)
        {
            var c = p[pi];
            if (c == '*')
            {
                while (pi < p.Length && p[pi] == '*')
                {
                    pi++;
                }
                if (pi == p.Length)
                {
                    return !s.AsSpan(si).Contains('/');
                }
                for (var k = si; k <= s.Length; k++)
                {
                    if (Match(p, pi, s, k))
                    {
                        return true;
                    }
                    if (k < s.Length && s[k] == '/')
                    {
                        break;
                    }
                }
                return false;
            }
            if (si >= s.Length)
            {
                return false;
            }
            if (c == '?')
            {
                if (s[si] == '/')
                {
                    return false;
                }
                pi++;
                si++;
                continue;
            }
            if (c == '[')
            {
                var (matched, next) = MatchClass(p, pi + 1, s[si]);
                if (!matched)
                {
                    return false;
                }
                pi = next;
                si++;
                continue;
            }
            if (c == '\\')
            {
                pi++;
                if (pi >= p.Length)
                {
                    throw new FormatException("syntax error in pattern");
                }
                c = p[pi];
            }
            if (c != s[si])
            {
                return false;
            }
            pi++;
            si++;
        }
        return si == s.Length;
    }

    private static (bool Matched, int Next) MatchClass(string p, int i, char ch)
    {
        var negate = i < p.Length && p[i] == '^';
        if (negate)
        {
            i++;
        }
        var matched = false;
        var first = true;
        while (true)
        {
            if (i >= p.Length)
            {
                throw new FormatException("syntax error in pattern");
            }
            if (p[i] == ']' && !first)
            {
                i++;
                break;
            }
            first = false;
            var lo = ReadChar(p, ref i);
            var hi = lo;
            if (i + 1 < p.Length && p[i] == '-' && p[i + 1] != ']')
            {
                i++;
                hi = ReadChar(p, ref i);
            }
            if (lo <= ch && ch <= hi)
            {
                matched = true;
            }
        }
        return (matched != negate, i);
    }

    private static char ReadChar(string p, ref int i)
    {
        if (p[i] == '\\')
        {
            i++;
            if (i >= p.Length)
            {
                throw new FormatException("syntax error in pattern");
            }
        }
        return p[i++];
    }
}

using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Mocker.Engine.Build.Parser;

/// <summary>
/// The Mockerfile syntax layer (BuildKit frontend/dockerfile/parser/parser.go): parser directives at the top
/// (<c># escape=\</c> or <c># escape=`</c>; <c># syntax=</c> accepted and ignored with a warning), comments, blank lines,
/// line continuations with the escape character (comment and blank lines inside a continuation are skipped),
/// case-insensitive keywords, "--flag" words, JSON exec form with fallback to shell form when the JSON is invalid.
/// here-documents for shell-form RUN, COPY and ADD (<c>&lt;&lt;EOF</c>, <c>&lt;&lt;-EOF</c>, quoted delimiters, several
/// on one line; the bodies follow the instruction line in marker order). Semantics (expansion, typing) live in
/// Build/Instructions and Build/Shell. Hostile input is bounded: a physical line longer than <see cref="MaxLineLength"/>,
/// an unterminated heredoc and a line continuation at end of file are errors; every pass is linear in the input.
/// Errors: <see cref="BuildException"/> "file:line:column: message".
/// </summary>
public static partial class DockerfileParser
{
    private static readonly string[] Keywords =
    [
        "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label",
        "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir",
    ];

    /// <summary>The longest physical line or joined instruction accepted, in characters (1 MiB).</summary>
    public const int MaxLineLength = 1 << 20;

    // Linear on any input (no lazy quantifier before a trailing \s*$): the value is trimmed in code.
    [GeneratedRegex(@"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=(.*)$")]
    private static partial Regex DirectiveRegex();

    [GeneratedRegex(@"^[0-9]*<<(-?)([^<].*)$")]
    private static partial Regex HeredocRegex();

    /// <summary>Parses the whole text; <paramref name="fileName"/> prefixes error messages.</summary>
    public static ParseResult Parse(string text, string fileName = "Mockerfile")
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        if (lines.Length > 0 && lines[0].StartsWith('\uFEFF'))
        {
            lines[0] = lines[0][1..];
        }
        for (var n = 0; n < lines.Length; n++)
        {
            if (lines[n].Length > MaxLineLength)
            {
                throw Error(fileName, n + 1, 1, $"line is too long: {lines[n].Length} characters (the limit is {MaxLineLength})");
            }
        }
        var warnings = new List<string>();
        var escape = '\\';
        var i = 0;
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (; i < lines.Length; i++)
        {
            var m = DirectiveRegex().Match(lines[i].Trim());
            if (!m.Success)
            {
                break;
            }
            var name = m.Groups[1].Value.ToLowerInvariant();
            var value = m.Groups[2].Value.Trim();
            if (value.Length == 0)
            {
                break;
            }
            if (name is not ("escape" or "syntax" or "check"))
            {
                // An unknown directive is an ordinary comment, and ends the directive block (Docker's rule).
                break;
            }
            if (!seen.Add(name))
            {
                throw Error(fileName, i + 1, 1, $"only one {name} parser directive can be used");
            }
            if (name == "escape")
            {
                if (value is not ("\\" or "`"))
                {
                    throw Error(fileName, i + 1, 1, $"invalid escape token '{value}' does not match ` or \\");
                }
                escape = value[0];
            }
            else if (name == "syntax")
            {
                warnings.Add($"{fileName}:{i + 1}: the syntax directive \"{value}\" is ignored: Mocker has one built-in frontend");
            }
        }

        var nodes = new List<Node>();
        for (; i < lines.Length; i++)
        {
            var raw = lines[i];
            var trimmed = raw.TrimStart(' ', '\t');
            if (trimmed.Length == 0 || trimmed[0] == '#')
            {
                continue;
            }
            var start = i + 1;
            var original = new StringBuilder(trimmed);
            var (line, ended) = TrimContinuation(trimmed, escape);
            var sb = new StringBuilder(line);
            while (!ended && i + 1 < lines.Length)
            {
                i++;
                var next = lines[i];
                var nextTrim = next.TrimStart(' ', '\t');
                if (nextTrim.StartsWith('#'))
                {
                    continue;
                }
                if (nextTrim.Trim().Length == 0)
                {
                    warnings.Add($"{fileName}:{i + 1}: empty continuation line");
                    continue;
                }
                original.Append('\n').Append(next);
                (line, ended) = TrimContinuation(next, escape);
                sb.Append(line);
                if (sb.Length > MaxLineLength)
                {
                    throw Error(fileName, start, 1, $"instruction is too long: more than {MaxLineLength} characters after joining continuation lines");
                }
            }
            if (!ended)
            {
                throw Error(fileName, start, 1, $"unexpected end of file: the line continuation at line {i + 1} is not followed by a line");
            }
            if (sb.ToString().Trim().Length == 0)
            {
                continue;
            }
            var node = ParseLine(sb.ToString(), escape, fileName, start, i + 1, original.ToString());
            if (node.Keyword is "run" or "copy" or "add" && !node.IsJson)
            {
                var heredocs = ReadHeredocs(node, lines, ref i, escape, fileName);
                if (heredocs.Count > 0)
                {
                    node = node with { Heredocs = heredocs, EndLine = i + 1 };
                }
            }
            nodes.Add(node);
        }
        return new ParseResult(nodes, escape, warnings);
    }

    /// <summary>Parses one already-joined instruction line (used for ONBUILD triggers and <c>--change</c> lines).</summary>
    public static Node ParseLine(string line, char escape, string fileName, int startLine, int endLine, string original)
    {
        var trimmed = line.Trim();
        var ws = trimmed.IndexOfAny([' ', '\t']);
        var word = ws < 0 ? trimmed : trimmed[..ws];
        var rest = ws < 0 ? "" : trimmed[(ws + 1)..].TrimStart(' ', '\t');
        var keyword = word.ToLowerInvariant();
        if (!Keywords.Contains(keyword))
        {
            var suggestion = Suggest(keyword);
            var shown = word.Length > 64 ? word[..64] + "…" : word;
            throw Error(fileName, startLine, 1, $"unknown instruction: {shown}" + (suggestion is null ? "" : $" (did you mean {suggestion.ToUpperInvariant()}?)"));
        }
        var (flags, args) = ExtractFlags(rest);
        var node = new Node { Keyword = keyword, Flags = flags, StartLine = startLine, EndLine = endLine, Original = original.TrimEnd() };
        try
        {
            return keyword switch
            {
                "onbuild" => ParseOnbuild(node, args, escape, fileName, startLine, endLine),
                "env" or "label" => node with { Args = ParseNameVal(args, keyword, escape) },
                "arg" => node with { Args = ParseNameOrNameVal(args, escape) },
                "run" or "cmd" or "entrypoint" or "shell" => ParseMaybeJson(node, args),
                "add" or "copy" or "volume" => ParseMaybeJsonToList(node, args),
                "healthcheck" => ParseHealthcheck(node, args),
                "maintainer" or "workdir" or "user" or "stopsignal" => node with { Args = args.Length == 0 ? [] : [args] },
                _ => node with { Args = SplitWhitespace(args) },
            };
        }
        catch (FormatException e)
        {
            throw Error(fileName, startLine, 1, $"{word.ToUpperInvariant()}: {e.Message}");
        }
    }

    /// <summary>
    /// Finds the heredoc markers among the instruction's words (BuildKit parser.ParseHeredoc: a word
    /// <c>[n]&lt;&lt;[-]delimiter</c>) and consumes their bodies from the lines after <paramref name="i"/>, advancing it
    /// past the last delimiter line.
    /// </summary>
    private static List<Heredoc> ReadHeredocs(Node node, string[] lines, ref int i, char escape, string fileName)
    {
        var words = node.Keyword == "run" ? (node.Args.Count == 0 ? [] : ParseWords(node.Args[0], escape)) : node.Args;
        var result = new List<Heredoc>();
        foreach (var word in words)
        {
            var m = HeredocRegex().Match(word);
            if (!m.Success)
            {
                continue;
            }
            var chomp = m.Groups[1].Value == "-";
            var (name, quoted) = HeredocName(m.Groups[2].Value, escape);
            if (name.Length == 0)
            {
                throw Error(fileName, node.StartLine, 1, $"{node.Keyword.ToUpperInvariant()}: invalid heredoc delimiter in \"{word}\"");
            }
            var content = new StringBuilder();
            var raw = new StringBuilder();
            var startedAt = i + 1;
            while (true)
            {
                i++;
                if (i >= lines.Length)
                {
                    throw Error(fileName, node.StartLine, 1,
                        $"{node.Keyword.ToUpperInvariant()}: unterminated heredoc <<{(chomp ? "-" : "")}{name} (the delimiter line \"{name}\" was not found after line {startedAt})");
                }
                var body = lines[i];
                raw.Append(body).Append('\n');
                var text = chomp ? body.TrimStart('\t') : body;
                if (text == name)
                {
                    break;
                }
                content.Append(text).Append('\n');
            }
            result.Add(new Heredoc(word, name, content.ToString(), !quoted, chomp, raw.ToString()));
        }
        return result;
    }

    /// <summary>The delimiter with quotes and escapes removed; quoted when any part was quoted or escaped (POSIX 2.7.4).</summary>
    private static (string Name, bool Quoted) HeredocName(string word, char escape)
    {
        var sb = new StringBuilder();
        var quoted = false;
        char quote = '\0';
        foreach (var c in word)
        {
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
                else
                {
                    sb.Append(c);
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                quoted = true;
            }
            else if (c == escape)
            {
                quoted = true;
            }
            else
            {
                sb.Append(c);
            }
        }
        return (sb.ToString(), quoted);
    }

    internal static BuildException Error(string fileName, int line, int column, string message) =>
        new($"{fileName}:{line}:{column}: {message}");

    private static (string Line, bool Ended) TrimContinuation(string line, char escape)
    {
        var t = line.TrimEnd(' ', '\t');
        if (t.Length > 0 && t[^1] == escape)
        {
            return (t[..^1], false);
        }
        return (line, true);
    }

    private static (IReadOnlyList<string> Flags, string Remaining) ExtractFlags(string rest)
    {
        // Index-based so a line of many flags stays linear.
        var flags = new List<string>();
        var p = 0;
        while (string.CompareOrdinal(rest, p, "--", 0, 2) == 0)
        {
            var end = p;
            char quote = '\0';
            while (end < rest.Length)
            {
                var c = rest[end];
                if (quote != '\0')
                {
                    if (c == quote)
                    {
                        quote = '\0';
                    }
                }
                else if (c is '"' or '\'')
                {
                    quote = c;
                }
                else if (c is ' ' or '\t')
                {
                    break;
                }
                end++;
            }
            var flag = rest[p..end];
            while (end < rest.Length && rest[end] is ' ' or '\t')
            {
                end++;
            }
            p = end;
            if (flag == "--")
            {
                break;
            }
            flags.Add(flag);
        }
        return (flags, rest[p..]);
    }

    private static Node ParseOnbuild(Node node, string rest, char escape, string fileName, int start, int end)
    {
        if (rest.Length == 0)
        {
            throw new FormatException("requires at least one argument");
        }
        var child = ParseLine(rest, escape, fileName, start, end, rest);
        if (child.Keyword is "onbuild" or "from" or "maintainer")
        {
            throw new FormatException($"{child.Keyword.ToUpperInvariant()} isn't allowed as an ONBUILD trigger");
        }
        return node with { Next = child };
    }

    private static Node ParseMaybeJson(Node node, string rest)
    {
        if (rest.StartsWith('[') && TryParseJsonArray(rest, out var list))
        {
            return node with { Args = list, IsJson = true };
        }
        return node with { Args = rest.Length == 0 ? [] : [rest] };
    }

    private static Node ParseMaybeJsonToList(Node node, string rest)
    {
        if (rest.StartsWith('[') && TryParseJsonArray(rest, out var list))
        {
            return node with { Args = list, IsJson = true };
        }
        return node with { Args = SplitWhitespace(rest) };
    }

    private static Node ParseHealthcheck(Node node, string rest)
    {
        var ws = rest.IndexOfAny([' ', '\t']);
        var kind = (ws < 0 ? rest : rest[..ws]).ToUpperInvariant();
        var after = ws < 0 ? "" : rest[(ws + 1)..].Trim();
        if (kind == "NONE")
        {
            if (after.Length != 0)
            {
                throw new FormatException("HEALTHCHECK NONE takes no arguments");
            }
            return node with { Args = ["NONE"] };
        }
        if (kind != "CMD")
        {
            throw new FormatException("requires the first argument to be CMD or NONE");
        }
        var cmd = ParseMaybeJson(node, after);
        return cmd with { Args = ["CMD", .. cmd.Args] };
    }

    private static bool TryParseJsonArray(string text, out IReadOnlyList<string> list)
    {
        list = [];
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
            {
                return false;
            }
            var items = new List<string>();
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.String)
                {
                    return false;
                }
                items.Add(e.GetString()!);
            }
            list = items;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static IReadOnlyList<string> SplitWhitespace(string rest) =>
        rest.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>BuildKit parseWords: splits on unquoted whitespace, keeping quotes and escapes for the later expansion.</summary>
    internal static List<string> ParseWords(string rest, char escape)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        char quote = '\0';
        var blank = true;
        for (var p = 0; p < rest.Length; p++)
        {
            var c = rest[p];
            if (quote == '\0' && c is ' ' or '\t')
            {
                if (!blank)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    blank = true;
                }
                continue;
            }
            blank = false;
            if (c == escape && p + 1 < rest.Length && quote != '\'')
            {
                word.Append(c).Append(rest[++p]);
                continue;
            }
            if (quote == '\0' && c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == quote)
            {
                quote = '\0';
            }
            word.Append(c);
        }
        if (!blank)
        {
            words.Add(word.ToString());
        }
        return words;
    }

    private static IReadOnlyList<string> ParseNameVal(string rest, string keyword, char escape)
    {
        var words = ParseWords(rest, escape);
        if (words.Count == 0)
        {
            throw new FormatException("requires at least one argument");
        }
        if (!words[0].Contains('=', StringComparison.Ordinal))
        {
            // Legacy form "ENV key value…": the value is the rest of the line.
            var parts = rest.Trim().Split([' ', '\t'], 2, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2)
            {
                throw new FormatException($"{keyword.ToUpperInvariant()} must have two arguments");
            }
            return [parts[0], parts[1].TrimStart(' ', '\t')];
        }
        var result = new List<string>();
        foreach (var w in words)
        {
            var eq = w.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"Syntax error - can't find = in \"{w}\". Must be of the form: name=value");
            }
            result.Add(w[..eq]);
            result.Add(w[(eq + 1)..]);
        }
        return result;
    }

    private static IReadOnlyList<string> ParseNameOrNameVal(string rest, char escape)
    {
        var words = ParseWords(rest, escape);
        if (words.Count == 0)
        {
            throw new FormatException("requires at least one argument");
        }
        return words;
    }

    private static string? Suggest(string word)
    {
        if (word.Length > 32)
        {
            return null;
        }
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var k in Keywords)
        {
            var d = Levenshtein(word, k);
            if (d < bestDistance)
            {
                bestDistance = d;
                best = k;
            }
        }
        return bestDistance <= 2 ? best : null;
    }

    private static int Levenshtein(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            prev[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}

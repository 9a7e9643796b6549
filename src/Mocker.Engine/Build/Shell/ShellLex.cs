using System.Text;

namespace Mocker.Engine.Build.Shell;

/// <summary>
/// Word processing as BuildKit's frontend/dockerfile/shell/lex.go does it for Dockerfile instructions (not a shell):
/// single quotes are literal; inside double quotes the escape character escapes only <c>"</c>, <c>$</c> and itself;
/// outside quotes it escapes any character (a trailing one is dropped); <c>$VAR</c>, <c>${VAR}</c>,
/// <c>${VAR:-default}</c>, <c>${VAR-default}</c>, <c>${VAR:+alt}</c>, <c>${VAR+alt}</c>, <c>${VAR:?msg}</c>, <c>${VAR?msg}</c>
/// are expanded (unset = empty). The output of one call is bounded by <see cref="MaxExpansion"/> characters and nesting of
/// <c>${…}</c> by <see cref="MaxDepth"/>, so chains of ARGs that double in size fail instead of exhausting memory.
/// Errors: <see cref="FormatException"/> with lex.go's wording.
/// </summary>
public sealed class ShellLex(char escape = '\\')
{
    /// <summary>The escape character in force (the Mockerfile's <c># escape=</c> directive).</summary>
    public char EscapeToken => escape;

    /// <summary>The most characters one expansion may produce (1 MiB).</summary>
    public const int MaxExpansion = 1 << 20;

    /// <summary>The deepest nesting of <c>${…}</c> accepted.</summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// Expands a here-document body as POSIX 2.7.4 does for an unquoted delimiter: only <c>$</c> expansions; quotes are
    /// literal; the escape character escapes only <c>$</c> and itself (COPY/ADD &lt;&lt;EOF).
    /// </summary>
    public string ProcessHeredoc(string body, Func<string, string?> env) =>
        new Scanner(body, env, escape, split: false, heredoc: true).Run().Joined;

    /// <summary>Expands <paramref name="word"/> into one string (quotes removed, no splitting): ENV/LABEL values, WORKDIR, USER…</summary>
    public string ProcessWord(string word, Func<string, string?> env) =>
        new Scanner(word, env, escape, split: false).Run().Joined;

    /// <summary>Expands and splits on unquoted whitespace (unquoted expansions split too): EXPOSE, VOLUME, ADD/COPY shell form.</summary>
    public IReadOnlyList<string> ProcessWords(string word, Func<string, string?> env) =>
        new Scanner(word, env, escape, split: true).Run().Words;

    /// <summary>A lookup over "KEY=value" lists, last definition wins.</summary>
    public static Func<string, string?> Lookup(IEnumerable<string> env)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in env)
        {
            var eq = kv.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                map[kv[..eq]] = kv[(eq + 1)..];
            }
        }
        return k => map.TryGetValue(k, out var v) ? v : null;
    }

    private sealed class Scanner(string text, Func<string, string?> env, char escape, bool split, bool heredoc = false)
    {
        private int _pos;
        private long _produced;
        private int _depth;
        private readonly StringBuilder _joined = new();
        private readonly List<string> _words = [];
        private readonly StringBuilder _word = new();
        private bool _inWord;

        public string Joined => _joined.ToString();
        public List<string> Words => _words;

        public Scanner Run()
        {
            while (_pos < text.Length)
            {
                var c = text[_pos++];
                if (heredoc)
                {
                    if (c == '$')
                    {
                        AddUnquoted(ProcessDollar());
                    }
                    else if (c == escape && _pos < text.Length && (text[_pos] == '$' || text[_pos] == escape))
                    {
                        AddUnquoted(text[_pos++].ToString());
                    }
                    else
                    {
                        AddUnquoted(c.ToString());
                    }
                }
                else if (c == '\'')
                {
                    AddQuoted(ReadSingleQuoted());
                }
                else if (c == '"')
                {
                    AddQuoted(ReadDoubleQuoted());
                }
                else if (c == '$')
                {
                    AddUnquoted(ProcessDollar());
                }
                else if (c == escape)
                {
                    if (_pos < text.Length)
                    {
                        AddQuoted(text[_pos++].ToString());
                    }
                }
                else
                {
                    AddUnquoted(c.ToString());
                }
            }
            if (_inWord)
            {
                _words.Add(_word.ToString());
            }
            return this;
        }

        private void AddQuoted(string s)
        {
            _joined.Append(s);
            _word.Append(s);
            _inWord = true;
        }

        private void AddUnquoted(string s)
        {
            _joined.Append(s);
            foreach (var ch in s)
            {
                if (split && ch is ' ' or '\t' or '\n')
                {
                    if (_inWord)
                    {
                        _words.Add(_word.ToString());
                        _word.Clear();
                        _inWord = false;
                    }
                }
                else
                {
                    _word.Append(ch);
                    _inWord = true;
                }
            }
        }

        private string ReadSingleQuoted()
        {
            var end = text.IndexOf('\'', _pos);
            if (end < 0)
            {
                throw new FormatException("unexpected end of statement while looking for matching single-quote");
            }
            var s = text[_pos..end];
            _pos = end + 1;
            return s;
        }

        private string ReadDoubleQuoted()
        {
            var sb = new StringBuilder();
            while (true)
            {
                if (_pos >= text.Length)
                {
                    throw new FormatException("unexpected end of statement while looking for matching double-quote");
                }
                var c = text[_pos++];
                if (c == '"')
                {
                    return sb.ToString();
                }
                if (c == '$')
                {
                    sb.Append(ProcessDollar());
                }
                else if (c == escape)
                {
                    if (_pos >= text.Length)
                    {
                        continue;
                    }
                    var next = text[_pos];
                    if (next == '"' || next == '$' || next == escape)
                    {
                        _pos++;
                        sb.Append(next);
                    }
                    else
                    {
                        sb.Append(c);
                    }
                }
                else
                {
                    sb.Append(c);
                }
            }
        }

        private string ProcessDollar()
        {
            if (++_depth > MaxDepth)
            {
                throw new FormatException($"variable substitutions are nested deeper than {MaxDepth} levels");
            }
            try
            {
                var value = ProcessDollarCore();
                _produced += value.Length;
                if (_produced > MaxExpansion)
                {
                    throw new FormatException($"variable expansion produces more than {MaxExpansion} characters");
                }
                return value;
            }
            finally
            {
                _depth--;
            }
        }

        private string ProcessDollarCore()
        {
            if (_pos >= text.Length)
            {
                return "$";
            }
            if (text[_pos] != '{')
            {
                var name = ReadName();
                return name.Length == 0 ? "$" : env(name) ?? "";
            }
            _pos++;
            var n = ReadName();
            if (n.Length == 0)
            {
                throw new FormatException("missing variable name in ${…} expression");
            }
            if (_pos >= text.Length)
            {
                throw new FormatException("missing '}'");
            }
            var op = text[_pos];
            if (op == '}')
            {
                _pos++;
                return env(n) ?? "";
            }
            var colon = false;
            if (op == ':')
            {
                colon = true;
                _pos++;
                op = _pos < text.Length ? text[_pos] : '\0';
            }
            if (op is not ('-' or '+' or '?'))
            {
                throw new FormatException($"unsupported modifier ({op}) in substitution");
            }
            _pos++;
            var word = ReadUntilBrace();
            var value = env(n);
            var set = colon ? !string.IsNullOrEmpty(value) : value is not null;
            return op switch
            {
                '-' => set ? value! : word,
                '+' => set ? word : "",
                _ => set ? value! : throw new FormatException($"{n}: {(word.Length == 0 ? "is not allowed to be unset" : word)}"),
            };
        }

        private string ReadUntilBrace()
        {
            var sb = new StringBuilder();
            while (true)
            {
                if (_pos >= text.Length)
                {
                    throw new FormatException("missing '}'");
                }
                var c = text[_pos++];
                if (c == '}')
                {
                    return sb.ToString();
                }
                if (c == '$')
                {
                    sb.Append(ProcessDollar());
                }
                else if (c == '\'')
                {
                    sb.Append(ReadSingleQuoted());
                }
                else if (c == '"')
                {
                    sb.Append(ReadDoubleQuoted());
                }
                else if (c == escape && _pos < text.Length)
                {
                    sb.Append(text[_pos++]);
                }
                else
                {
                    sb.Append(c);
                }
            }
        }

        private string ReadName()
        {
            var start = _pos;
            if (_pos < text.Length && char.IsAsciiDigit(text[_pos]))
            {
                // lex.go: a name starting with a digit is a positional parameter: digits only.
                while (_pos < text.Length && char.IsAsciiDigit(text[_pos]))
                {
                    _pos++;
                }
                return text[start.._pos];
            }
            while (_pos < text.Length && (char.IsAsciiLetterOrDigit(text[_pos]) || text[_pos] == '_'))
            {
                _pos++;
            }
            return text[start.._pos];
        }
    }
}

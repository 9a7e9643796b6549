using System.Text;

namespace Mocker.Engine.Build.Parser;

/// <summary>
/// One parsed instruction (BuildKit frontend/dockerfile/parser.Node, flattened): the lower-case keyword, the
/// "--flag=value" words that preceded the arguments, the arguments as the instruction's syntax splits them,
/// whether they came from a JSON array, the 1-based line span and the original text (continuations joined).
/// <see cref="Next"/> is the wrapped instruction of ONBUILD.
/// </summary>
public sealed record Node
{
    public required string Keyword { get; init; }
    public IReadOnlyList<string> Flags { get; init; } = [];
    public IReadOnlyList<string> Args { get; init; } = [];
    public bool IsJson { get; init; }
    public int StartLine { get; init; }
    public int EndLine { get; init; }
    public string Original { get; init; } = "";
    public Node? Next { get; init; }

    /// <summary>The here-documents of a shell-form RUN, COPY or ADD, in the order their markers appear.</summary>
    public IReadOnlyList<Heredoc> Heredocs { get; init; } = [];

    /// <summary>BuildKit's golden-test dump: <c>(keyword ["--flag"] "arg" …)</c>, ONBUILD wrapping its child.</summary>
    public string Dump()
    {
        var sb = new StringBuilder("(").Append(Keyword);
        foreach (var f in Flags)
        {
            sb.Append(' ').Append('"').Append(f).Append('"');
        }
        if (Next is not null)
        {
            sb.Append(' ').Append(Next.Dump());
        }
        foreach (var a in Args)
        {
            sb.Append(" \"").Append(a.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
        }
        foreach (var h in Heredocs)
        {
            sb.Append(" (heredoc ").Append(h.Name).Append(h.Expand ? "" : " noexpand").Append(h.Chomp ? " chomp" : "").Append(" \"")
                .Append(h.Content.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append("\")");
        }
        return sb.Append(')').ToString();
    }
}

/// <summary>The result of parsing a Mockerfile: the instructions in order, the escape character in force and warnings.</summary>
public sealed record ParseResult(IReadOnlyList<Node> Nodes, char EscapeToken, IReadOnlyList<string> Warnings);

/// <summary>
/// One here-document (dockerfile-reference "Here-Documents"; POSIX shell 2.7.4): <see cref="Marker"/> is the word as
/// written ("&lt;&lt;-'EOF'"), <see cref="Name"/> the delimiter, <see cref="Content"/> the body with a final newline and,
/// when <see cref="Chomp"/> (<c>&lt;&lt;-</c>), leading tabs removed; <see cref="Expand"/> is false when any part of the
/// delimiter was quoted. <see cref="Raw"/> is the body lines and the delimiter line exactly as written, for a shell.
/// </summary>
public sealed record Heredoc(string Marker, string Name, string Content, bool Expand, bool Chomp, string Raw);

using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Mocker.Cli;

/// <summary>
/// A small evaluator for the Go <c>text/template</c> subset the docker CLI's <c>--format</c> flags use
/// (Docker docs "Format command and log output"): <c>{{.Field.Path}}</c>, <c>{{.}}</c>, pipelines with <c>|</c>,
/// the functions <c>json</c>, <c>index</c>, <c>join</c>, <c>split</c>, <c>upper</c>, <c>lower</c>, <c>title</c>, <c>len</c>,
/// <c>printf</c>, <c>println</c>, <c>truncate</c>, <c>pad</c>, and <c>if</c>/<c>else</c>/<c>range</c>/<c>end</c> blocks, with
/// <c>{{-</c>/<c>-}}</c> trimming. Data is a <see cref="JsonElement"/>; values print the way Go's fmt prints decoded JSON
/// (lists as <c>[a b]</c>, objects as <c>map[k:v]</c>).
/// </summary>
public sealed class GoTemplate
{
    private readonly List<Node> _nodes;

    private GoTemplate(List<Node> nodes) => _nodes = nodes;

    /// <summary>Parses a template.</summary>
    /// <exception cref="FormatException">The template is malformed (unclosed action, unknown function, stray end).</exception>
    public static GoTemplate Parse(string text)
    {
        var parser = new Parser(text);
        var nodes = parser.ParseList(out var terminator);
        if (terminator is not null) throw new FormatException($"template: unexpected {{{{{terminator}}}}}");
        return new GoTemplate(nodes);
    }

    /// <summary>Renders the template against <paramref name="data"/>.</summary>
    /// <exception cref="FormatException">A function got arguments it cannot use.</exception>
    public string Execute(JsonElement data)
    {
        var sb = new StringBuilder();
        Render(_nodes, data, sb);
        return sb.ToString();
    }

    private static void Render(List<Node> nodes, JsonElement dot, StringBuilder sb)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case TextNode t:
                    sb.Append(t.Text);
                    break;
                case ActionNode a:
                    sb.Append(Print(Eval(a.Pipeline, dot)));
                    break;
                case IfNode i:
                    Render(Truthy(Eval(i.Condition, dot)) ? i.Then : i.Else, dot, sb);
                    break;
                case RangeNode r:
                    var v = Eval(r.Pipeline, dot);
                    var any = false;
                    if (v is JsonElement { ValueKind: JsonValueKind.Array } arr)
                        foreach (var item in arr.EnumerateArray()) { any = true; Render(r.Body, item, sb); }
                    else if (v is JsonElement { ValueKind: JsonValueKind.Object } obj)
                        foreach (var p in obj.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal)) { any = true; Render(r.Body, p.Value, sb); }
                    if (!any) Render(r.Else, dot, sb);
                    break;
            }
        }
    }

    private static object? Eval(List<List<Operand>> pipeline, JsonElement dot)
    {
        object? previous = null;
        var first = true;
        foreach (var command in pipeline)
        {
            var args = new List<object?>();
            for (var i = 1; i < command.Count; i++) args.Add(Resolve(command[i], dot));
            if (!first) args.Add(previous);
            if (command[0] is FuncOperand f)
            {
                previous = Call(f.Name, args);
            }
            else
            {
                if (args.Count > 0) throw new FormatException("template: can't give argument to non-function");
                previous = Resolve(command[0], dot);
            }
            first = false;
        }
        return previous;
    }

    private static object? Resolve(Operand op, JsonElement dot) => op switch
    {
        FieldOperand f => Field(dot, f.Path),
        StringOperand s => s.Value,
        NumberOperand n => n.Value,
        BoolOperand b => b.Value,
        FuncOperand f => Call(f.Name, []),
        _ => null,
    };

    private static object? Field(JsonElement dot, string[] path)
    {
        object? current = dot;
        foreach (var name in path)
        {
            if (current is not JsonElement { ValueKind: JsonValueKind.Object } obj) return Missing.Value;
            if (obj.TryGetProperty(name, out var exact)) { current = exact; continue; }
            var found = obj.EnumerateObject().FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
            if (found.Value.ValueKind == JsonValueKind.Undefined) return Missing.Value;
            current = found.Value;
        }
        return current;
    }

    private static object? Call(string name, List<object?> args)
    {
        switch (name)
        {
            case "json":
                Need(name, args, 1);
                return ToJson(args[0]);
            case "upper":
                Need(name, args, 1);
                return Print(args[0]).ToUpperInvariant();
            case "lower":
                Need(name, args, 1);
                return Print(args[0]).ToLowerInvariant();
            case "title":
                Need(name, args, 1);
                var s = Print(args[0]);
                return s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
            case "len":
                Need(name, args, 1);
                return args[0] switch
                {
                    JsonElement { ValueKind: JsonValueKind.Array } a => (long)a.GetArrayLength(),
                    JsonElement { ValueKind: JsonValueKind.Object } o => (long)o.EnumerateObject().Count(),
                    JsonElement { ValueKind: JsonValueKind.String } str => (long)str.GetString()!.Length,
                    string str => (long)str.Length,
                    _ => throw new FormatException("template: len of unsupported type"),
                };
            case "join":
                Need(name, args, 2);
                return string.Join(Print(args[1]), Items(args[0]).Select(Print));
            case "split":
                Need(name, args, 2);
                return JsonSerializer.SerializeToElement(Print(args[0]).Split(Print(args[1])), CliJsonContext.Default.StringArray);
            case "index":
                if (args.Count < 2) throw new FormatException("template: wrong number of args for index");
                var current = args[0];
                foreach (var key in args.Skip(1))
                {
                    current = current switch
                    {
                        JsonElement { ValueKind: JsonValueKind.Object } o => o.TryGetProperty(Print(key), out var v) ? v : Missing.Value,
                        JsonElement { ValueKind: JsonValueKind.Array } a when key is long i => i >= 0 && i < a.GetArrayLength() ? a[(int)i]
                            : throw new FormatException($"template: index out of range: {i}"),
                        _ => throw new FormatException("template: can't index item"),
                    };
                }
                return current;
            case "printf":
                if (args.Count < 1) throw new FormatException("template: wrong number of args for printf");
                return Printf(Print(args[0]), args.Skip(1).ToList());
            case "println":
                return string.Join(' ', args.Select(Print)) + "\n";
            case "truncate":
                Need(name, args, 2);
                var text = Print(args[0]);
                var n = args[1] is long l ? (int)l : int.Parse(Print(args[1]), CultureInfo.InvariantCulture);
                return text.Length > n ? text[..n] : text;
            case "pad":
                Need(name, args, 3);
                return new string(' ', (int)(long)args[1]!) + Print(args[0]) + new string(' ', (int)(long)args[2]!);
            default:
                throw new FormatException($"template: function \"{name}\" not defined");
        }
    }

    private static void Need(string name, List<object?> args, int count)
    {
        if (args.Count != count) throw new FormatException($"template: wrong number of args for {name}: want {count} got {args.Count}");
    }

    private static IEnumerable<object?> Items(object? v) => v switch
    {
        JsonElement { ValueKind: JsonValueKind.Array } a => a.EnumerateArray().Select(e => (object?)e),
        null or Missing => [],
        JsonElement { ValueKind: JsonValueKind.Null } => [],
        _ => throw new FormatException("template: join expects a list"),
    };

    private static string Printf(string format, List<object?> args)
    {
        var sb = new StringBuilder();
        var argIndex = 0;
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%') { sb.Append(format[i]); continue; }
            var start = i++;
            while (i < format.Length && "-+ 0#".Contains(format[i], StringComparison.Ordinal)) i++;
            var widthStart = i;
            while (i < format.Length && char.IsAsciiDigit(format[i])) i++;
            var width = i > widthStart ? int.Parse(format[widthStart..i], CultureInfo.InvariantCulture) : 0;
            if (i < format.Length && format[i] == '.') { i++; while (i < format.Length && char.IsAsciiDigit(format[i])) i++; }
            if (i >= format.Length) { sb.Append("%!(NOVERB)"); break; }
            var verb = format[i];
            if (verb == '%') { sb.Append('%'); continue; }
            var flags = format[(start + 1)..widthStart];
            if (argIndex >= args.Count) { sb.Append("%!").Append(verb).Append("(MISSING)"); continue; }
            var arg = args[argIndex++];
            var text = verb switch
            {
                'q' => JsonSerializer.Serialize(Print(arg), CliJsonContext.Default.String),
                _ => Print(arg),
            };
            if (text.Length < width)
                text = flags.Contains('-', StringComparison.Ordinal) ? text.PadRight(width) : text.PadLeft(width, flags.Contains('0', StringComparison.Ordinal) && verb == 'd' ? '0' : ' ');
            sb.Append(text);
        }
        return sb.ToString();
    }

    private static bool Truthy(object? v) => v switch
    {
        null or Missing => false,
        bool b => b,
        long l => l != 0,
        string s => s.Length > 0,
        JsonElement e => e.ValueKind switch
        {
            JsonValueKind.False or JsonValueKind.Null or JsonValueKind.Undefined => false,
            JsonValueKind.String => e.GetString()!.Length > 0,
            JsonValueKind.Number => e.GetDouble() != 0,
            JsonValueKind.Array => e.GetArrayLength() > 0,
            JsonValueKind.Object => e.EnumerateObject().Any(),
            _ => true,
        },
        _ => true,
    };

    /// <summary>Prints a value as Go's fmt <c>%v</c> prints decoded JSON.</summary>
    public static string Print(object? v) => v switch
    {
        null => "<nil>",
        Missing => "<no value>",
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        JsonElement e => PrintElement(e),
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };

    private static string PrintElement(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.Number => PrintNumber(e),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null or JsonValueKind.Undefined => "<nil>",
        JsonValueKind.Array => "[" + string.Join(' ', e.EnumerateArray().Select(PrintElement)) + "]",
        _ => "map[" + string.Join(' ', e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => p.Name + ":" + PrintElement(p.Value))) + "]",
    };

    private static string PrintNumber(JsonElement e)
    {
        if (e.TryGetInt64(out var l)) return l.ToString(CultureInfo.InvariantCulture);
        var d = e.GetDouble();
        return d.ToString(Math.Abs(d) >= 1e21 ? "E" : "R", CultureInfo.InvariantCulture);
    }

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Go's <c>json.Marshal</c>: compact, with <c>&lt; &gt; &amp;</c> escaped as <c>\u003c</c> etc.</summary>
    public static string ToJson(object? v)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, WriterOptions))
        {
            switch (v)
            {
                case JsonElement e when e.ValueKind != JsonValueKind.Undefined: e.WriteTo(w); break;
                case string s: w.WriteStringValue(s); break;
                case long l: w.WriteNumberValue(l); break;
                case bool b: w.WriteBooleanValue(b); break;
                default: w.WriteNullValue(); break;
            }
        }
        return Encoding.UTF8.GetString(ms.ToArray()).Replace("<", "\\u003c", StringComparison.Ordinal)
            .Replace(">", "\\u003e", StringComparison.Ordinal).Replace("&", "\\u0026", StringComparison.Ordinal);
    }

    private sealed class Missing
    {
        public static readonly Missing Value = new();
    }

    private abstract record Node;
    private sealed record TextNode(string Text) : Node;
    private sealed record ActionNode(List<List<Operand>> Pipeline) : Node;
    private sealed record IfNode(List<List<Operand>> Condition, List<Node> Then, List<Node> Else) : Node;
    private sealed record RangeNode(List<List<Operand>> Pipeline, List<Node> Body, List<Node> Else) : Node;

    private abstract record Operand;
    private sealed record FieldOperand(string[] Path) : Operand;
    private sealed record StringOperand(string Value) : Operand;
    private sealed record NumberOperand(long Value) : Operand;
    private sealed record BoolOperand(bool Value) : Operand;
    private sealed record FuncOperand(string Name) : Operand;

    private sealed class Parser(string text)
    {
        private static readonly HashSet<string> Functions =
            ["json", "index", "join", "split", "upper", "lower", "title", "len", "printf", "println", "truncate", "pad"];

        private int _pos;

        /// <summary>Parses nodes until EOF or a control keyword (end/else) which is returned in <paramref name="terminator"/>.</summary>
        public List<Node> ParseList(out string? terminator)
        {
            var nodes = new List<Node>();
            while (_pos < text.Length)
            {
                var open = text.IndexOf("{{", _pos, StringComparison.Ordinal);
                if (open < 0) { nodes.Add(new TextNode(text[_pos..])); _pos = text.Length; break; }
                var literal = text[_pos..open];
                var close = text.IndexOf("}}", open + 2, StringComparison.Ordinal);
                if (close < 0) throw new FormatException("template: unclosed action");
                var inner = text[(open + 2)..close];
                if (inner.StartsWith("- ", StringComparison.Ordinal) || inner == "-") { literal = literal.TrimEnd(); inner = inner[1..]; }
                var trimAfter = false;
                if (inner.EndsWith(" -", StringComparison.Ordinal)) { trimAfter = true; inner = inner[..^1]; }
                if (literal.Length > 0) nodes.Add(new TextNode(literal));
                _pos = close + 2;
                if (trimAfter) while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;

                inner = inner.Trim();
                if (inner.StartsWith("/*", StringComparison.Ordinal)) continue;
                var keyword = inner.Split(' ', 2)[0];
                var rest = inner.Length > keyword.Length ? inner[keyword.Length..].Trim() : "";
                switch (keyword)
                {
                    case "end":
                    case "else":
                        terminator = inner;
                        return nodes;
                    case "if":
                        {
                            var cond = ParsePipeline(rest);
                            var then = ParseList(out var t);
                            var els = new List<Node>();
                            if (t == "else") { els = ParseList(out t); }
                            else if (t is not null && t.StartsWith("else if ", StringComparison.Ordinal))
                            {
                                throw new FormatException("template: else if is not supported");
                            }
                            if (t != "end") throw new FormatException("template: unexpected EOF in if");
                            nodes.Add(new IfNode(cond, then, els));
                            break;
                        }
                    case "range":
                        {
                            var pipe = ParsePipeline(rest);
                            var body = ParseList(out var t);
                            var els = new List<Node>();
                            if (t == "else") els = ParseList(out t);
                            if (t != "end") throw new FormatException("template: unexpected EOF in range");
                            nodes.Add(new RangeNode(pipe, body, els));
                            break;
                        }
                    default:
                        nodes.Add(new ActionNode(ParsePipeline(inner)));
                        break;
                }
            }
            terminator = null;
            return nodes;
        }

        private static List<List<Operand>> ParsePipeline(string s)
        {
            var commands = new List<List<Operand>>();
            var current = new List<Operand>();
            var i = 0;
            while (i < s.Length)
            {
                var c = s[i];
                if (char.IsWhiteSpace(c)) { i++; continue; }
                if (c == '|')
                {
                    if (current.Count == 0) throw new FormatException("template: missing command before |");
                    commands.Add(current);
                    current = [];
                    i++;
                    continue;
                }
                if (c == '"')
                {
                    var sb = new StringBuilder();
                    i++;
                    while (i < s.Length && s[i] != '"')
                    {
                        if (s[i] == '\\' && i + 1 < s.Length)
                        {
                            i++;
                            sb.Append(s[i] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', var o => o });
                        }
                        else sb.Append(s[i]);
                        i++;
                    }
                    if (i >= s.Length) throw new FormatException("template: unterminated quoted string");
                    i++;
                    current.Add(new StringOperand(sb.ToString()));
                    continue;
                }
                if (c == '`')
                {
                    var end = s.IndexOf('`', i + 1);
                    if (end < 0) throw new FormatException("template: unterminated raw quoted string");
                    current.Add(new StringOperand(s[(i + 1)..end]));
                    i = end + 1;
                    continue;
                }
                var start = i;
                while (i < s.Length && !char.IsWhiteSpace(s[i]) && s[i] != '|') i++;
                var word = s[start..i];
                if (word == ".") current.Add(new FieldOperand([]));
                else if (word.StartsWith('.')) current.Add(new FieldOperand(word[1..].Split('.')));
                else if (long.TryParse(word, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)) current.Add(new NumberOperand(n));
                else if (word is "true" or "false") current.Add(new BoolOperand(word == "true"));
                else if (Functions.Contains(word)) current.Add(new FuncOperand(word));
                else throw new FormatException($"template: function \"{word}\" not defined");
            }
            if (current.Count == 0) throw new FormatException("template: missing value for command");
            commands.Add(current);
            return commands;
        }
    }
}

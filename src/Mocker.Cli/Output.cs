using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Mocker.Api;

namespace Mocker.Cli;

/// <summary>
/// docker's list formatting (cli/command/formatter): <c>table …</c> renders a header plus rows through
/// <see cref="TabWriter"/>, <c>json</c> prints one JSON object per line, anything else is a Go template per row.
/// </summary>
internal static class Output
{
    /// <summary>Renders <paramref name="rows"/>; <paramref name="headers"/> maps field names to column titles.</summary>
    /// <exception cref="UsageException">The template does not parse.</exception>
    public static void Render(string? format, string defaultTable, IReadOnlyList<SortedDictionary<string, string>> rows,
        IReadOnlyDictionary<string, string> headers)
    {
        format = string.IsNullOrEmpty(format) || format == "table" ? defaultTable : format == "json" ? "{{json .}}" : format;
        var isTable = format.StartsWith("table", StringComparison.Ordinal);
        if (isTable) format = format["table".Length..];
        format = format.Trim(' ').Replace("\\t", "\t", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal);
        GoTemplate template;
        try
        {
            template = GoTemplate.Parse(format);
        }
        catch (FormatException e)
        {
            throw new UsageException($"template parsing error: {e.Message}");
        }
        var sb = new StringBuilder();
        if (isTable)
        {
            var lines = new List<string>();
            var header = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var key in rows.FirstOrDefault()?.Keys ?? headers.Keys)
                header[key] = headers.TryGetValue(key, out var h) ? h : key.ToUpperInvariant();
            lines.Add(Execute(template, header));
            foreach (var row in rows) lines.Add(Execute(template, row));
            sb.Append(TabWriter.Format(lines.SelectMany(l => l.Split('\n')).ToList()));
        }
        else
        {
            foreach (var row in rows) sb.Append(Execute(template, row)).Append('\n');
        }
        Cli.Out(sb.ToString());
    }

    private static string Execute(GoTemplate template, SortedDictionary<string, string> row)
    {
        var element = JsonSerializer.SerializeToElement(row, CliJsonContext.Default.SortedDictionaryStringString);
        try
        {
            return template.Execute(element);
        }
        catch (FormatException e)
        {
            throw new UsageException($"template: {e.Message}");
        }
    }

    private static readonly JsonWriterOptions Indented = new() { Indented = true, IndentSize = 4, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary><c>inspect</c> output: a JSON array indented by 4 spaces, as Go's <c>json.MarshalIndent</c> writes it.</summary>
    public static string IndentedArray(IEnumerable<JsonElement> items)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, Indented))
        {
            w.WriteStartArray();
            foreach (var item in items) item.WriteTo(w);
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(ms.ToArray()).Replace("<", "\\u003c", StringComparison.Ordinal)
            .Replace(">", "\\u003e", StringComparison.Ordinal).Replace("&", "\\u0026", StringComparison.Ordinal);
    }
}

/// <summary>
/// Renders a JSON message stream (build, import, bootstrap; engine-api-trace.md §5.6) like docker's
/// <c>jsonmessage.DisplayJSONMessagesStream</c>: <c>stream</c> text verbatim; <c>status</c> lines keyed by <c>id</c> are
/// redrawn in place with cursor movement when stdout is a terminal, printed as plain lines otherwise.
/// With <paramref name="toStderr"/> the progress goes to stderr (the pull that <c>run</c> and <c>create</c> start, as docker does).
/// </summary>
internal sealed class ProgressRenderer(bool isTerminal, bool toStderr = false)
{
    private void Out(string text)
    {
        if (toStderr) Cli.Err(text);
        else Cli.Out(text);
    }

    private void OutLine(string text) => Out(text + "\n");

    private readonly Dictionary<string, int> _lines = new(StringComparer.Ordinal);
    private int _lineCount;

    /// <summary>The built image ID from an <c>aux</c> message, if any.</summary>
    public string? AuxId { get; private set; }

    /// <summary>Renders one message; returns the error (message, code) when the message reports a failure.</summary>
    public (string Message, int Code)? Render(JsonMessage m)
    {
        if (m.errorDetail is { } ed || m.error is not null)
        {
            var text = m.errorDetail?.message ?? m.error ?? "unknown error";
            return (text, m.errorDetail?.code is { } c and not 0 ? c : 1);
        }
        if (m.aux?.ID is { } id) AuxId = id;
        if (m.stream is { } s)
        {
            Out(s);
            return null;
        }
        if (m.status is null) return null;
        var line = (m.id is null ? "" : m.id + ": ") + m.status + (isTerminal && m.progress is { } p ? " " + p : "");
        if (!isTerminal || m.id is null)
        {
            if (!isTerminal && m.progressDetail?.current is not null && m.progressDetail.total is not null) return null;
            OutLine(line);
            if (isTerminal) _lineCount++;
            return null;
        }
        if (!_lines.TryGetValue(m.id, out var index))
        {
            _lines[m.id] = _lineCount++;
            OutLine(line);
            return null;
        }
        var up = _lineCount - index;
        Out($"\u001b[{up}A\r\u001b[2K{line}\r\u001b[{up}B");
        return null;
    }

    /// <summary>Renders a whole stream; returns the process exit code (0, or the error's code after printing it to stderr).</summary>
    public async Task<int> RenderAllAsync(IAsyncEnumerable<JsonMessage> messages)
    {
        await foreach (var m in messages.ConfigureAwait(false))
        {
            if (Render(m) is { } error)
            {
                Cli.ErrLine(error.Message);
                return error.Code;
            }
        }
        return 0;
    }
}

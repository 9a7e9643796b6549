using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Mocker.Api;
using Mocker.Client;

namespace Mocker.Cli;

/// <summary><c>mocker events</c> (docker cli/command/system/events.go).</summary>
internal static class EventCommands
{
    public static Command Events()
    {
        var since = new Option<string?>("--since") { Description = "Show all events created since timestamp" };
        var until = new Option<string?>("--until") { Description = "Stream events until this timestamp" };
        var filter = new Option<string[]>("--filter", "-f") { Description = "Filter output based on conditions provided" };
        var format = new Option<string?>("--format") { Description = "Format output using a custom template" };
        var cmd = new Command("events", "Get real time events from the server") { since, until, filter, format };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var now = DateTimeOffset.UtcNow;
            string? Time(Option<string?> o, string flag)
            {
                var v = pr.GetValue(o);
                if (string.IsNullOrEmpty(v)) return null;
                try { return TimeArgs.ToApiTimestamp(v, now); }
                catch (FormatException e) { throw new UsageException($"invalid value for \"{flag}\": {e.Message}"); }
            }
            var template = pr.GetValue(format) is { Length: > 0 } f ? GoTemplate.Parse(f == "json" ? "{{json .}}" : f) : null;
            await foreach (var m in c.System.EventsAsync(Time(since, "since"), Time(until, "until"), Cli.Filters(pr.GetValue(filter)), ct).ConfigureAwait(false))
            {
                Cli.OutLine(template is null ? Line(m) : template.Execute(JsonSerializer.SerializeToElement(m, EventsJsonContext.Default.EventMessage)));
                Cli.Stdout.Flush();
            }
            return 0;
        }));
        return cmd;
    }

    /// <summary>docker's default line: "&lt;RFC3339Nano local time&gt; &lt;Type&gt; &lt;Action&gt; &lt;ID&gt; (k=v, …)" with attributes sorted by key.</summary>
    public static string Line(EventMessage m)
    {
        var t = DateTimeOffset.UnixEpoch.AddTicks(m.timeNano / 100).ToLocalTime();
        var sb = new StringBuilder();
        sb.Append(t.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture)).Append('.')
            .Append((m.timeNano % 1_000_000_000).ToString("000000000", CultureInfo.InvariantCulture).TrimEnd('0') is { Length: > 0 } frac ? frac : "0")
            .Append(t.Offset == TimeSpan.Zero ? "Z" : t.ToString("zzz", CultureInfo.InvariantCulture))
            .Append(' ').Append(m.Type).Append(' ').Append(m.Action).Append(' ').Append(m.Actor.ID);
        if (m.Actor.Attributes.Count > 0)
        {
            sb.Append(" (").Append(string.Join(", ", m.Actor.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => a.Key + "=" + a.Value))).Append(')');
        }
        return sb.ToString();
    }
}

using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Mocker.Engine.Containers;

/// <summary>
/// conmon's k8s-file log format (CRI logging, conmon src/ctr_logging.c): one record per line,
/// "&lt;RFC3339Nano time&gt; &lt;stdout|stderr&gt; &lt;F|P&gt; &lt;bytes&gt;". P marks a partial line that the next
/// record of the same stream continues; F ends a line (the "\n" itself is not stored).
/// </summary>
public static class K8sFileLog
{
    /// <summary>One parsed record; <paramref name="Partial"/> is true for "P".</summary>
    public readonly record struct Record(StdStream Stream, DateTimeOffset Time, bool Partial, ReadOnlyMemory<byte> Data);

    /// <summary>Parses one line without its trailing newline; null when malformed.</summary>
    public static Record? ParseLine(ReadOnlySpan<byte> line)
    {
        var sp1 = line.IndexOf((byte)' ');
        if (sp1 <= 0)
        {
            return null;
        }
        var rest = line[(sp1 + 1)..];
        var sp2 = rest.IndexOf((byte)' ');
        if (sp2 <= 0)
        {
            return null;
        }
        var stream = rest[..sp2];
        rest = rest[(sp2 + 1)..];
        if (rest.Length < 1)
        {
            return null;
        }
        var partial = rest[0] == (byte)'P';
        var data = rest.Length > 2 ? rest[2..].ToArray() : [];
        if (!DateTimeOffset.TryParse(Encoding.ASCII.GetString(line[..sp1]), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return null;
        }
        var s = stream.SequenceEqual("stderr"u8) ? StdStream.Stderr : StdStream.Stdout;
        return new Record(s, time.ToUniversalTime(), partial, data);
    }

    /// <summary>Joins partial records into whole entries; a complete entry ends with "\n".</summary>
    public sealed class Joiner
    {
        private readonly Dictionary<StdStream, (DateTimeOffset Time, MemoryStream Buf)> _partial = [];

        /// <summary>Feeds one record; returns the completed entry, or null while a line is still partial.</summary>
        public LogEntry? Add(Record r)
        {
            if (r.Partial)
            {
                if (!_partial.TryGetValue(r.Stream, out var p))
                {
                    p = (r.Time, new MemoryStream());
                    _partial[r.Stream] = p;
                }
                p.Buf.Write(r.Data.Span);
                return null;
            }
            var time = r.Time;
            var buf = new MemoryStream();
            if (_partial.Remove(r.Stream, out var prev))
            {
                time = prev.Time;
                prev.Buf.WriteTo(buf);
            }
            buf.Write(r.Data.Span);
            buf.WriteByte((byte)'\n');
            return new LogEntry(r.Stream, time, buf.ToArray());
        }
    }

    /// <summary>
    /// Reads entries from <paramref name="path"/>. When <paramref name="changed"/> and <paramref name="stopped"/> are given
    /// (follow), waits on <paramref name="changed"/> for more data until <paramref name="stopped"/> completes, then drains the rest.
    /// </summary>
    public static async IAsyncEnumerable<LogEntry> ReadAsync(string path, Func<Task>? changed, Task? stopped, [EnumeratorCancellation] CancellationToken ct)
    {
        FileStream fs;
        try
        {
            fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous);
        }
        catch (FileNotFoundException)
        {
            yield break;
        }
        await using var _ = fs;
        var joiner = new Joiner();
        var pending = new MemoryStream();
        var buf = new byte[65536];
        var draining = false;
        var cancelled = Task.Delay(Timeout.Infinite, ct);
        while (!ct.IsCancellationRequested)
        {
            var n = await fs.ReadAsync(buf, ct).ConfigureAwait(false);
            if (n > 0)
            {
                var start = 0;
                for (var i = 0; i < n; i++)
                {
                    if (buf[i] != (byte)'\n')
                    {
                        continue;
                    }
                    ReadOnlyMemory<byte> line;
                    if (pending.Length > 0)
                    {
                        pending.Write(buf, start, i - start);
                        line = pending.ToArray();
                        pending.SetLength(0);
                    }
                    else
                    {
                        line = buf.AsMemory(start, i - start);
                    }
                    start = i + 1;
                    if (ParseLine(line.Span) is { } rec && joiner.Add(rec) is { } entry)
                    {
                        yield return entry;
                    }
                }
                pending.Write(buf, start, n - start);
                continue;
            }
            if (changed is null || stopped is null || draining)
            {
                yield break;
            }
            if (stopped.IsCompleted)
            {
                draining = true;
                continue;
            }
            var wait = changed();
            await Task.WhenAny(wait, stopped, cancelled).ConfigureAwait(false);
        }
    }
}

using System.Buffers;
using System.Text;

namespace Mocker.Daemon.Http;

/// <summary>
/// An HTTP/1.1 request head as read off the wire by <see cref="DockerConnectionMiddleware"/>: request line and headers.
/// Header lines may end in "\r\n" or a bare "\n" (Docker.DotNet on Linux, engine-api-trace.md §3.2, §5.3).
/// </summary>
internal sealed class RequestHead
{
    /// <summary>Heads larger than this are refused (431-like): dockerd's limit is 1 MiB, real clients send under 4 KiB.</summary>
    public const int MaxHeadBytes = 64 * 1024;

    public required string Method { get; init; }
    /// <summary>The request target as sent (origin form, e.g. "/v1.41/exec/abc/start?x=1").</summary>
    public required string Target { get; init; }
    public required string Version { get; init; }
    public required IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; }

    /// <summary>Path part of <see cref="Target"/> (before '?'), percent-encoding untouched.</summary>
    public string Path => Target.IndexOf('?') is var q and >= 0 ? Target[..q] : Target;

    /// <summary>Query part of <see cref="Target"/> including the leading '?', or "".</summary>
    public string Query => Target.IndexOf('?') is var q and >= 0 ? Target[q..] : "";

    /// <summary>First value of a header (case-insensitive name), or null.</summary>
    public string? Get(string name)
    {
        foreach (var (key, value) in Headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }
        return null;
    }

    public bool Has(string name) => Get(name) is not null;

    /// <summary>True when Transfer-Encoding ends in "chunked" (RFC 9112 §6.3: then Content-Length is ignored).</summary>
    public bool IsChunked => Get("Transfer-Encoding") is { } te && te.TrimEnd().EndsWith("chunked", StringComparison.OrdinalIgnoreCase);

    /// <summary>Content-Length, 0 when absent. Throws <see cref="FormatException"/> when malformed.</summary>
    public long ContentLength => Get("Content-Length") is { } cl
        ? (long.TryParse(cl.Trim(), System.Globalization.NumberStyles.None, null, out var n) ? n : throw new FormatException("invalid Content-Length"))
        : 0;

    /// <summary>
    /// Finds the end of a request head in <paramref name="buffer"/>: the first empty line, where a line ends in "\n"
    /// optionally preceded by "\r". Returns the length of the head including that empty line, or -1 when incomplete.
    /// </summary>
    public static long FindEnd(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (reader.TryAdvanceTo((byte)'\n', advancePastDelimiter: true))
        {
            if (reader.IsNext((byte)'\n', advancePast: true) || reader.IsNext("\r\n"u8, advancePast: true))
            {
                return reader.Consumed;
            }
        }
        return -1;
    }

    /// <summary>Parses a complete head (as delimited by <see cref="FindEnd"/>). Throws <see cref="FormatException"/> on malformed input.</summary>
    public static RequestHead Parse(ReadOnlySpan<byte> head)
    {
        var headers = new List<KeyValuePair<string, string>>(12);
        string? method = null, target = null, version = null;
        while (!head.IsEmpty)
        {
            var nl = head.IndexOf((byte)'\n');
            var line = nl < 0 ? head : head[..nl];
            head = nl < 0 ? default : head[(nl + 1)..];
            if (!line.IsEmpty && line[^1] == '\r')
            {
                line = line[..^1];
            }
            if (method is null)
            {
                if (line.IsEmpty)
                {
                    // RFC 9112 §2.2: a server should ignore empty lines before the request line.
                    continue;
                }
                var s1 = line.IndexOf((byte)' ');
                var s2 = s1 < 0 ? -1 : line[(s1 + 1)..].IndexOf((byte)' ');
                if (s1 <= 0 || s2 <= 0)
                {
                    throw new FormatException("malformed request line");
                }
                method = Encoding.ASCII.GetString(line[..s1]);
                target = Encoding.ASCII.GetString(line.Slice(s1 + 1, s2));
                version = Encoding.ASCII.GetString(line[(s1 + s2 + 2)..]);
                if (!version.StartsWith("HTTP/1.", StringComparison.Ordinal))
                {
                    throw new FormatException("unsupported HTTP version");
                }
                continue;
            }
            if (line.IsEmpty)
            {
                break;
            }
            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                throw new FormatException("malformed header line");
            }
            headers.Add(new(Encoding.ASCII.GetString(line[..colon]).Trim(), Encoding.Latin1.GetString(line[(colon + 1)..]).Trim()));
        }
        if (method is null)
        {
            throw new FormatException("empty request");
        }
        return new RequestHead { Method = method, Target = target!, Version = version!, Headers = headers };
    }
}

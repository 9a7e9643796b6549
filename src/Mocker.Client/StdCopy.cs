using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Mocker.Client;

/// <summary>Which standard stream a piece of container output belongs to (stdcopy stream byte, engine-api-trace.md §5.5).</summary>
public enum StdStream
{
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
    /// <summary>An error the daemon reports in-band (newer daemons).</summary>
    SystemErr = 3,
}

/// <summary>One piece of container output: the stream it came from and its bytes.</summary>
public readonly record struct OutputChunk(StdStream Stream, ReadOnlyMemory<byte> Data);

/// <summary>
/// Docker's stdcopy framing (engine-api-trace.md §5.5): each frame is <c>[stream:1][0 0 0][size:uint32 BE][payload]</c>.
/// Used for attach, exec and logs when the container has no TTY; with a TTY the bytes are raw.
/// </summary>
public static class StdCopy
{
    private const int HeaderSize = 8;

    /// <summary>
    /// Reads <paramref name="source"/> to its end and yields one chunk per frame (<paramref name="tty"/> false) or per
    /// read of raw stdout bytes (<paramref name="tty"/> true). Every yielded chunk owns its buffer.
    /// </summary>
    /// <exception cref="InvalidDataException">A frame header names an unknown stream, or the stream ends inside a frame.</exception>
    public static async IAsyncEnumerable<OutputChunk> ReadAsync(Stream source, bool tty, [EnumeratorCancellation] CancellationToken ct = default)
    {
        if (tty)
        {
            var buffer = new byte[32 * 1024];
            int n;
            while ((n = await source.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                yield return new OutputChunk(StdStream.Stdout, buffer.AsSpan(0, n).ToArray());
            yield break;
        }

        var header = new byte[HeaderSize];
        while (true)
        {
            var got = await ReadFullAsync(source, header, ct).ConfigureAwait(false);
            if (got == 0) yield break;
            if (got < HeaderSize) throw new InvalidDataException("unexpected EOF inside a stdcopy frame header");
            var kind = header[0];
            if (kind > 3) throw new InvalidDataException($"unrecognized stdcopy stream: {kind}");
            var size = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
            if (size > int.MaxValue) throw new InvalidDataException($"stdcopy frame too large: {size}");
            var payload = new byte[size];
            if (await ReadFullAsync(source, payload, ct).ConfigureAwait(false) < payload.Length)
                throw new InvalidDataException("unexpected EOF inside a stdcopy frame");
            yield return new OutputChunk((StdStream)kind, payload);
        }
    }

    /// <summary>
    /// Demultiplexes <paramref name="source"/> into <paramref name="stdout"/> and <paramref name="stderr"/> until its end,
    /// flushing after every frame so interactive output appears at once. SystemErr frames go to stderr.
    /// </summary>
    public static async Task CopyAsync(Stream source, Stream stdout, Stream stderr, bool tty, CancellationToken ct = default)
    {
        await foreach (var chunk in ReadAsync(source, tty, ct).ConfigureAwait(false))
        {
            var target = chunk.Stream is StdStream.Stderr or StdStream.SystemErr ? stderr : stdout;
            await target.WriteAsync(chunk.Data, ct).ConfigureAwait(false);
            await target.FlushAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>Builds one frame (for tests and tools that produce framed output).</summary>
    public static byte[] Frame(StdStream stream, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[HeaderSize + payload.Length];
        frame[0] = (byte)stream;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(HeaderSize));
        return frame;
    }

    private static async ValueTask<int> ReadFullAsync(Stream s, Memory<byte> buffer, CancellationToken ct)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await s.ReadAsync(buffer[total..], ct).ConfigureAwait(false);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}

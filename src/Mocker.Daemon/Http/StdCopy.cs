using System.Buffers;
using System.Buffers.Binary;
using Mocker.Engine.Containers;

namespace Mocker.Daemon.Http;

/// <summary>
/// Docker's stdcopy multiplexing (engine-api-trace.md §5.5): each frame is an 8-byte header
/// [stream, 0, 0, 0, size uint32 big-endian] followed by the payload. Used when the process has no TTY.
/// </summary>
internal static class StdCopy
{
    public const int HeaderSize = 8;

    /// <summary>Writes the frame header for a payload of <paramref name="length"/> bytes into <paramref name="destination"/> (≥ 8 bytes).</summary>
    public static void WriteHeader(Span<byte> destination, StdStream stream, int length)
    {
        destination[0] = (byte)stream;
        destination[1] = 0;
        destination[2] = 0;
        destination[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], (uint)length);
    }

    /// <summary>Appends one frame (header + payload) to <paramref name="writer"/>; empty payloads produce no frame.</summary>
    public static void WriteFrame(IBufferWriter<byte> writer, StdStream stream, ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return;
        }
        var span = writer.GetSpan(HeaderSize);
        WriteHeader(span, stream, payload.Length);
        writer.Advance(HeaderSize);
        writer.Write(payload);
    }

    /// <summary>Appends either a frame (<paramref name="tty"/> false) or the raw bytes (TTY streams are not multiplexed).</summary>
    public static void WriteOutput(IBufferWriter<byte> writer, bool tty, StdStream stream, ReadOnlySpan<byte> payload)
    {
        if (tty)
        {
            writer.Write(payload);
        }
        else
        {
            WriteFrame(writer, stream, payload);
        }
    }
}

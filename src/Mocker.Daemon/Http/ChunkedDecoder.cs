using System.Buffers;

namespace Mocker.Daemon.Http;

/// <summary>
/// Incremental decoder of an HTTP/1.1 chunked request body (RFC 9112 §7.1): finds where the body ends on the wire,
/// optionally collecting the decoded payload. Tolerates bare "\n" line endings; ignores chunk extensions and trailers.
/// </summary>
internal sealed class ChunkedDecoder
{
    private enum State { Size, Extension, SizeLf, Data, DataCr, DataLf, TrailerLineStart, TrailerLine, Done }

    private State _state = State.Size;
    private long _size;
    private int _sizeDigits;

    /// <summary>True once the last chunk and the trailer section have been consumed.</summary>
    public bool IsDone => _state == State.Done;

    /// <summary>
    /// Consumes wire bytes from <paramref name="input"/> and returns how many belong to the body (all of them unless the
    /// body ends inside <paramref name="input"/>). Decoded payload bytes are appended to <paramref name="payload"/> when
    /// it is not null. Throws <see cref="FormatException"/> on malformed framing.
    /// </summary>
    public int Decode(ReadOnlySpan<byte> input, IBufferWriter<byte>? payload)
    {
        var i = 0;
        while (i < input.Length && _state != State.Done)
        {
            var b = input[i];
            switch (_state)
            {
                case State.Size:
                    var digit = HexValue(b);
                    if (digit >= 0)
                    {
                        if (++_sizeDigits > 15)
                        {
                            throw new FormatException("chunk size too large");
                        }
                        _size = (_size << 4) | (uint)digit;
                        i++;
                    }
                    else if (_sizeDigits == 0)
                    {
                        throw new FormatException("missing chunk size");
                    }
                    else if (b == ';' || b == ' ' || b == '\t')
                    {
                        _state = State.Extension;
                        i++;
                    }
                    else if (b == '\r')
                    {
                        _state = State.SizeLf;
                        i++;
                    }
                    else if (b == '\n')
                    {
                        i++;
                        EndSizeLine();
                    }
                    else
                    {
                        throw new FormatException("invalid chunk size");
                    }
                    break;
                case State.Extension:
                    i++;
                    if (b == '\n')
                    {
                        EndSizeLine();
                    }
                    break;
                case State.SizeLf:
                    if (b != '\n')
                    {
                        throw new FormatException("expected LF after chunk size");
                    }
                    i++;
                    EndSizeLine();
                    break;
                case State.Data:
                    var n = (int)Math.Min(_size, input.Length - i);
                    payload?.Write(input.Slice(i, n));
                    i += n;
                    _size -= n;
                    if (_size == 0)
                    {
                        _state = State.DataCr;
                    }
                    break;
                case State.DataCr:
                    i++;
                    if (b == '\n')
                    {
                        ResetSize();
                    }
                    else if (b == '\r')
                    {
                        _state = State.DataLf;
                    }
                    else
                    {
                        throw new FormatException("expected CRLF after chunk data");
                    }
                    break;
                case State.DataLf:
                    if (b != '\n')
                    {
                        throw new FormatException("expected LF after chunk data");
                    }
                    i++;
                    ResetSize();
                    break;
                case State.TrailerLineStart:
                    i++;
                    if (b == '\n')
                    {
                        _state = State.Done;
                    }
                    else if (b != '\r')
                    {
                        _state = State.TrailerLine;
                    }
                    break;
                case State.TrailerLine:
                    i++;
                    if (b == '\n')
                    {
                        _state = State.TrailerLineStart;
                    }
                    break;
            }
        }
        return i;
    }

    private void EndSizeLine() => _state = _size == 0 ? State.TrailerLineStart : State.Data;

    private void ResetSize()
    {
        _size = 0;
        _sizeDigits = 0;
        _state = State.Size;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}

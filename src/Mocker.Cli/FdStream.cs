using System.Runtime.InteropServices;

namespace Mocker.Cli;

/// <summary>
/// A file descriptor as a plain byte stream: read(2)/write(2) at the descriptor's own offset, no buffering, no terminal
/// processing. System.Console's streams would echo typed input and emit keypad-mode escapes on a TTY, and a FileStream
/// keeps its own offset, which overwrites output when stdout and stderr share a file.
/// </summary>
internal sealed class FdStream(int fd, bool canRead) : Stream
{
    private const int EINTR = 4;
    private const int EAGAIN = 11;

    public override bool CanRead => canRead;
    public override bool CanSeek => false;
    public override bool CanWrite => !canRead;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count)
    {
        while (true)
        {
            var n = read(fd, ref buffer[offset], count);
            if (n >= 0) return (int)n;
            var errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR) continue;
            if (errno == EAGAIN) { Thread.Sleep(10); continue; }
            throw new IOException($"read from fd {fd} failed: errno {errno}");
        }
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        while (count > 0)
        {
            var n = write(fd, ref buffer[offset], count);
            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR) continue;
                throw new IOException($"write to fd {fd} failed: errno {errno}");
            }
            offset += (int)n;
            count -= (int)n;
        }
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.IsEmpty) return;
        var copy = buffer.ToArray();
        Write(copy, 0, copy.Length);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer, offset, count);
        return Task.CompletedTask;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // read(2) on a terminal or pipe blocks: do it on a pool thread so the caller's loop stays asynchronous.
        var array = new byte[buffer.Length];
        return new ValueTask<int>(Task.Run(() =>
        {
            var n = Read(array, 0, array.Length);
            array.AsSpan(0, n).CopyTo(buffer.Span);
            return n;
        }, cancellationToken));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe blocks, which the shared project settings do not enable.
    [DllImport("libc", SetLastError = true)]
    private static extern nint read(int fd, ref byte buffer, nint count);

    [DllImport("libc", SetLastError = true)]
    private static extern nint write(int fd, ref byte buffer, nint count);
#pragma warning restore SYSLIB1054
}

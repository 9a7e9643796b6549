using System.Runtime.InteropServices;

namespace Mocker.Cli;

/// <summary>
/// The controlling terminal for <c>-t</c>: raw mode through termios (<c>tcgetattr</c>/<c>cfmakeraw</c>/<c>tcsetattr</c>,
/// termios(3)) restored on dispose, and the window size through <c>ioctl(TIOCGWINSZ)</c> (tty_ioctl(4)).
/// </summary>
internal sealed partial class Terminal : IDisposable
{
    private const int TCSANOW = 0;
    private const nuint TIOCGWINSZ = 0x5413;

    private readonly int _fd;
    private Termios _saved;
    private bool _raw;

    private Terminal(int fd) => _fd = fd;

    /// <summary>True when <paramref name="fd"/> is a terminal.</summary>
    public static bool IsTerminal(int fd) => isatty(fd) == 1;

    /// <summary>Puts <paramref name="fd"/> in raw mode; returns null when it is not a terminal.</summary>
    public static Terminal? MakeRaw(int fd)
    {
        if (!IsTerminal(fd)) return null;
        var t = new Terminal(fd);
        if (tcgetattr(fd, out t._saved) != 0) return null;
        var raw = t._saved;
        cfmakeraw(ref raw);
        if (tcsetattr(fd, TCSANOW, ref raw) != 0) return null;
        t._raw = true;
        return t;
    }

    /// <summary>The window size (rows, columns) of <paramref name="fd"/>, or null when unknown or zero.</summary>
    public static (int Height, int Width)? GetSize(int fd)
    {
        if (ioctl(fd, TIOCGWINSZ, out var ws) != 0 || ws.Row == 0 || ws.Col == 0) return null;
        return (ws.Row, ws.Col);
    }

    public void Dispose()
    {
        if (!_raw) return;
        _raw = false;
        tcsetattr(_fd, TCSANOW, ref _saved);
    }

    /// <summary>Opaque <c>struct termios</c> (60 bytes on Linux); only libc reads its fields.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 64)]
    private struct Termios
    {
        private long _a, _b, _c, _d, _e, _f, _g, _h;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct WinSize
    {
        public ushort Row;
        public ushort Col;
        public ushort XPixel;
        public ushort YPixel;
    }

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe blocks, which the shared project settings do not enable.
    [DllImport("libc", SetLastError = true)]
    private static extern int tcgetattr(int fd, out Termios termios);

    [DllImport("libc", SetLastError = true)]
    private static extern int tcsetattr(int fd, int optionalActions, ref Termios termios);

    [DllImport("libc")]
    private static extern void cfmakeraw(ref Termios termios);

    [DllImport("libc", SetLastError = true)]
    private static extern int ioctl(int fd, nuint request, out WinSize size);

    [DllImport("libc")]
    private static extern int isatty(int fd);
#pragma warning restore SYSLIB1054
}

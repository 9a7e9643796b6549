using System.Runtime.InteropServices;

namespace Mocker.Engine.Native;

/// <summary>
/// libc entry points the engine needs. Each subsystem adds its own in a partial file (Libc.&lt;Subsystem&gt;.cs).
/// Functions return -1 and set errno on failure (SetLastError = true; read it with Marshal.GetLastPInvokeError()).
/// </summary>
internal static partial class Libc
{
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mount(string source, string target, string? fstype, ulong flags, string? data);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int umount2(string target, int flags);

    internal const ulong MS_RDONLY = 1;
    internal const ulong MS_BIND = 4096;
    internal const ulong MS_REC = 16384;
    internal const ulong MS_REMOUNT = 32;
    internal const int MNT_DETACH = 2;

    /// <summary>errno text for the last P/Invoke failure, e.g. "No such file or directory".</summary>
    internal static string LastError() => Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
}

using System.Runtime.InteropServices;

namespace Mocker.Engine.Native;

/// <summary>
/// fd-relative file syscalls for the container archive API: every path is opened relative to a directory fd, the
/// container root is entered with openat2(2) RESOLVE_IN_ROOT, and no call follows a final symlink component.
/// </summary>
internal static partial class Libc
{
    internal const int O_CREAT = 0x40;
    internal const int O_EXCL = 0x80;
    internal const int O_NOFOLLOW = 0x20000;
    internal const int O_PATH = 0x200000;
    internal const int AT_REMOVEDIR = 0x200;
    internal const int AT_EMPTY_PATH = 0x1000;
    internal const int EEXIST = 17;
    internal const int ENOTDIR = 20;
    internal const int ELOOP = 40;

    internal const ulong RESOLVE_NO_MAGICLINKS = 0x02;
    internal const ulong RESOLVE_IN_ROOT = 0x10;

    private const long SYS_openat2 = 437;
    private const long SYS_fchmodat2 = 452;

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial long syscall_openat2(long nr, int dirfd, string path, ref OpenHow how, nuint size);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial long syscall_fchmodat2(long nr, int dirfd, string path, uint mode, int flags);

    /// <summary>openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: <paramref name="path"/> ("/" or relative) is resolved as if <paramref name="rootFd"/> were "/", symlinks and ".." included. Returns the fd or -1 (errno set).</summary>
    internal static int OpenInRoot(int rootFd, string path, int flags)
    {
        var how = new OpenHow { Flags = (ulong)(uint)(flags | O_CLOEXEC), Resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        return (int)syscall_openat2(SYS_openat2, rootFd, path, ref how, (nuint)Marshal.SizeOf<OpenHow>());
    }

    /// <summary>fchmodat2(2) with AT_SYMLINK_NOFOLLOW (Linux ≥ 6.6): changes the mode of <paramref name="name"/> itself, never of what a symlink points to.</summary>
    internal static int FchmodatNoFollow(int dirfd, string name, uint mode) =>
        (int)syscall_fchmodat2(SYS_fchmodat2, dirfd, name, mode, AT_SYMLINK_NOFOLLOW);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int openat(int dirfd, string path, int flags, uint mode);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int fstatat(int dirfd, string path, out StatBuf buf, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint readlinkat(int dirfd, string path, Span<byte> buf, nuint size);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mkdirat(int dirfd, string path, uint mode);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int symlinkat(string target, int dirfd, string linkPath);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int linkat(int oldDirfd, string oldPath, int newDirfd, string newPath, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mknodat(int dirfd, string path, uint mode, ulong dev);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int fchownat(int dirfd, string path, int uid, int gid, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int unlinkat(int dirfd, string path, int flags);

    /// <summary>The target of the symlink <paramref name="name"/> in <paramref name="dirfd"/>.</summary>
    internal static string ReadLinkAt(int dirfd, string name)
    {
        Span<byte> buf = stackalloc byte[4096];
        var n = readlinkat(dirfd, name, buf, (nuint)buf.Length);
        ThrowIfFailed(n, "readlink", name);
        return System.Text.Encoding.UTF8.GetString(buf[..(int)n]);
    }
}

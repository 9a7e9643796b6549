using System.Runtime.InteropServices;

namespace Mocker.Engine.Native;

/// <summary>File-metadata syscalls for layer apply and diff (x86_64 glibc ≥ 2.33 exports lstat/mknod directly).</summary>
internal static partial class Libc
{
    internal const int AT_FDCWD = -100;
    internal const int AT_SYMLINK_NOFOLLOW = 0x100;
    internal const int ENODATA = 61;
    internal const int ENOENT = 2;

    internal const uint S_IFMT = 0xF000;
    internal const uint S_IFDIR = 0x4000;
    internal const uint S_IFREG = 0x8000;
    internal const uint S_IFLNK = 0xA000;
    internal const uint S_IFCHR = 0x2000;
    internal const uint S_IFBLK = 0x6000;
    internal const uint S_IFIFO = 0x1000;

    /// <summary>struct stat of x86_64 Linux (144 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct StatBuf
    {
        public ulong Dev;
        public ulong Ino;
        public ulong Nlink;
        public uint Mode;
        public uint Uid;
        public uint Gid;
        private int _pad0;
        public ulong Rdev;
        public long Size;
        public long BlkSize;
        public long Blocks;
        public long AtimeSec;
        public long AtimeNsec;
        public long MtimeSec;
        public long MtimeNsec;
        public long CtimeSec;
        public long CtimeNsec;
        private long _reserved0;
        private long _reserved1;
        private long _reserved2;

        public readonly uint Type => Mode & S_IFMT;
        public readonly uint Major => (uint)(((Rdev >> 32) & 0xfffff000) | ((Rdev >> 8) & 0xfff));
        public readonly uint Minor => (uint)(((Rdev >> 12) & 0xffffff00) | (Rdev & 0xff));
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int lstat(string path, out StatBuf buf);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int lchown(string path, int uid, int gid);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int chmod(string path, uint mode);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int mknod(string path, uint mode, ulong dev);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int link(string oldPath, string newPath);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int utimensat(int dirfd, string path, ReadOnlySpan<Timespec> times, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int lsetxattr(string path, string name, ReadOnlySpan<byte> value, nuint size, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint lgetxattr(string path, string name, Span<byte> value, nuint size);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint llistxattr(string path, Span<byte> list, nuint size);

    [LibraryImport("libc")]
    internal static partial uint geteuid();

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open_(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    private const int O_RDONLY = 0;
    private const int O_DIRECTORY = 0x10000;

    /// <summary>fsyncs a directory so that a rename into it survives a crash.</summary>
    internal static void FsyncDirectory(string path)
    {
        var fd = open_(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ThrowIfFailed(fd, "open", path);
        try
        {
            ThrowIfFailed(fsync(fd), "fsync", path);
        }
        finally
        {
            close(fd);
        }
    }

    internal static ulong Makedev(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);

    /// <summary>lstat that returns false for a missing path and throws for any other failure.</summary>
    internal static bool TryLstat(string path, out StatBuf st)
    {
        if (lstat(path, out st) == 0)
        {
            return true;
        }
        var errno = Marshal.GetLastPInvokeError();
        if (errno is ENOENT or 20 /* ENOTDIR */)
        {
            return false;
        }
        throw new IOException($"lstat {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
    }

    /// <summary>Throws IOException naming the operation and path when <paramref name="rc"/> is negative.</summary>
    internal static void ThrowIfFailed(long rc, string op, string path)
    {
        if (rc < 0)
        {
            throw new IOException($"{op} {path}: {LastError()}");
        }
    }

    /// <summary>Value of an extended attribute (not following symlinks), or null when absent.</summary>
    internal static byte[]? GetXattr(string path, string name)
    {
        Span<byte> buf = stackalloc byte[4096];
        var n = lgetxattr(path, name, buf, (nuint)buf.Length);
        if (n < 0)
        {
            return null;
        }
        return buf[..(int)n].ToArray();
    }

    /// <summary>Names of the extended attributes of a path (not following symlinks); empty when unsupported.</summary>
    internal static List<string> ListXattrs(string path)
    {
        Span<byte> buf = stackalloc byte[8192];
        var n = llistxattr(path, buf, (nuint)buf.Length);
        var names = new List<string>();
        var start = 0;
        for (var i = 0; i < n; i++)
        {
            if (buf[i] == 0)
            {
                if (i > start)
                {
                    names.Add(System.Text.Encoding.UTF8.GetString(buf[start..i]));
                }
                start = i + 1;
            }
        }
        return names;
    }
}

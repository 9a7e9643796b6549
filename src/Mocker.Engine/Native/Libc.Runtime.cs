using System.Runtime.InteropServices;

namespace Mocker.Engine.Native;

/// <summary>Process spawning and signalling for the runtime (conmon launch, exit reaping, rlimits).</summary>
internal static unsafe partial class Libc
{
    internal const int O_CLOEXEC = 0x80000;
    internal const int O_RDWR = 2;
    internal const int O_WRONLY = 1;
    internal const int O_NONBLOCK = 0x800;
    internal const short POSIX_SPAWN_SETSID = 0x80;
    internal const int RLIMIT_NOFILE = 7;
    internal const int WNOHANG = 1;

    [StructLayout(LayoutKind.Sequential)]
    internal struct RLimit
    {
        public ulong Cur;
        public ulong Max;
    }

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial nint write(int fd, byte* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int kill(int pid, int sig);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int getrlimit(int resource, RLimit* limit);

    [LibraryImport("libc")]
    internal static partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport("libc")]
    internal static partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport("libc")]
    internal static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newfd);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int posix_spawn_file_actions_addopen(void* actions, int fd, string path, int oflag, uint mode);

    [LibraryImport("libc")]
    internal static partial int posix_spawnattr_init(void* attr);

    [LibraryImport("libc")]
    internal static partial int posix_spawnattr_destroy(void* attr);

    [LibraryImport("libc")]
    internal static partial int posix_spawnattr_setflags(void* attr, short flags);

    /// <summary>Returns 0 or an errno value (posix_spawn does not set errno).</summary>
    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int posix_spawn(int* pid, string path, void* actions, void* attr, nint* argv, nint* envp);
}

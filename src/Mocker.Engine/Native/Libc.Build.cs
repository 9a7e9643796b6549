using System.Runtime.InteropServices;

namespace Mocker.Engine.Native;

internal static partial class Libc
{
    /// <summary>lchown(2) for the builder: changes the owner of a path without following a final symlink.</summary>
    /// <remarks>Named apart from other subsystems' partial files so the partial class merges without duplicate members.</remarks>
    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int BuildLchown(string path, int owner, int group);
}

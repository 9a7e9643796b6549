using System.Runtime.InteropServices;

namespace Mocker.Engine.Native;

internal static partial class Libc
{
    /// <summary>lchown(2): changes the owner of a path without following a final symlink.</summary>
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int lchown(string path, int owner, int group);
}

using Mocker.Engine.Errors;
using Mocker.Engine.Native;

namespace Mocker.Engine.Snapshots;

/// <summary>Performs the <see cref="Mount"/>s a snapshotter returns (mount(2)), and undoes them.</summary>
public static class MountHelper
{
    /// <summary>
    /// Mounts every entry on <paramref name="target"/> (created if missing), in order. Supported types: "overlay"
    /// (options passed as data) and "bind" (options "rbind"/"bind", "ro"/"rw"). Throws MockerException(Internal) with errno text.
    /// </summary>
    public static void MountAll(IReadOnlyList<Mount> mounts, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var m in mounts)
        {
            if (m.Type == "bind")
            {
                var flags = Libc.MS_BIND | (m.Options.Contains("rbind") ? Libc.MS_REC : 0);
                Check(Libc.mount(m.Source, target, null, flags, null), m, target);
                if (m.Options.Contains("ro"))
                {
                    Check(Libc.mount("none", target, null, Libc.MS_BIND | Libc.MS_REMOUNT | Libc.MS_RDONLY, null), m, target);
                }
            }
            else
            {
                var flags = m.Options.Contains("ro") ? Libc.MS_RDONLY : 0;
                var data = string.Join(',', m.Options.Where(o => o is not ("ro" or "rw")));
                Check(Libc.mount(m.Source, target, m.Type, flags, data), m, target);
            }
        }
    }

    /// <summary>Unmounts <paramref name="target"/> (lazily, so a busy mount never blocks cleanup). Not-mounted targets are ignored.</summary>
    public static void Unmount(string target)
    {
        // EINVAL: not a mount point; ENOENT: gone already. Both mean there is nothing left to undo.
        while (Libc.umount2(target, Libc.MNT_DETACH) == 0)
        {
        }
    }

    private static void Check(int rc, Mount m, string target)
    {
        if (rc != 0)
        {
            throw new MockerException(ErrorKind.Internal, $"mount {m.Type} on {target} ({string.Join(',', m.Options)}): {Libc.LastError()}");
        }
    }
}

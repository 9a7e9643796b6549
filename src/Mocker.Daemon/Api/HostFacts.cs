using System.Globalization;

namespace Mocker.Daemon.Api;

/// <summary>Facts about the host for /version and /info, read once from /proc, /etc/os-release and /sys/fs/cgroup.</summary>
internal sealed class HostFacts
{
    public static readonly HostFacts Current = Read();

    public required string KernelVersion { get; init; }
    public required string OperatingSystem { get; init; }
    public required string OSVersion { get; init; }
    public required long MemTotal { get; init; }
    /// <summary>"2" on a unified cgroup hierarchy, else "1" (legacy or hybrid).</summary>
    public required string CgroupVersion { get; init; }
    public required string Architecture { get; init; }

    private static HostFacts Read()
    {
        var osRelease = ReadKeyValues("/etc/os-release");
        return new HostFacts
        {
            KernelVersion = ReadText("/proc/sys/kernel/osrelease"),
            OperatingSystem = osRelease.GetValueOrDefault("PRETTY_NAME") ?? "Linux",
            OSVersion = osRelease.GetValueOrDefault("VERSION_ID") ?? "",
            MemTotal = ReadMemTotal(),
            CgroupVersion = File.Exists("/sys/fs/cgroup/cgroup.controllers") ? "2" : "1",
            Architecture = ReadText("/proc/sys/kernel/arch") is { Length: > 0 } arch ? arch : "x86_64",
        };
    }

    private static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static Dictionary<string, string> ReadKeyValues(string path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in ReadText(path).Split('\n'))
        {
            var eq = line.IndexOf('=');
            if (eq > 0)
            {
                result[line[..eq].Trim()] = line[(eq + 1)..].Trim().Trim('"');
            }
        }
        return result;
    }

    private static long ReadMemTotal()
    {
        foreach (var line in ReadText("/proc/meminfo").Split('\n'))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kb))
                {
                    return kb * 1024;
                }
            }
        }
        return 0;
    }
}

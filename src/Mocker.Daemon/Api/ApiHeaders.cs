using System.Reflection;

namespace Mocker.Daemon.Api;

/// <summary>Headers every normal response carries (engine-api-trace.md §5.2), and the daemon's version string.</summary>
internal static class ApiHeaders
{
    /// <summary>The daemon's version (assembly informational version without build metadata).</summary>
    public static readonly string DaemonVersion = ReadVersion();

    public static readonly KeyValuePair<string, string>[] Common =
    [
        new("Api-Version", ApiVersionPrefix.Current),
        new("Docker-Experimental", "false"),
        new("Ostype", "linux"),
        new("Server", $"Mocker/{DaemonVersion} (linux)"),
    ];

    private static string ReadVersion()
    {
        var v = typeof(ApiHeaders).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var plus = v.IndexOf('+');
        return plus < 0 ? v : v[..plus];
    }
}

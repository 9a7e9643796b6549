namespace Mocker.Integration.Tests.Infrastructure;

/// <summary>
/// Finds the built <c>mockerd</c> and <c>mocker</c>: $MOCKER_BIN_DIR (scripts/test.sh sets it to artifacts/bin),
/// then the repository's artifacts/bin (scripts/install.sh publishes there), then the project build outputs,
/// then /usr/local/bin.
/// </summary>
public static class Binaries
{
    public static string Mockerd { get; } = Find("mockerd", "Mocker.Daemon");

    public static string Mocker { get; } = Find("mocker", "Mocker.Cli");

    /// <summary>The docker CLI (client only) the compatibility tests drive.</summary>
    public static string Docker { get; } = FindOnPath("docker")
        ?? throw new InvalidOperationException("the docker CLI is not on PATH; scripts/install.sh installs it");

    private static string Find(string name, string project)
    {
        var candidates = new List<string>();
        var fromEnv = Environment.GetEnvironmentVariable("MOCKER_BIN_DIR");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            candidates.Add(Path.Combine(fromEnv, name, name));
            candidates.Add(Path.Combine(fromEnv, name));
        }
        var repo = RepoRoot();
        if (repo is not null)
        {
            candidates.Add(Path.Combine(repo, "artifacts", "bin", name, name));
            // The configuration this test assembly was built with comes first, so a stale build of the other
            // configuration never shadows the binaries just built.
            var own = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            foreach (var config in new[] { own, own == "Release" ? "Debug" : "Release" })
            {
                candidates.Add(Path.Combine(repo, "src", project, "bin", config, "net10.0", "linux-x64", name));
            }
        }
        candidates.Add(Path.Combine("/usr/local/bin", name));
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(
                $"{name} was not found (looked at {string.Join(", ", candidates)}); run scripts/install.sh or set MOCKER_BIN_DIR");
    }

    /// <summary>The directory holding Mocker.slnx above the test assembly, or null.</summary>
    public static string? RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mocker.slnx")))
            {
                return dir.FullName;
            }
        }
        return null;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name))
            .FirstOrDefault(File.Exists);
}

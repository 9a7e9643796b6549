using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Mocker.Integration.Tests.Infrastructure;

/// <summary>
/// One real mockerd on private roots: data root /tmp/mocker-it-&lt;id&gt;/data, exec root /run/mocker-it-&lt;id&gt; and socket
/// /run/mocker-it-&lt;id&gt;/mocker.sock. It can be killed (SIGKILL) and started again on the same roots. Disposing removes
/// every container, stops the daemon, kills what the daemon left running, unmounts everything under the roots
/// and deletes them.
/// </summary>
public sealed class DaemonInstance : IAsyncDisposable
{
    /// <summary>Upper bound of every wait on the daemon (start-up, requests, teardown steps).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly string _dockerConfig;
    private Process? _process;

    private DaemonInstance(string id)
    {
        Root = Path.Combine(Path.GetTempPath(), "mocker-it-" + id);
        ExecRoot = "/run/mocker-it-" + id;
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(DataRoot);
        Directory.CreateDirectory(ExecRoot);
        _dockerConfig = Path.Combine(Root, "docker-config");
        Directory.CreateDirectory(_dockerConfig);
        Http = UnixHttp.Create(SocketPath);
    }

    public string Root { get; }
    public string DataRoot => Path.Combine(Root, "data");
    public string ExecRoot { get; }
    public string SocketPath => Path.Combine(ExecRoot, "mocker.sock");
    public string LogPath => Path.Combine(Root, "mockerd.log");
    public string Host => "unix://" + SocketPath;

    /// <summary>Raw HTTP over the socket; replaced at every start so no pooled connection outlives a daemon.</summary>
    public HttpClient Http { get; private set; }

    /// <summary>PID of the running daemon, or null.</summary>
    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>Creates fresh roots and starts a daemon on them.</summary>
    public static async Task<DaemonInstance> StartNewAsync()
    {
        var instance = new DaemonInstance(Guid.NewGuid().ToString("N")[..10]);
        try
        {
            await instance.StartAsync();
            return instance;
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts mockerd on this instance's roots and waits (bounded) until <c>GET /_ping</c> answers 200.</summary>
    public async Task StartAsync()
    {
        if (Pid is not null)
        {
            throw new InvalidOperationException("mockerd is already running");
        }
        // The shell redirects the daemon's output into a file, so no pipe ties the test host to conmon
        // processes that inherit the daemon's descriptors.
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" </dev/null >>\"$MOCKER_IT_LOG\" 2>&1");
        foreach (var arg in new[]
        {
            Binaries.Mockerd, "--data-root", DataRoot, "--exec-root", ExecRoot, "--host", Host, "--log-level", "debug",
        })
        {
            psi.ArgumentList.Add(arg);
        }
        psi.Environment["MOCKER_IT_LOG"] = LogPath;
        _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start mockerd");

        Http.Dispose();
        Http = UnixHttp.Create(SocketPath);
        using var cts = new CancellationTokenSource(Timeout);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"mockerd exited with {_process.ExitCode} during start-up\n{ReadLog()}");
            }
            try
            {
                using var response = await Http.GetAsync("/_ping", cts.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                break;
            }
            try
            {
                // Readiness polling of a starting server (not synchronisation on container state).
                await Task.Delay(50, cts.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        throw new TimeoutException($"mockerd did not answer /_ping on {SocketPath} within {Timeout.TotalSeconds} s\n{ReadLog()}");
    }

    /// <summary>SIGKILL, as a crash or an OOM kill would; waits until the process is gone.</summary>
    public async Task KillAsync()
    {
        var process = _process ?? throw new InvalidOperationException("mockerd was never started");
        if (!process.HasExited)
        {
            process.Kill();
        }
        using var cts = new CancellationTokenSource(Timeout);
        await process.WaitForExitAsync(cts.Token);
    }

    /// <summary>SIGTERM and a bounded wait for a clean exit; SIGKILL when it does not come.</summary>
    public async Task StopAsync()
    {
        var process = _process;
        if (process is null || process.HasExited)
        {
            return;
        }
        await Proc.RunAsync("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
        }
    }

    /// <summary>The daemon's log so far (its stdout and stderr), for failure messages.</summary>
    public string ReadLog()
    {
        try
        {
            var text = File.ReadAllText(LogPath);
            return "--- mockerd log (last 8000 chars) ---\n" + (text.Length > 8000 ? text[^8000..] : text);
        }
        catch (IOException)
        {
            return "--- mockerd log unavailable ---";
        }
    }

    /// <summary>Environment for the docker CLI: this daemon, a private config dir, the legacy builder.</summary>
    public IReadOnlyDictionary<string, string> DockerEnv => new Dictionary<string, string>
    {
        ["DOCKER_HOST"] = Host,
        ["DOCKER_CONFIG"] = _dockerConfig,
        ["DOCKER_BUILDKIT"] = "0",
        ["DOCKER_CLI_HINTS"] = "false",
    };

    /// <summary>Environment for the mocker CLI: MOCKER_HOST (and DOCKER_HOST, which it also honours) name this daemon.</summary>
    public IReadOnlyDictionary<string, string> MockerEnv => new Dictionary<string, string>
    {
        ["MOCKER_HOST"] = Host,
        ["DOCKER_HOST"] = Host,
        ["NO_COLOR"] = "1",
    };

    public Task<ProcResult> DockerAsync(params string[] args) => Proc.RunAsync(Binaries.Docker, args, DockerEnv);

    public Task<ProcResult> DockerWithInputAsync(string stdin, params string[] args) =>
        Proc.RunAsync(Binaries.Docker, args, DockerEnv, stdin);

    public Task<ProcResult> MockerAsync(params string[] args) => Proc.RunAsync(Binaries.Mocker, args, MockerEnv);

    /// <summary>Bootstraps the busybox image (extension endpoint <c>POST /images/bootstrap?name=busybox</c>).</summary>
    public async Task BootstrapBusyboxAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        using var response = await Http.PostAsync("/images/bootstrap?name=busybox", null, cts.Token);
        var body = await response.Content.ReadAsStringAsync(cts.Token);
        if (!response.IsSuccessStatusCode || body.Contains("\"error\"", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"bootstrap of busybox failed: {(int)response.StatusCode} {body}\n{ReadLog()}");
        }
        using var inspect = await Http.GetAsync("/images/busybox/json", cts.Token);
        if (inspect.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"busybox is not inspectable after bootstrap: {(int)inspect.StatusCode}\n{ReadLog()}");
        }
    }

    /// <summary>IDs of all containers (<c>GET /containers/json?all=1</c>).</summary>
    public async Task<List<string>> ContainerIdsAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var json = await Http.GetStringAsync("/containers/json?all=1", cts.Token);
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.EnumerateArray().Select(e => e.GetProperty("Id").GetString()!).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        var errors = new List<string>();
        if (Pid is not null)
        {
            try
            {
                foreach (var id in await ContainerIdsAsync())
                {
                    using var cts = new CancellationTokenSource(Timeout);
                    using var _ = await Http.DeleteAsync($"/containers/{id}?force=1&v=1", cts.Token);
                }
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException)
            {
                errors.Add("removing containers: " + e.Message);
            }
            await StopAsync();
        }
        Http.Dispose();
        _process?.Dispose();

        await KillLeftoverProcessesAsync();
        await UnmountAllAsync();
        foreach (var dir in new[] { ExecRoot, Root })
        {
            try
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.Add($"deleting {dir}: {e.Message}");
            }
        }
        if (errors.Count > 0)
        {
            await Console.Error.WriteLineAsync("DaemonInstance teardown: " + string.Join("; ", errors));
        }
    }

    /// <summary>
    /// Kills container processes (runc state.json init PIDs under the roots) and monitors (processes whose command
    /// line names one of the roots) that a crashed or killed daemon left behind.
    /// </summary>
    private async Task KillLeftoverProcessesAsync()
    {
        var pids = new HashSet<int>();
        foreach (var dir in new[] { ExecRoot, Root })
        {
            if (!Directory.Exists(dir))
            {
                continue;
            }
            foreach (var state in SafeEnumerate(dir, "state.json"))
            {
                try
                {
                    using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(state));
                    if (doc.RootElement.TryGetProperty("init_process_pid", out var pid) && pid.TryGetInt32(out var p) && p > 1)
                    {
                        pids.Add(p);
                    }
                }
                catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
                {
                    // Not a runc state file, or gone meanwhile.
                }
            }
        }
        foreach (var procDir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(procDir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            try
            {
                var cmdline = (await File.ReadAllTextAsync(Path.Combine(procDir, "cmdline"))).Replace('\0', ' ');
                if (cmdline.Contains(ExecRoot + "/", StringComparison.Ordinal) || cmdline.Contains(Root + "/", StringComparison.Ordinal))
                {
                    pids.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended meanwhile.
            }
        }
        foreach (var pid in pids)
        {
            await Proc.RunAsync("kill", ["-KILL", pid.ToString(CultureInfo.InvariantCulture)]);
        }
    }

    private static IEnumerable<string> SafeEnumerate(string dir, string pattern)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint, MaxRecursionDepth = 6 };
        try
        {
            return Directory.EnumerateFiles(dir, pattern, options).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>Lazily unmounts every mount point under the roots, deepest first (from /proc/self/mountinfo).</summary>
    private async Task UnmountAllAsync()
    {
        var mountPoints = MountPointsUnder(Root).Concat(MountPointsUnder(ExecRoot))
            .Distinct()
            .OrderByDescending(m => m.Length);
        foreach (var mountPoint in mountPoints)
        {
            await Proc.RunAsync("umount", ["-l", mountPoint]);
        }
    }

    /// <summary>Mount points at or below <paramref name="root"/>, as listed in /proc/self/mountinfo (field 5, octal-unescaped).</summary>
    public static List<string> MountPointsUnder(string root)
    {
        var result = new List<string>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length < 5)
            {
                continue;
            }
            var mountPoint = UnescapeOctal(fields[4]);
            if (mountPoint == root || mountPoint.StartsWith(root + "/", StringComparison.Ordinal))
            {
                result.Add(mountPoint);
            }
        }
        return result;
    }

    private static string UnescapeOctal(string s)
    {
        if (!s.Contains('\\', StringComparison.Ordinal))
        {
            return s;
        }
        var sb = new System.Text.StringBuilder();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && s.Length - i >= 4)
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                sb.Append(s[i]);
            }
        }
        return sb.ToString();
    }
}

using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mocker.Engine.Errors;

namespace Mocker.Engine.Runtime;

/// <summary>The result of one runc invocation: exit code and captured output.</summary>
public sealed record RuncResult(int ExitCode, string Stdout, string Stderr);

/// <summary>runc's <c>state</c> JSON (runc list/state output): status is "created", "running", "paused" or "stopped".</summary>
public sealed record RuncState
{
    [JsonPropertyName("id")] public string Id { get; init; } = "";
    [JsonPropertyName("pid")] public int Pid { get; init; }
    [JsonPropertyName("status")] public string Status { get; init; } = "";
    [JsonPropertyName("bundle")] public string Bundle { get; init; } = "";
}

[JsonSerializable(typeof(RuncState))]
[JsonSerializable(typeof(int[]))]
internal sealed partial class RuncJsonContext : JsonSerializerContext;

/// <summary>
/// Thin wrapper over the runc CLI (runc 1.1 man pages: runc-start, runc-kill, runc-delete, runc-ps, runc-state,
/// runc-pause, runc-resume). Every call passes <c>--root</c> so two daemons never share container state.
/// Failures throw MockerException(Internal) carrying runc's stderr.
/// </summary>
public sealed class RuncRuntime
{
    /// <param name="binary">Absolute path of the runc binary (resolved from EngineOptions.Runtimes).</param>
    /// <param name="root">runc state directory, e.g. &lt;ExecRoot&gt;/runc.</param>
    public RuncRuntime(string binary, string root)
    {
        Binary = ResolveBinary(binary);
        Root = root;
    }

    public string Binary { get; }

    public string Root { get; }

    /// <summary>Resolves a bare command name against PATH; absolute paths are returned unchanged.</summary>
    public static string ResolveBinary(string name)
    {
        if (name.Contains('/'))
        {
            return Path.GetFullPath(name);
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").Split(':'))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new MockerException(ErrorKind.Internal, $"executable {name} not found in $PATH");
    }

    /// <summary>Runs runc with the global --root and <paramref name="args"/>; never throws for a non-zero exit.</summary>
    public Task<RuncResult> RunAsync(IReadOnlyList<string> args, CancellationToken ct)
    {
        var argv = new List<string>(args.Count + 3) { Binary, "--root", Root };
        argv.AddRange(args);
        return NativeProcess.RunAsync(argv, ct);
    }

    private async Task<RuncResult> CheckedAsync(IReadOnlyList<string> args, CancellationToken ct)
    {
        var r = await RunAsync(args, ct).ConfigureAwait(false);
        if (r.ExitCode != 0)
        {
            throw new MockerException(ErrorKind.Internal, $"runc {args[0]} failed: {CleanMessage(r.Stderr)}");
        }
        return r;
    }

    /// <summary>Turns runc's logrus line (time=… level=error msg="…") into the bare message.</summary>
    public static string CleanMessage(string stderr)
    {
        var text = stderr.Trim();
        var idx = text.LastIndexOf("msg=\"", StringComparison.Ordinal);
        if (idx >= 0)
        {
            var start = idx + 5;
            var sb = new StringBuilder();
            for (var i = start; i < text.Length; i++)
            {
                if (text[i] == '\\' && i + 1 < text.Length)
                {
                    sb.Append(text[++i]);
                    continue;
                }
                if (text[i] == '"')
                {
                    break;
                }
                sb.Append(text[i]);
            }
            return sb.ToString();
        }
        return text;
    }

    public Task StartAsync(string id, CancellationToken ct) => CheckedAsync(["start", id], ct);

    /// <summary>Sends <paramref name="signal"/> (a number) to the init process, or to every process with <paramref name="all"/>.</summary>
    public Task KillAsync(string id, int signal, bool all, CancellationToken ct) =>
        CheckedAsync(all ? ["kill", "--all", id, signal.ToString()] : ["kill", id, signal.ToString()], ct);

    /// <summary>Deletes the container's runc state; absent containers are not an error.</summary>
    public async Task DeleteAsync(string id, bool force, CancellationToken ct)
    {
        var r = await RunAsync(force ? ["delete", "--force", id] : ["delete", id], ct).ConfigureAwait(false);
        if (r.ExitCode != 0 && !r.Stderr.Contains("does not exist", StringComparison.Ordinal))
        {
            throw new MockerException(ErrorKind.Internal, $"runc delete failed: {CleanMessage(r.Stderr)}");
        }
    }

    public Task PauseAsync(string id, CancellationToken ct) => CheckedAsync(["pause", id], ct);

    public Task ResumeAsync(string id, CancellationToken ct) => CheckedAsync(["resume", id], ct);

    /// <summary>Host PIDs of every process of the container (runc ps --format json).</summary>
    public async Task<int[]> PsAsync(string id, CancellationToken ct)
    {
        var r = await CheckedAsync(["ps", "--format", "json", id], ct).ConfigureAwait(false);
        return JsonSerializer.Deserialize(r.Stdout, RuncJsonContext.Default.Int32Array) ?? [];
    }

    /// <summary>runc state, or null when the container does not exist.</summary>
    public async Task<RuncState?> StateAsync(string id, CancellationToken ct)
    {
        var r = await RunAsync(["state", id], ct).ConfigureAwait(false);
        return r.ExitCode != 0 ? null : JsonSerializer.Deserialize(r.Stdout, RuncJsonContext.Default.RuncState);
    }
}

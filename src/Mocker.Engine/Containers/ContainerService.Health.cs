using System.Globalization;
using System.Text;
using Mocker.Api;
using Mocker.Engine.Errors;

namespace Mocker.Engine.Containers;

/// <summary>
/// Health checks (moby daemon/health.go): while a container runs, its HEALTHCHECK test runs as an exec every Interval;
/// State.Health moves from "starting" to "healthy" on a success and to "unhealthy" after Retries consecutive failures
/// (failures inside StartPeriod do not count). The last five results are kept.
/// </summary>
public sealed partial class ContainerService
{
    private const int HealthLogSize = 5;
    private const int HealthOutputLimit = 4096;
    private static readonly TimeSpan DefaultHealthInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DefaultHealthTimeout = TimeSpan.FromSeconds(30);
    private const int DefaultHealthRetries = 3;

    /// <summary>The probe's argv: CMD runs as given, CMD-SHELL through /bin/sh -c; null when there is no check (absent, empty or NONE).</summary>
    internal static IReadOnlyList<string>? HealthArgv(HealthConfig? hc) => hc?.Test switch
    {
        ["CMD", .. var args] when args.Count > 0 => args,
        ["CMD-SHELL", var cmd] => ["/bin/sh", "-c", cmd],
        _ => null,
    };

    private void StartHealth(Entry e)
    {
        var hc = e.Rec.Config.Healthcheck;
        if (HealthArgv(hc) is not { } argv)
        {
            return;
        }
        var cts = new CancellationTokenSource();
        Interlocked.Exchange(ref e.HealthCts, cts)?.Cancel();
        _ = RunHealthAsync(e, hc!, argv, cts.Token);
    }

    private static void StopHealth(Entry e) => Interlocked.Exchange(ref e.HealthCts, null)?.Cancel();

    private static TimeSpan Nanos(long ns, TimeSpan fallback) => ns > 0 ? TimeSpan.FromTicks(ns / 100) : fallback;

    private async Task RunHealthAsync(Entry e, HealthConfig hc, IReadOnlyList<string> argv, CancellationToken ct)
    {
        var interval = Nanos(hc.Interval, DefaultHealthInterval);
        var timeout = Nanos(hc.Timeout, DefaultHealthTimeout);
        var retries = hc.Retries > 0 ? hc.Retries : DefaultHealthRetries;
        var startPeriod = Nanos(hc.StartPeriod, TimeSpan.Zero);
        var started = DateTimeOffset.UtcNow;
        await SaveAsync(e, r => r with { Health = new HealthState { Status = "starting" } }).ConfigureAwait(false);
        try
        {
            while (true)
            {
                await Task.Delay(interval, ct).ConfigureAwait(false);
                if (e.Rec.Status != "running")
                {
                    // Paused containers are not probed (moby skips them too).
                    continue;
                }
                var result = await ProbeAsync(e, argv, timeout, ct).ConfigureAwait(false);
                ct.ThrowIfCancellationRequested();
                var inStartPeriod = DateTimeOffset.UtcNow - started < startPeriod;
                string? changed = null;
                await SaveAsync(e, r =>
                {
                    var h = r.Health ?? new HealthState { Status = "starting" };
                    var log = h.Log.Append(result).TakeLast(HealthLogSize).ToList();
                    HealthState next;
                    if (result.ExitCode == 0)
                    {
                        next = new HealthState { Status = "healthy", FailingStreak = 0, Log = log };
                    }
                    else if (inStartPeriod && h.Status == "starting")
                    {
                        next = h with { Log = log };
                    }
                    else
                    {
                        var streak = h.FailingStreak + 1;
                        next = new HealthState { Status = streak >= retries ? "unhealthy" : h.Status, FailingStreak = streak, Log = log };
                    }
                    changed = next.Status != h.Status ? next.Status : null;
                    return r with { Health = next };
                }).ConfigureAwait(false);
                if (changed is not null)
                {
                    Emit(e.Rec, "health_status: " + changed);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>One probe as an exec; exit code -1 and Docker's text when it outlives <paramref name="timeout"/>.</summary>
    private async Task<HealthLogEntry> ProbeAsync(Entry e, IReadOnlyList<string> argv, TimeSpan timeout, CancellationToken ct)
    {
        var start = DateTimeOffset.UtcNow;
        string? execId = null;
        try
        {
            execId = await ExecCreateAsync(e.Rec.Id, new ExecConfig { Cmd = [.. argv], AttachStdout = true, AttachStderr = true }, ct).ConfigureAwait(false);
            await using var session = await ExecStartAsync(execId, new ExecStartConfig(), ct).ConfigureAwait(false);
            var output = new StringBuilder();
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(timeout);
            try
            {
                await foreach (var chunk in session!.Output.ReadAllAsync(limit.Token).ConfigureAwait(false))
                {
                    if (output.Length < HealthOutputLimit)
                    {
                        output.Append(Encoding.UTF8.GetString(chunk.Data.Span));
                    }
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return HealthResult(start, -1, $"Health check exceeded timeout ({timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s)");
            }
            var code = _execs.TryGetValue(execId, out var x) ? x.ExitCode ?? -1 : -1;
            var text = output.ToString();
            return HealthResult(start, code, text.Length > HealthOutputLimit ? text[..HealthOutputLimit] : text);
        }
        catch (MockerException ex)
        {
            return HealthResult(start, -1, ex.Message);
        }
        finally
        {
            if (execId is not null)
            {
                // Probes are not user execs: they must not pile up in the exec table of a long-running container.
                _execs.TryRemove(execId, out _);
                lock (e.ExecIds)
                {
                    e.ExecIds.Remove(execId);
                }
            }
        }
    }

    private static HealthLogEntry HealthResult(DateTimeOffset start, int code, string output) => new()
    {
        Start = ContainerHelpers.Rfc3339Nano(start),
        End = ContainerHelpers.Rfc3339Nano(DateTimeOffset.UtcNow),
        ExitCode = code,
        Output = output,
    };

    /// <summary>The ps suffix of a running container with a health check: " (healthy)", " (unhealthy)", " (health: starting)".</summary>
    private static string HealthSuffix(ContainerRecord r) => r.Status != "running" || r.Health is null ? "" : r.Health.Status switch
    {
        "starting" => " (health: starting)",
        var s => $" ({s})",
    };
}

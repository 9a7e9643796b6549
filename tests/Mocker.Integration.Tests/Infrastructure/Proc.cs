using System.Diagnostics;
using System.Text;

namespace Mocker.Integration.Tests.Infrastructure;

/// <summary>Exit code and complete output of a finished process.</summary>
public sealed record ProcResult(string CommandLine, int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Everything a failed assertion should show about the run.</summary>
    public override string ToString() =>
        $"`{CommandLine}` exited {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs an external program to completion with a bounded wait (default 90 s).</summary>
public static class Proc
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Starts <paramref name="file"/> with <paramref name="args"/>, writes <paramref name="stdin"/> (then closes
    /// stdin; with null, stdin is closed at once) and returns when the process exits. On timeout the process tree is
    /// killed and a <see cref="TimeoutException"/> carries what it printed so far.
    /// </summary>
    public static async Task<ProcResult> RunAsync(
        string file,
        IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? env = null,
        string? stdin = null,
        string? workingDirectory = null,
        TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        if (workingDirectory is not null)
        {
            psi.WorkingDirectory = workingDirectory;
        }
        if (env is not null)
        {
            foreach (var (k, v) in env)
            {
                psi.Environment[k] = v;
            }
        }
        var commandLine = file + " " + string.Join(' ', psi.ArgumentList.Select(Quote));

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {commandLine}");
        var stdoutTask = process.StandardOutput.ReadToEndAsync();
        var stderrTask = process.StandardError.ReadToEndAsync();
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin);
            }
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The program exited without reading its input; its exit code tells the story.
        }

        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            throw new TimeoutException(
                $"`{commandLine}` did not finish within {(timeout ?? DefaultTimeout).TotalSeconds} s\n--- stdout ---\n{await stdoutTask}\n--- stderr ---\n{await stderrTask}");
        }
        return new ProcResult(commandLine, process.ExitCode, await stdoutTask, await stderrTask);
    }

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || "-_./:=@,+%".Contains(c)) ? arg : "'" + arg.Replace("'", "'\\''") + "'";
}

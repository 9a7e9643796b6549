using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mocker.Engine.Containers;
using Mocker.Engine.Errors;
using Mocker.Engine.Snapshots;

namespace Mocker.Engine.Runtime;

/// <summary>
/// <see cref="IProcessRunner"/> on <c>runc run</c> (no conmon): a throwaway bundle under &lt;ExecRoot&gt;/run/&lt;id&gt;,
/// the snapshot mounted as its rootfs, Docker's default security settings from <see cref="SpecGenerator"/>, stdout and
/// stderr streamed through pipes, stdin closed. The container, the mount and the bundle are always removed.
/// </summary>
public sealed class ProcessRunner : IProcessRunner
{
    private readonly EngineOptions _options;
    private readonly RuncRuntime _runc;

    public ProcessRunner(EngineOptions options)
    {
        _options = options;
        _runc = new RuncRuntime(options.Runtimes.TryGetValue(options.DefaultRuntime, out var p) ? p : "runc", Path.Combine(options.ExecRoot, "runc"));
    }

    /// <inheritdoc />
    public async Task<int> RunAsync(RunSpec spec, Func<OutputChunk, ValueTask> output, CancellationToken ct)
    {
        var id = "build-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var bundle = Path.Combine(_options.ExecRoot, "run", id);
        var rootfs = Path.Combine(bundle, "rootfs");
        var logPath = Path.Combine(bundle, "runc.log");
        Directory.CreateDirectory(bundle);
        Process? p = null;
        try
        {
            MountHelper.MountAll(spec.RootfsMounts, rootfs);
            var config = SpecGenerator.Generate(new SpecInput
            {
                RootfsPath = rootfs,
                Args = spec.Args,
                Env = spec.Env,
                WorkingDir = spec.WorkingDir,
                User = spec.User,
                Hostname = spec.Hostname,
                NetworkMode = spec.NetworkMode,
                ExtraMounts = spec.ExtraMounts,
                SeccompProfilePath = _options.SeccompProfilePath,
            });
            await File.WriteAllTextAsync(Path.Combine(bundle, "config.json"), config.ToJsonString(), ct).ConfigureAwait(false);
            var psi = new ProcessStartInfo(_runc.Binary)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[] { "--root", _runc.Root, "--log", logPath, "--log-format", "json", "run", "--bundle", bundle, id })
            {
                psi.ArgumentList.Add(a);
            }
            p = Process.Start(psi) ?? throw new MockerException(ErrorKind.Internal, "cannot start runc");
            p.StandardInput.Close();
            var gate = new SemaphoreSlim(1, 1);
            async Task Pump(Stream s, StdStream kind)
            {
                var buf = new byte[32768];
                int n;
                while ((n = await s.ReadAsync(buf, CancellationToken.None).ConfigureAwait(false)) > 0)
                {
                    await gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                    try
                    {
                        await output(new OutputChunk(kind, buf.AsSpan(0, n).ToArray())).ConfigureAwait(false);
                    }
                    finally
                    {
                        gate.Release();
                    }
                }
            }
            var pumps = Task.WhenAll(Pump(p.StandardOutput.BaseStream, StdStream.Stdout), Pump(p.StandardError.BaseStream, StdStream.Stderr));
            try
            {
                await p.WaitForExitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                await _runc.RunAsync(["kill", "--all", id, "9"], CancellationToken.None).ConfigureAwait(false);
                await p.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                await pumps.ConfigureAwait(false);
                throw;
            }
            await pumps.ConfigureAwait(false);
            if (File.Exists(logPath) && ReadError(await File.ReadAllLinesAsync(logPath, CancellationToken.None).ConfigureAwait(false)) is { } error)
            {
                throw MockerException.InvalidArgument($"failed to create shim task: OCI runtime create failed: {error}: unknown");
            }
            return p.ExitCode;
        }
        finally
        {
            p?.Dispose();
            await _runc.DeleteAsync(id, force: true, CancellationToken.None).ConfigureAwait(false);
            MountHelper.Unmount(rootfs);
            BundleCleanup.Delete(bundle);
        }
    }

    private static string? ReadError(string[] lines)
    {
        foreach (var l in lines)
        {
            try
            {
                if (JsonNode.Parse(l) is JsonObject o && o["level"]?.GetValue<string>() is "error" or "fatal")
                {
                    return o["msg"]?.GetValue<string>();
                }
            }
            catch (JsonException)
            {
                // runc wrote a non-JSON line; only its structured errors matter here.
            }
        }
        return null;
    }
}

/// <summary>Removes a bundle directory without ever recursing into a still-mounted rootfs.</summary>
public static class BundleCleanup
{
    /// <summary>Deletes &lt;bundle&gt;/rootfs only when empty (i.e. unmounted), then the bundle. Throws IOException when rootfs is not empty.</summary>
    public static void Delete(string bundle)
    {
        if (!Directory.Exists(bundle))
        {
            return;
        }
        var rootfs = Path.Combine(bundle, "rootfs");
        if (Directory.Exists(rootfs))
        {
            Directory.Delete(rootfs, recursive: false);
        }
        Directory.Delete(bundle, recursive: true);
    }
}

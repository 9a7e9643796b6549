using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Mocker.Tests.Shared;

/// <summary>
/// A real registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1:&lt;free port&gt; with temp storage,
/// optionally behind htpasswd basic auth. Ready once it logs "listening on"; killed and deleted on dispose.
/// </summary>
internal sealed class LocalRegistry : IDisposable
{
    public const string Binary = "/usr/bin/docker-registry";

    private readonly Process _process;
    public string Dir { get; }
    public int Port { get; }
    public string BindAddress { get; }
    public string Host => BindAddress + ":" + Port;

    private LocalRegistry(Process process, string dir, string bindAddress, int port)
    {
        _process = process;
        Dir = dir;
        BindAddress = bindAddress;
        Port = port;
    }

    /// <param name="htpasswdLine">An htpasswd line (bcrypt) to require basic auth, or null for anonymous access.</param>
    /// <param name="bindAddress">IPv4 address to listen on.</param>
    /// <param name="tls">PEM certificate and key paths to serve HTTPS, or null for plain HTTP.</param>
    public static async Task<LocalRegistry> StartAsync(string? htpasswdLine = null, string bindAddress = "127.0.0.1", (string Cert, string Key)? tls = null)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is missing: install the Debian package \"docker-registry\" (distribution 2.8) to run the registry interop tests");
        }
        var dir = Path.Combine(Path.GetTempPath(), "mocker-registry-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(dir, "storage"));
        int port;
        using (var probe = new TcpListener(IPAddress.Parse(bindAddress), 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var auth = "";
        if (htpasswdLine is not null)
        {
            File.WriteAllText(Path.Combine(dir, "htpasswd"), htpasswdLine + "\n");
            auth = $"""
                auth:
                  htpasswd:
                    realm: mocker-test
                    path: {Path.Combine(dir, "htpasswd")}
                """;
        }
        var tlsConfig = tls is { } pair
            ? $"""

                  tls:
                    certificate: {pair.Cert}
                    key: {pair.Key}
                """
            : "";
        var config = Path.Combine(dir, "config.yml");
        File.WriteAllText(config, $"""
            version: 0.1
            log:
              level: info
            storage:
              filesystem:
                rootdirectory: {Path.Combine(dir, "storage")}
              delete:
                enabled: true
            http:
              addr: {bindAddress}:{port}{tlsConfig}
            {auth}
            """);
        var psi = new ProcessStartInfo(Binary) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("serve");
        psi.ArgumentList.Add(config);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Text.StringBuilder();
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        void OnLine(object? _, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }
            lock (log)
            {
                log.AppendLine(e.Data);
            }
            if (e.Data.Contains("listening on", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        }
        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("docker-registry exited early:\n" + log));
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var registry = new LocalRegistry(process, dir, bindAddress, port);
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            registry.Dispose();
            throw;
        }
        return registry;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.WaitForExit();
        _process.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}

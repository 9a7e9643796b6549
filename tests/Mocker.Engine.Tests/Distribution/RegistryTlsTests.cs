using System.Diagnostics;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Mocker.Engine.Distribution;
using Mocker.Engine.Errors;
using Mocker.Engine.Tests.Snapshots;
using Mocker.Tests.Shared;
using Xunit;

namespace Mocker.Engine.Tests.Distribution;

/// <summary>
/// HTTPS with a private CA from certs.d (Docker's /etc/docker/certs.d/&lt;host:port&gt;/ca.crt): the registry listens on
/// the host's non-loopback address, so it is not insecure by default and the certificate must verify.
/// </summary>
public sealed class RegistryTlsTests
{
    private sealed class NoCredentials : IRegistryCredentials
    {
        public Task<RegistryCredential?> GetAsync(string registryHost, CancellationToken ct) => Task.FromResult<RegistryCredential?>(null);
    }

    private static string HostAddress() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !System.Net.IPAddress.IsLoopback(a))?.ToString()
        ?? throw new InvalidOperationException("the TLS registry test needs a non-loopback IPv4 address on this host");

    private static async Task OpenSslAsync(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("openssl") { WorkingDirectory = dir, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, "openssl " + string.Join(' ', args) + ": " + await err);
    }

    [Fact]
    public async Task PushesOverHttpsTrustingCertsDirCaAndRefusesWithoutIt()
    {
        var ip = HostAddress();
        using var root = new StorageTestRoot();
        var pki = Path.Combine(root.Dir, "pki");
        Directory.CreateDirectory(pki);
        await OpenSslAsync(pki, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=mocker-test-ca");
        await OpenSslAsync(pki, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=" + ip);
        File.WriteAllText(Path.Combine(pki, "ext.cnf"), $"subjectAltName=IP:{ip}\n");
        await OpenSslAsync(pki, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "ext.cnf");

        using var registry = await LocalRegistry.StartAsync(bindAddress: ip, tls: (Path.Combine(pki, "server.crt"), Path.Combine(pki, "server.key")));
        var certsDir = Path.Combine(root.Dir, "certs.d");
        Directory.CreateDirectory(Path.Combine(certsDir, registry.Host));
        File.Copy(Path.Combine(pki, "ca.crt"), Path.Combine(certsDir, registry.Host, "ca.crt"));
        var id = await root.Service.BootstrapAsync("busybox", null, null, default);
        await root.Service.TagAsync(id, registry.Host + "/tls/bb", "1", default);

        using (var untrusted = new DistributionService(root.Options with { RegistryCertsDir = Path.Combine(root.Dir, "empty") }, root.Content, root.Images,
            root.Snapshotter, root.Unpacker, new NoCredentials(), NullLogger<DistributionService>.Instance))
        {
            var e = await Assert.ThrowsAsync<MockerException>(() => untrusted.PushAsync(registry.Host + "/tls/bb:1", new RegistryInteropTests.Collect(), default));
            Assert.Equal(ErrorKind.Internal, e.Kind);
            Assert.StartsWith($"Get \"https://{registry.Host}/v2/\": ", e.Message, StringComparison.Ordinal);
        }

        using var trusted = new DistributionService(root.Options with { RegistryCertsDir = certsDir }, root.Content, root.Images,
            root.Snapshotter, root.Unpacker, new NoCredentials(), NullLogger<DistributionService>.Instance);
        var progress = new RegistryInteropTests.Collect();
        await trusted.PushAsync(registry.Host + "/tls/bb:1", progress, default);
        Assert.Contains("Pushed", progress.Statuses);
        await root.Service.RemoveAsync(id, force: true, noPrune: false, _ => null, default);
        var image = await trusted.PullAsync(registry.Host + "/tls/bb:1", null, new RegistryInteropTests.Collect(), default);
        Assert.Equal(id, image.Id.ToString());
    }
}

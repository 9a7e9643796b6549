using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Mocker.Daemon;

/// <summary>One <c>-H</c> address: <c>unix:///path</c> or <c>tcp://host:port</c> (dockerd's syntax; a bare path means unix).</summary>
internal sealed record ListenAddress(string? SocketPath, string? Host, int Port)
{
    public bool IsUnix => SocketPath is not null;

    public override string ToString() => IsUnix ? $"unix://{SocketPath}" : $"tcp://{Host}:{Port}";

    public static ListenAddress Parse(string spec)
    {
        if (spec.StartsWith("unix://", StringComparison.Ordinal))
        {
            var path = spec["unix://".Length..];
            return Path.IsPathRooted(path) ? new ListenAddress(path, null, 0) : throw new ArgumentException($"invalid host {spec}: the socket path must be absolute");
        }
        if (spec.StartsWith('/'))
        {
            return new ListenAddress(spec, null, 0);
        }
        if (spec.StartsWith("tcp://", StringComparison.Ordinal))
        {
            var rest = spec["tcp://".Length..].TrimEnd('/');
            var colon = rest.LastIndexOf(':');
            var host = colon < 0 ? rest : rest[..colon];
            var port = colon < 0 ? 2376 : int.TryParse(rest[(colon + 1)..], out var p) && p is > 0 and < 65536 ? p : throw new ArgumentException($"invalid host {spec}: bad port");
            return new ListenAddress(null, host.Trim('[', ']'), port);
        }
        throw new ArgumentException($"invalid host {spec}: expected unix:///path or tcp://host:port");
    }

    /// <summary>
    /// Prepares a UNIX socket path: creates its directory, refuses when another daemon answers on it, and removes a
    /// stale socket file left by a daemon that died.
    /// </summary>
    public void PrepareSocket()
    {
        var path = SocketPath!;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path))
        {
            return;
        }
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new InvalidOperationException($"another daemon is already listening on {this}");
            }
            catch (SocketException)
            {
                // Nobody listens: the file is stale.
            }
        }
        File.Delete(path);
    }

    /// <summary>Adds this address to Kestrel; TCP requires TLS (the API gives root-equivalent control of the host).</summary>
    public void Listen(KestrelServerOptions kestrel, DaemonSettings settings, Action<ListenOptions> configure)
    {
        void Setup(ListenOptions lo)
        {
            lo.Protocols = HttpProtocols.Http1;
            if (settings.Tls)
            {
                lo.UseHttps(https => ConfigureTls(https, settings));
            }
            configure(lo);
        }

        if (IsUnix)
        {
            kestrel.ListenUnixSocket(SocketPath!, Setup);
            return;
        }
        if (!settings.Tls)
        {
            throw new ArgumentException($"refusing to listen on {this} without TLS: anyone reaching this port would control the host; pass --tlsverify --tlscacert --tlscert --tlskey (or use a unix socket)");
        }
        if (string.IsNullOrEmpty(Host) || Host is "0.0.0.0" or "::" or "*")
        {
            kestrel.ListenAnyIP(Port, Setup);
        }
        else if (Host == "localhost")
        {
            kestrel.ListenLocalhost(Port, Setup);
        }
        else
        {
            var address = IPAddress.TryParse(Host, out var ip) ? ip : Dns.GetHostAddresses(Host).First();
            kestrel.Listen(address, Port, Setup);
        }
    }

    private static void ConfigureTls(HttpsConnectionAdapterOptions https, DaemonSettings settings)
    {
        https.ServerCertificate = X509Certificate2.CreateFromPemFile(settings.TlsCert!, settings.TlsKey);
        if (!settings.TlsVerify)
        {
            return;
        }
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(settings.TlsCaCert!);
        https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
        https.ClientCertificateValidation = (certificate, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(certificate);
        };
    }
}

using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Mocker.Client;

/// <summary>
/// Where the daemon listens: <c>unix:///path</c> or <c>tcp://host:port</c> (optionally TLS), resolved like the docker CLI
/// resolves <c>-H</c> / <c>DOCKER_HOST</c>. TLS follows docker's environment: <c>DOCKER_TLS_VERIFY</c> (non-empty: TLS,
/// server verified against <c>ca.pem</c>) or an <c>https://</c> host (verified against the system store), with client certificate
/// <c>cert.pem</c>/<c>key.pem</c> from <c>DOCKER_CERT_PATH</c> (default <c>~/.docker</c>).
/// </summary>
public sealed class MockerEndpoint
{
    /// <summary>The default daemon socket.</summary>
    public const string DefaultHost = "unix:///run/mocker/mocker.sock";

    private MockerEndpoint(string original, string? socketPath, string? tcpHost, int tcpPort, bool tls, bool verify, string? certPath)
    {
        Original = original;
        SocketPath = socketPath;
        TcpHost = tcpHost;
        TcpPort = tcpPort;
        UseTls = tls;
        VerifyServer = verify;
        CertPath = certPath;
    }

    /// <summary>The host string as given (after defaulting), used in error messages.</summary>
    public string Original { get; }
    /// <summary>The UNIX socket path, or null for TCP.</summary>
    public string? SocketPath { get; }
    public string? TcpHost { get; }
    public int TcpPort { get; }
    public bool UseTls { get; }
    public bool VerifyServer { get; }
    public string? CertPath { get; }

    /// <summary>
    /// Resolves the endpoint: <paramref name="host"/> when given, else <c>MOCKER_HOST</c>, else <c>DOCKER_HOST</c>,
    /// else <see cref="DefaultHost"/>. Accepts <c>unix://</c>, <c>tcp://</c>, <c>http://</c>, <c>https://</c>, a bare absolute
    /// socket path, and <c>host:port</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The host string cannot be parsed.</exception>
    public static MockerEndpoint Resolve(string? host = null)
    {
        host = NonEmpty(host) ?? NonEmpty(Environment.GetEnvironmentVariable("MOCKER_HOST"))
            ?? NonEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST")) ?? DefaultHost;
        var verify = NonEmpty(Environment.GetEnvironmentVariable("DOCKER_TLS_VERIFY")) is not null;
        var tls = verify;
        var certPath = NonEmpty(Environment.GetEnvironmentVariable("DOCKER_CERT_PATH"))
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker");

        if (host.StartsWith("unix://", StringComparison.Ordinal))
        {
            var path = host["unix://".Length..];
            if (path.Length == 0) throw new ArgumentException($"invalid host: {host}");
            return new MockerEndpoint(host, path, null, 0, false, false, null);
        }
        if (host.StartsWith('/'))
            return new MockerEndpoint("unix://" + host, host, null, 0, false, false, null);

        string rest;
        if (host.StartsWith("tcp://", StringComparison.Ordinal)) rest = host["tcp://".Length..];
        else if (host.StartsWith("http://", StringComparison.Ordinal)) { rest = host["http://".Length..]; tls = false; }
        else if (host.StartsWith("https://", StringComparison.Ordinal)) { rest = host["https://".Length..]; tls = true; }
        else if (!host.Contains("://", StringComparison.Ordinal)) rest = host;
        else throw new ArgumentException($"invalid host: unsupported protocol in {host}");

        rest = rest.TrimEnd('/');
        var defaultPort = tls ? 2376 : 2375;
        string h;
        int port;
        var colon = rest.LastIndexOf(':');
        if (rest.StartsWith('[') && rest.Contains(']', StringComparison.Ordinal))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            h = rest[1..close];
            port = close + 1 < rest.Length && rest[close + 1] == ':' ? ParsePort(rest[(close + 2)..], host) : defaultPort;
        }
        else if (colon >= 0)
        {
            h = rest[..colon];
            port = ParsePort(rest[(colon + 1)..], host);
        }
        else
        {
            h = rest;
            port = defaultPort;
        }
        if (h.Length == 0) h = "127.0.0.1";
        return new MockerEndpoint(host, null, h, port, tls, verify, tls ? certPath : null);
    }

    /// <summary>The Host header value for hand-written (hijacked) requests.</summary>
    internal string HostHeader => SocketPath is not null ? "api.moby.localhost" : $"{TcpHost}:{TcpPort}";

    /// <summary>Opens a connected socket to the daemon (no TLS).</summary>
    /// <exception cref="MockerConnectionException">Nothing listens there.</exception>
    public async ValueTask<Socket> ConnectSocketAsync(CancellationToken ct)
    {
        Socket socket;
        EndPoint ep;
        if (SocketPath is not null)
        {
            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            ep = new UnixDomainSocketEndPoint(SocketPath);
        }
        else
        {
            socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            ep = new DnsEndPoint(TcpHost!, TcpPort);
        }
        try
        {
            await socket.ConnectAsync(ep, ct).ConfigureAwait(false);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new MockerConnectionException(Original, e);
        }
    }

    /// <summary>Opens a stream to the daemon, wrapped in TLS when the endpoint uses it (used for hijacked connections).</summary>
    internal async ValueTask<(Socket Socket, Stream Stream)> ConnectStreamAsync(CancellationToken ct)
    {
        var socket = await ConnectSocketAsync(ct).ConfigureAwait(false);
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        if (UseTls)
        {
            var ssl = new SslStream(stream, false);
            try
            {
                await ssl.AuthenticateAsClientAsync(CreateSslOptions(), ct).ConfigureAwait(false);
            }
            catch
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            stream = ssl;
        }
        return (socket, stream);
    }

    /// <summary>TLS client options: client certificate from <see cref="CertPath"/> and server validation against its <c>ca.pem</c>.</summary>
    internal SslClientAuthenticationOptions CreateSslOptions()
    {
        var options = new SslClientAuthenticationOptions { TargetHost = TcpHost };
        var certFile = Path.Combine(CertPath ?? "", "cert.pem");
        var keyFile = Path.Combine(CertPath ?? "", "key.pem");
        if (File.Exists(certFile) && File.Exists(keyFile))
            options.ClientCertificates = [X509Certificate2.CreateFromPemFile(certFile, keyFile)];
        if (VerifyServer)
        {
            var caFile = Path.Combine(CertPath ?? "", "ca.pem");
            if (File.Exists(caFile))
            {
                var ca = new X509Certificate2Collection();
                ca.ImportFromPemFile(caFile);
                options.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
                {
                    if (cert is null) return false;
                    if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.AddRange(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(new X509Certificate2(cert));
                };
            }
        }
        return options;
    }

    private static int ParsePort(string s, string host) =>
        int.TryParse(s, out var p) && p is > 0 and < 65536 ? p : throw new ArgumentException($"invalid host: bad port in {host}");

    private static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    public override string ToString() => Original;
}

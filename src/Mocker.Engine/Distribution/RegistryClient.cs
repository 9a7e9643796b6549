using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Mocker.Engine.Content;
using Mocker.Engine.Errors;
using Mocker.Engine.Images;

namespace Mocker.Engine.Distribution;

/// <summary>A manifest or index as the registry served it: the exact bytes (their sha256 is the digest), the media type.</summary>
public sealed record FetchedManifest(byte[] Bytes, string MediaType, Digest Digest);

/// <summary>
/// Client of one registry host speaking the OCI Distribution Spec 1.1 (spec.md: pull, push, content discovery) and
/// Docker's token authentication (distribution docs/spec/auth/token.md). Transport: HTTPS with the system trust
/// plus /etc/mocker/certs.d/&lt;host&gt;/*.crt; insecure registries (localhost, 127.0.0.0/8, ::1,
/// <see cref="EngineOptions.InsecureRegistries"/>) try HTTPS without verification, then plain HTTP, as dockerd does.
/// Authorization headers are cached per scope set; secrets are never logged.
/// </summary>
public sealed class RegistryClient : IDisposable
{
    /// <summary>Largest manifest or index accepted (bytes); larger ones are refused as hostile.</summary>
    public const int MaxManifestBytes = 4 << 20;
    /// <summary>Largest error body read (bytes).</summary>
    public const int MaxErrorBytes = 1 << 20;

    /// <summary>Every manifest type we can use, most specific first; schema 1 is deliberately absent.</summary>
    public static readonly string[] ManifestAccept =
        [MediaTypes.OciIndex, MediaTypes.DockerManifestList, MediaTypes.OciManifest, MediaTypes.DockerManifest];

    private readonly string _host;
    private readonly bool _insecure;
    private readonly IRegistryCredentials _credentials;
    private readonly ILogger _logger;
    private readonly HttpClient _http;
    private readonly ConcurrentDictionary<string, AuthenticationHeaderValue> _auth = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _baseLock = new(1, 1);
    private Uri? _base;

    public RegistryClient(EngineOptions options, string host, IRegistryCredentials credentials, ILogger logger)
    {
        _host = host;
        _insecure = IsInsecure(host, options.InsecureRegistries);
        _credentials = credentials;
        _logger = logger;
        var certDir = Path.Combine(options.RegistryCertsDir, host);
        var cas = new X509Certificate2Collection();
        var clientCerts = new X509CertificateCollection();
        if (Directory.Exists(certDir))
        {
            foreach (var crt in Directory.EnumerateFiles(certDir, "*.crt"))
            {
                cas.ImportFromPemFile(crt);
            }
            foreach (var cert in Directory.EnumerateFiles(certDir, "*.cert"))
            {
                var key = Path.ChangeExtension(cert, ".key");
                if (File.Exists(key))
                {
                    clientCerts.Add(X509Certificate2.CreateFromPemFile(cert, key));
                }
            }
        }
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(30),
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = true,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = clientCerts.Count > 0 ? clientCerts : null,
                RemoteCertificateValidationCallback = (_, cert, chain, errors) => Validate(cert, errors, cas),
            },
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("mocker/0.1");
    }

    /// <summary>The registry host this client talks to ("host[:port]").</summary>
    public string Host => _host;

    private bool Validate(X509Certificate? cert, SslPolicyErrors errors, X509Certificate2Collection cas)
    {
        if (_insecure || errors == SslPolicyErrors.None)
        {
            return true;
        }
        if (cas.Count == 0 || cert is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(cas);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(new X509Certificate2(cert));
    }

    /// <summary>
    /// localhost, 127.0.0.0/8 and ::1 are insecure by default (dockerd registry/config.go); others only when listed, by
    /// "host[:port]" or, for IP hosts, by a CIDR entry ("10.0.0.0/8").
    /// </summary>
    public static bool IsInsecure(string host, IReadOnlyList<string> listed)
    {
        if (listed.Contains(host, StringComparer.OrdinalIgnoreCase))
        {
            return true;
        }
        var name = host;
        if (name.StartsWith('['))
        {
            var end = name.IndexOf(']');
            name = end > 0 ? name[1..end] : name;
        }
        else if (name.LastIndexOf(':') is var colon and > 0 && name.IndexOf(':') == colon)
        {
            name = name[..colon];
        }
        if (name.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        if (!IPAddress.TryParse(name, out var ip))
        {
            return false;
        }
        return IPAddress.IsLoopback(ip)
            || listed.Any(entry => entry.Contains('/') && IPNetwork.TryParse(entry, out var network) && network.Contains(ip));
    }

    /// <summary>The host serving a registry's API: Docker Hub ("docker.io") is served by registry-1.docker.io.</summary>
    public static string ApiHost(string registryHost) => registryHost == Reference.DefaultDomain ? "registry-1.docker.io" : registryHost;

    /// <summary>The path of a manifest under the API base: "v2/&lt;repo&gt;/manifests/&lt;tag or digest&gt;" (spec.md end-3).</summary>
    public static string ManifestPath(string repo, string reference) => $"v2/{repo}/manifests/{reference}";

    /// <summary>
    /// The API base "scheme://host/" (Docker Hub's API lives at registry-1.docker.io). Probes GET /v2/ once: any HTTP
    /// answer (200, 401, …) settles the scheme; a transport failure on HTTPS falls back to HTTP for insecure registries.
    /// </summary>
    public async Task<Uri> BaseAsync(CancellationToken ct)
    {
        if (_base is { } known)
        {
            return known;
        }
        await _baseLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_base is { } again)
            {
                return again;
            }
            var apiHost = ApiHost(_host);
            var https = new Uri("https://" + apiHost + "/");
            try
            {
                using var resp = await TransportAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(https, "v2/")), HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                _base = https;
            }
            catch (MockerException) when (_insecure)
            {
                var http = new Uri("http://" + apiHost + "/");
                using var resp = await TransportAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(http, "v2/")), HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                _base = http;
            }
            return _base;
        }
        finally
        {
            _baseLock.Release();
        }
    }

    private async Task<HttpResponseMessage> TransportAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken ct)
    {
        try
        {
            return await _http.SendAsync(request, completion, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw TransportError(request.Method, request.RequestUri, e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw TransportError(request.Method, request.RequestUri, e);
        }
    }

    private static MockerException TransportError(HttpMethod method, Uri? uri, Exception e)
    {
        var inner = e;
        while (inner.InnerException is { } next && inner is not SocketException)
        {
            inner = next;
        }
        var verb = method.Method[..1] + method.Method[1..].ToLowerInvariant();
        return new MockerException(ErrorKind.Internal, $"{verb} \"{uri}\": {inner.Message}", e);
    }

    /// <summary>
    /// Sends a request built by <paramref name="make"/> (called again after an authentication round trip, so bodies
    /// must be replayable or the scope already authorised) with the cached authorisation for <paramref name="scopes"/>.
    /// On 401 it answers the challenge once: Basic with the stored credential, or Bearer by fetching a token from the
    /// realm with service and scope parameters.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(Func<Uri, HttpRequestMessage> make, IReadOnlyList<string> scopes, HttpCompletionOption completion, CancellationToken ct)
    {
        var baseUri = await BaseAsync(ct).ConfigureAwait(false);
        var key = string.Join(' ', scopes);
        for (var attempt = 0; ; attempt++)
        {
            var request = make(baseUri);
            if (_auth.TryGetValue(key, out var header))
            {
                request.Headers.Authorization = header;
            }
            var response = await TransportAsync(request, completion, ct).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Unauthorized || attempt > 0)
            {
                return response;
            }
            var challenges = response.Headers.WwwAuthenticate.SelectMany(h => AuthChallenge.Parse(h.ToString())).ToList();
            var authorization = await AuthorizeAsync(challenges, scopes, ct).ConfigureAwait(false);
            if (authorization is null)
            {
                return response;
            }
            response.Dispose();
            _auth[key] = authorization;
        }
    }

    private async Task<AuthenticationHeaderValue?> AuthorizeAsync(IReadOnlyList<AuthChallenge> challenges, IReadOnlyList<string> scopes, CancellationToken ct)
    {
        var credential = await _credentials.GetAsync(_host, ct).ConfigureAwait(false);
        foreach (var challenge in challenges)
        {
            if (challenge.Scheme == "bearer" && challenge.Parameters.TryGetValue("realm", out var realm))
            {
                return new AuthenticationHeaderValue("Bearer", await FetchTokenAsync(realm, challenge.Parameters.GetValueOrDefault("service"), scopes, credential, ct).ConfigureAwait(false));
            }
            if (challenge.Scheme == "basic" && credential is not null)
            {
                return Basic(credential);
            }
        }
        return null;
    }

    private static AuthenticationHeaderValue Basic(RegistryCredential credential) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credential.Username + ":" + credential.Secret)));

    private async Task<string> FetchTokenAsync(string realm, string? service, IReadOnlyList<string> scopes, RegistryCredential? credential, CancellationToken ct)
    {
        if (credential?.Username == IdentityTokenUser)
        {
            return await FetchOAuthTokenAsync(realm, service, scopes, credential.Secret, ct).ConfigureAwait(false);
        }
        var query = new StringBuilder();
        if (!string.IsNullOrEmpty(service))
        {
            query.Append("service=").Append(Uri.EscapeDataString(service));
        }
        foreach (var scope in scopes)
        {
            query.Append(query.Length > 0 ? "&" : "").Append("scope=").Append(Uri.EscapeDataString(scope));
        }
        if (credential is not null)
        {
            query.Append(query.Length > 0 ? "&" : "").Append("account=").Append(Uri.EscapeDataString(credential.Username));
        }
        var uri = new UriBuilder(realm) { Query = query.ToString() }.Uri;
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (credential is not null)
        {
            request.Headers.Authorization = Basic(credential);
        }
        using var response = await TransportAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, $"failed to authorize: failed to fetch token from {uri.GetLeftPart(UriPartial.Path)}", ct).ConfigureAwait(false);
        }
        var body = await ReadLimitedAsync(response.Content, MaxManifestBytes, ct).ConfigureAwait(false);
        var reply = JsonSerializer.Deserialize(body, DistributionJsonContext.Default.TokenReply);
        var token = reply?.Token ?? reply?.AccessToken;
        if (string.IsNullOrEmpty(token))
        {
            throw new MockerException(ErrorKind.Internal, $"failed to authorize: token endpoint {uri.GetLeftPart(UriPartial.Path)} returned no token");
        }
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            _logger.LogDebug("obtained registry token for {Host} scopes {Scopes}", _host, string.Join(' ', scopes));
        }
        return token;
    }

    /// <summary>The user name credential helpers give an identity (refresh) token, which is exchanged by OAuth2 instead of Basic.</summary>
    public const string IdentityTokenUser = "<token>";

    /// <summary>distribution docs/spec/auth/oauth.md: POST grant_type=refresh_token to the realm; the reply's access_token authorises.</summary>
    private async Task<string> FetchOAuthTokenAsync(string realm, string? service, IReadOnlyList<string> scopes, string refreshToken, CancellationToken ct)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "refresh_token"),
            new("refresh_token", refreshToken),
            new("client_id", "mocker"),
            new("service", service ?? ""),
            new("scope", string.Join(' ', scopes)),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(realm)) { Content = new FormUrlEncodedContent(form) };
        using var response = await TransportAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, $"failed to authorize: failed to fetch oauth token from {new Uri(realm).GetLeftPart(UriPartial.Path)}", ct).ConfigureAwait(false);
        }
        var reply = JsonSerializer.Deserialize(await ReadLimitedAsync(response.Content, MaxManifestBytes, ct).ConfigureAwait(false), DistributionJsonContext.Default.TokenReply);
        return reply?.AccessToken ?? reply?.Token
            ?? throw new MockerException(ErrorKind.Internal, $"failed to authorize: oauth endpoint {new Uri(realm).GetLeftPart(UriPartial.Path)} returned no token");
    }

    /// <summary>Reads at most <paramref name="limit"/> bytes; more fails with InvalidArgument (untrusted input).</summary>
    public static async Task<byte[]> ReadLimitedAsync(HttpContent content, int limit, CancellationToken ct)
    {
        if (content.Headers.ContentLength is { } declared && declared > limit)
        {
            throw MockerException.InvalidArgument($"registry response of {declared} bytes exceeds the limit of {limit} bytes");
        }
        await using var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await stream.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > limit)
            {
                throw MockerException.InvalidArgument($"registry response exceeds the limit of {limit} bytes");
            }
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// The registry's error text for a failed response: "&lt;code lowercased, _ → space&gt;: &lt;message&gt;" per
    /// error (docker/distribution errcode), or the HTTP status when the body has none.
    /// </summary>
    public static async Task<string> ErrorTextAsync(HttpResponseMessage response, CancellationToken ct)
    {
        byte[] body;
        try
        {
            body = await ReadLimitedAsync(response.Content, MaxErrorBytes, ct).ConfigureAwait(false);
        }
        catch (MockerException)
        {
            body = [];
        }
        try
        {
            var errors = body.Length > 0 ? JsonSerializer.Deserialize(body, DistributionJsonContext.Default.RegistryErrors) : null;
            if (errors?.Errors is { Count: > 0 } list)
            {
                return string.Join("; ", list.Select(e => $"{(e.Code ?? "unknown").Replace('_', ' ').ToLowerInvariant()}: {e.Message}"));
            }
        }
        catch (JsonException)
        {
            // Not a registry error document; fall back to the status line.
        }
        return response.StatusCode == HttpStatusCode.Unauthorized
            ? "unauthorized: authentication required"
            : $"unexpected status from {response.RequestMessage?.Method} request to {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {response.ReasonPhrase}";
    }

    private static async Task<MockerException> ErrorAsync(HttpResponseMessage response, string context, CancellationToken ct)
    {
        var kind = response.StatusCode switch
        {
            HttpStatusCode.NotFound => ErrorKind.NotFound,
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => ErrorKind.Unavailable,
            _ => ErrorKind.Internal,
        };
        return new MockerException(kind, context + ": " + await ErrorTextAsync(response, ct).ConfigureAwait(false));
    }

    private static string PullScope(string repo) => $"repository:{repo}:pull";
    private static string PushScope(string repo) => $"repository:{repo}:pull,push";

    /// <summary>
    /// GET /v2/&lt;repo&gt;/manifests/&lt;reference&gt; with every supported media type in Accept. Refuses schema 1,
    /// bodies over <see cref="MaxManifestBytes"/>, and (when <paramref name="reference"/> is a digest) bytes whose
    /// digest differs. 404 → NotFound "manifest for X not found: …"; 401/403 → NotFound "pull access denied …" as dockerd.
    /// </summary>
    public async Task<FetchedManifest> GetManifestAsync(string repo, string reference, string familiar, CancellationToken ct)
    {
        using var response = await SendAsync(b =>
        {
            var req = new HttpRequestMessage(HttpMethod.Get, new Uri(b, ManifestPath(repo, reference)));
            foreach (var type in ManifestAccept)
            {
                req.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            }
            return req;
        }, [PullScope(repo)], HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var text = await ErrorTextAsync(response, ct).ConfigureAwait(false);
            throw response.StatusCode switch
            {
                HttpStatusCode.NotFound => new MockerException(ErrorKind.NotFound, $"manifest for {familiar} not found: {text}"),
                HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new MockerException(ErrorKind.NotFound,
                    $"pull access denied for {familiar}, repository does not exist or may require 'docker login': {text}"),
                _ => new MockerException(ErrorKind.Internal, $"error fetching manifest for {familiar}: {text}"),
            };
        }
        var bytes = await ReadLimitedAsync(response.Content, MaxManifestBytes, ct).ConfigureAwait(false);
        var digest = Digest.Compute(bytes);
        if (reference.StartsWith(Digest.Sha256Prefix, StringComparison.Ordinal) && digest.ToString() != reference)
        {
            throw MockerException.InvalidArgument($"manifest verification failed for digest {reference}: got {digest}");
        }
        var mediaType = ManifestSelector.DetectMediaType(bytes, response.Content.Headers.ContentType?.MediaType);
        return new FetchedManifest(bytes, mediaType, digest);
    }

    /// <summary>GET /v2/&lt;repo&gt;/blobs/&lt;digest&gt;, from byte <paramref name="offset"/> (HTTP Range) when non-zero. The caller disposes the response.</summary>
    public async Task<HttpResponseMessage> GetBlobAsync(string repo, Digest digest, long offset, CancellationToken ct)
    {
        var response = await SendAsync(b =>
        {
            var req = new HttpRequestMessage(HttpMethod.Get, new Uri(b, $"v2/{repo}/blobs/{digest}"));
            if (offset > 0)
            {
                req.Headers.Range = new RangeHeaderValue(offset, null);
            }
            return req;
        }, [PullScope(repo)], HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                throw await ErrorAsync(response, $"failed to fetch blob {digest}", ct).ConfigureAwait(false);
            }
        }
        return response;
    }

    /// <summary>Reads a small blob (a config) fully, verifying digest and size; at most <paramref name="limit"/> bytes.</summary>
    public async Task<byte[]> GetSmallBlobAsync(string repo, Descriptor descriptor, int limit, CancellationToken ct)
    {
        if (descriptor.Size > limit)
        {
            throw MockerException.InvalidArgument($"blob {descriptor.Digest} of {descriptor.Size} bytes exceeds the limit of {limit} bytes");
        }
        using var response = await GetBlobAsync(repo, descriptor.Digest, 0, ct).ConfigureAwait(false);
        var bytes = await ReadLimitedAsync(response.Content, limit, ct).ConfigureAwait(false);
        if (bytes.Length != descriptor.Size || Digest.Compute(bytes) != descriptor.Digest)
        {
            throw MockerException.InvalidArgument($"blob {descriptor.Digest}: digest or size mismatch (got {Digest.Compute(bytes)}, {bytes.Length} bytes)");
        }
        return bytes;
    }

    /// <summary>HEAD /v2/&lt;repo&gt;/blobs/&lt;digest&gt;: true when the registry has the blob (spec.md "Checking if content exists").</summary>
    public async Task<bool> BlobExistsAsync(string repo, Digest digest, CancellationToken ct)
    {
        using var response = await SendAsync(b => new HttpRequestMessage(HttpMethod.Head, new Uri(b, $"v2/{repo}/blobs/{digest}")),
            [PushScope(repo)], HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, $"failed to check blob {digest}", ct).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>
    /// Cross-repository mount (spec.md "Mounting a blob from another repository"): POST uploads/?mount=&amp;from=.
    /// True on 201; false when the registry opened an upload instead (202; that session is cancelled) or refused.
    /// </summary>
    public async Task<bool> TryMountAsync(string repo, Digest digest, string fromRepo, CancellationToken ct)
    {
        using var response = await SendAsync(b => new HttpRequestMessage(HttpMethod.Post,
                new Uri(b, $"v2/{repo}/blobs/uploads/?mount={Uri.EscapeDataString(digest.ToString())}&from={Uri.EscapeDataString(fromRepo)}")),
            [PushScope(repo), PullScope(fromRepo)], HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Created)
        {
            return true;
        }
        if (response.StatusCode == HttpStatusCode.Accepted && response.Headers.Location is { } location)
        {
            var uploadUri = new Uri(await BaseAsync(ct).ConfigureAwait(false), location);
            using var cancel = await SendAsync(_ => new HttpRequestMessage(HttpMethod.Delete, uploadUri), [PushScope(repo)], HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        return false;
    }

    /// <summary>
    /// Uploads a blob: POST to open a session, then one PUT ?digest= with the whole body (monolithic) or, above
    /// <paramref name="chunkThreshold"/> bytes, PATCH chunks with Content-Range and a closing empty PUT
    /// (spec.md "Pushing blobs"). <paramref name="open"/> opens the blob content; <paramref name="sent"/> gets bytes sent.
    /// </summary>
    public async Task UploadBlobAsync(string repo, Descriptor descriptor, Func<Stream> open, long chunkThreshold, IProgress<long>? sent, CancellationToken ct)
    {
        var scopes = new[] { PushScope(repo) };
        Uri location;
        using (var start = await SendAsync(b => new HttpRequestMessage(HttpMethod.Post, new Uri(b, $"v2/{repo}/blobs/uploads/")), scopes, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false))
        {
            if (start.StatusCode != HttpStatusCode.Accepted || start.Headers.Location is null)
            {
                throw await ErrorAsync(start, $"failed to start upload of {descriptor.Digest}", ct).ConfigureAwait(false);
            }
            location = new Uri(await BaseAsync(ct).ConfigureAwait(false), start.Headers.Location);
        }
        await using var source = open();
        if (descriptor.Size > chunkThreshold)
        {
            const int chunkSize = 16 << 20;
            var buffer = new byte[chunkSize];
            long offset = 0;
            while (offset < descriptor.Size)
            {
                var filled = 0;
                int n;
                while (filled < chunkSize && (n = await source.ReadAsync(buffer.AsMemory(filled), ct).ConfigureAwait(false)) > 0)
                {
                    filled += n;
                }
                if (filled == 0)
                {
                    throw MockerException.InvalidArgument($"blob {descriptor.Digest} is shorter than its descriptor size {descriptor.Size}");
                }
                var chunkUri = location;
                var first = offset;
                var count = filled;
                using var patch = await SendAsync(_ =>
                {
                    var req = new HttpRequestMessage(HttpMethod.Patch, chunkUri) { Content = new ByteArrayContent(buffer, 0, count) };
                    req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                    req.Content.Headers.TryAddWithoutValidation("Content-Range", $"{first}-{first + count - 1}");
                    return req;
                }, scopes, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                if (patch.StatusCode != HttpStatusCode.Accepted || patch.Headers.Location is null)
                {
                    throw await ErrorAsync(patch, $"failed to upload chunk of {descriptor.Digest}", ct).ConfigureAwait(false);
                }
                location = new Uri(await BaseAsync(ct).ConfigureAwait(false), patch.Headers.Location);
                offset += count;
                sent?.Report(offset);
            }
            await FinishUploadAsync(location, descriptor, null, scopes, ct).ConfigureAwait(false);
        }
        else
        {
            var body = new ProgressContent(source, descriptor.Size, sent);
            await FinishUploadAsync(location, descriptor, body, scopes, ct).ConfigureAwait(false);
        }
    }

    private async Task FinishUploadAsync(Uri location, Descriptor descriptor, HttpContent? body, string[] scopes, CancellationToken ct)
    {
        var separator = string.IsNullOrEmpty(location.Query) ? "?" : "&";
        var uri = new Uri(location + separator + "digest=" + Uri.EscapeDataString(descriptor.Digest.ToString()));
        using var put = await SendAsync(_ =>
        {
            var req = new HttpRequestMessage(HttpMethod.Put, uri) { Content = body ?? new ByteArrayContent([]) };
            req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            return req;
        }, scopes, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (put.StatusCode != HttpStatusCode.Created)
        {
            throw await ErrorAsync(put, $"failed to upload {descriptor.Digest}", ct).ConfigureAwait(false);
        }
    }

    /// <summary>PUT /v2/&lt;repo&gt;/manifests/&lt;tag&gt; with the exact bytes; returns the digest the registry reports (or computes).</summary>
    public async Task<Digest> PutManifestAsync(string repo, string tag, byte[] bytes, string mediaType, CancellationToken ct)
    {
        using var response = await SendAsync(b =>
        {
            var req = new HttpRequestMessage(HttpMethod.Put, new Uri(b, $"v2/{repo}/manifests/{tag}")) { Content = new ByteArrayContent(bytes) };
            req.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
            return req;
        }, [PushScope(repo)], HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw await ErrorAsync(response, $"failed to push manifest {repo}:{tag}", ct).ConfigureAwait(false);
        }
        return Digest.Compute(bytes);
    }

    public void Dispose()
    {
        _http.Dispose();
        _baseLock.Dispose();
    }

    /// <summary>A non-replayable streamed body that reports bytes written.</summary>
    private sealed class ProgressContent(Stream source, long length, IProgress<long>? sent) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            var buffer = new byte[81920];
            long total = 0;
            int n;
            while ((n = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                total += n;
                sent?.Report(total);
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long len)
        {
            len = length;
            return true;
        }
    }
}

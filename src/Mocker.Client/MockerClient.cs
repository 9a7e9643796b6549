using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Mocker.Api;

namespace Mocker.Client;

/// <summary>
/// Typed Engine API client for mockerd (and dockerd), talking HTTP/1.1 over a UNIX socket or TCP(+TLS) the way the
/// docker CLI does (engine-api-trace.md §1, §5): one <c>HEAD /_ping</c> to learn <c>Api-Version</c>, then every path
/// prefixed with <c>/v{min(1.41, server)}</c>. Operations are grouped like the CLI's command groups.
/// Every method throws <see cref="MockerConnectionException"/> when the daemon is unreachable and
/// <see cref="MockerApiException"/> (<see cref="MockerNotFoundException"/> for 404) on an error status.
/// </summary>
public sealed class MockerClient : IDisposable
{
    /// <summary>The highest API version this client speaks.</summary>
    public const string MaxApiVersion = "1.41";
    /// <summary>The version docker assumes when <c>_ping</c> carries no <c>Api-Version</c> (engine-api-trace.md §5.1).</summary>
    public const string FallbackApiVersion = "1.24";
    internal const string UserAgent = "Mocker-Client/0.1 (linux)";

    private readonly HttpTransport _http;
    private readonly SemaphoreSlim _negotiateLock = new(1, 1);
    private string? _apiVersion;

    /// <summary>Creates a client for <paramref name="host"/> (see <see cref="MockerEndpoint.Resolve"/> for defaults).</summary>
    /// <exception cref="ArgumentException">The host string is invalid.</exception>
    public MockerClient(string? host = null) : this(MockerEndpoint.Resolve(host))
    {
    }

    /// <summary>Creates a client for an already resolved endpoint.</summary>
    public MockerClient(MockerEndpoint endpoint)
    {
        Endpoint = endpoint;
        _http = new HttpTransport(endpoint, UserAgent);
        Containers = new ContainerOperations(this);
        Images = new ImageOperations(this);
        Exec = new ExecOperations(this);
        System = new SystemOperations(this);
    }

    /// <summary>The daemon endpoint.</summary>
    public MockerEndpoint Endpoint { get; }
    /// <summary><c>mocker run/create/start/stop/ps/logs/…</c>.</summary>
    public ContainerOperations Containers { get; }
    /// <summary><c>mocker images/build/import/rmi/tag/history/…</c>.</summary>
    public ImageOperations Images { get; }
    /// <summary><c>mocker exec</c>.</summary>
    public ExecOperations Exec { get; }
    /// <summary><c>mocker version/info/system prune</c>, and <c>_ping</c>.</summary>
    public SystemOperations System { get; }

    /// <summary>
    /// The negotiated API version (e.g. "1.41"): <c>HEAD /_ping</c> on first use (falling back to <c>GET</c>),
    /// <c>min(MaxApiVersion, Api-Version)</c>, or <see cref="FallbackApiVersion"/> when the header is absent.
    /// </summary>
    public async Task<string> GetApiVersionAsync(CancellationToken ct = default)
    {
        if (_apiVersion is not null) return _apiVersion;
        await _negotiateLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_apiVersion is not null) return _apiVersion;
            var ping = await PingCoreAsync(ct).ConfigureAwait(false);
            _apiVersion = ping.ApiVersion is null ? FallbackApiVersion
                : CompareVersions(ping.ApiVersion, MaxApiVersion) < 0 ? ping.ApiVersion : MaxApiVersion;
            return _apiVersion;
        }
        finally
        {
            _negotiateLock.Release();
        }
    }

    /// <summary>Compares dotted versions numerically ("1.9" &lt; "1.41").</summary>
    public static int CompareVersions(string a, string b)
    {
        var pa = a.Split('.');
        var pb = b.Split('.');
        for (var i = 0; i < Math.Max(pa.Length, pb.Length); i++)
        {
            var x = i < pa.Length && int.TryParse(pa[i], out var xa) ? xa : 0;
            var y = i < pb.Length && int.TryParse(pb[i], out var yb) ? yb : 0;
            if (x != y) return x.CompareTo(y);
        }
        return 0;
    }

    internal async Task<PingResponse> PingCoreAsync(CancellationToken ct)
    {
        var response = await _http.SendAsync("HEAD", "/_ping", null, ct).ConfigureAwait(false);
        if (!response.IsSuccess)
        {
            response.Dispose();
            response = await _http.SendAsync("GET", "/_ping", null, ct).ConfigureAwait(false);
        }
        using (response)
        {
            await EnsureSuccessAsync(response, ct).ConfigureAwait(false);
            await response.Body.CopyToAsync(Stream.Null, ct).ConfigureAwait(false);
            return new PingResponse(response.Header("Api-Version"), response.Header("Ostype"), response.Header("Docker-Experimental") == "true", response.Header("Builder-Version"));
        }
    }

    /// <summary>Builds <c>/v{version}{path}?{query}</c>; query values are URL-encoded, null values dropped.</summary>
    internal async Task<string> PathAsync(string path, IEnumerable<KeyValuePair<string, string?>>? query, CancellationToken ct)
    {
        var version = await GetApiVersionAsync(ct).ConfigureAwait(false);
        var sb = new StringBuilder("/v").Append(version).Append(path);
        if (query is not null)
        {
            var first = true;
            // Sorted by key like Go's url.Values.Encode (the docker CLI's order); repeated keys keep their order.
            foreach (var (k, v) in query.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                if (v is null) continue;
                sb.Append(first ? '?' : '&').Append(Uri.EscapeDataString(k)).Append('=').Append(Uri.EscapeDataString(v));
                first = false;
            }
        }
        return sb.ToString();
    }

    /// <summary>Escapes one path segment (container/image names may contain '/' and ':' which Docker keeps literal).</summary>
    internal static string Segment(string nameOrId) => Uri.EscapeDataString(nameOrId).Replace("%2F", "/", StringComparison.Ordinal).Replace("%3A", ":", StringComparison.Ordinal);

    /// <summary>Sends a request and returns the successful response (head read; body not yet consumed).</summary>
    internal async Task<HttpResponse> SendAsync(HttpMethod method, string path, IEnumerable<KeyValuePair<string, string?>>? query,
        RequestBody? content, CancellationToken ct, bool allowNotModified = false)
    {
        var uri = await PathAsync(path, query, ct).ConfigureAwait(false);
        var response = await _http.SendAsync(method.Method, uri, content, ct).ConfigureAwait(false);
        if (allowNotModified && response.Status == 304) return response;
        try
        {
            await EnsureSuccessAsync(response, ct).ConfigureAwait(false);
        }
        catch
        {
            response.Dispose();
            throw;
        }
        return response;
    }

    internal async Task<T> SendJsonAsync<T>(HttpMethod method, string path, IEnumerable<KeyValuePair<string, string?>>? query,
        RequestBody? content, JsonTypeInfo<T> info, CancellationToken ct)
    {
        using var response = await SendAsync(method, path, query, content, ct).ConfigureAwait(false);
        return await JsonSerializer.DeserializeAsync(response.Body, info, ct).ConfigureAwait(false)
            ?? throw new InvalidDataException($"empty response body from {path}");
    }

    /// <summary>Sends a request and discards the body; returns false on 304 Not Modified when <paramref name="allowNotModified"/>.</summary>
    internal async Task<bool> SendNoContentAsync(HttpMethod method, string path, IEnumerable<KeyValuePair<string, string?>>? query,
        CancellationToken ct, bool allowNotModified = false, RequestBody? content = null)
    {
        using var response = await SendAsync(method, path, query, content, ct, allowNotModified).ConfigureAwait(false);
        await response.Body.CopyToAsync(Stream.Null, ct).ConfigureAwait(false);
        return response.Status != 304;
    }

    internal static RequestBody Json<T>(T value, JsonTypeInfo<T> info) =>
        RequestBody.FromBytes(JsonSerializer.SerializeToUtf8Bytes(value, info), "application/json");

    /// <summary>Reads a <c>\r\n</c>/<c>\n</c>-separated JSON message stream (engine-api-trace.md §5.6).</summary>
    internal static async IAsyncEnumerable<JsonMessage> ReadJsonMessagesAsync(HttpResponse response, [EnumeratorCancellation] CancellationToken ct)
    {
        using (response)
        {
            using var reader = new StreamReader(response.Body, Encoding.UTF8);
            while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            {
                line = line.Trim();
                if (line.Length == 0) continue;
                var message = JsonSerializer.Deserialize(line, ApiJsonContext.Default.JsonMessage);
                if (message is not null) yield return message;
            }
        }
    }

    /// <summary>Opens a hijacked (upgraded) connection for attach / exec start.</summary>
    internal async Task<HijackedStream> HijackAsync(string path, IEnumerable<KeyValuePair<string, string?>>? query, string contentType, byte[] body, CancellationToken ct)
    {
        var uri = await PathAsync(path, query, ct).ConfigureAwait(false);
        return await HijackedStream.OpenAsync(Endpoint, "POST", uri, contentType, body, ct).ConfigureAwait(false);
    }

    private static async Task EnsureSuccessAsync(HttpResponse response, CancellationToken ct)
    {
        if (response.IsSuccess) return;
        var body = await response.ReadBodyAsStringAsync(ct).ConfigureAwait(false);
        throw MockerApiException.Create(response.StatusCode, ParseErrorMessage(body, response.StatusCode));
    }

    /// <summary>Extracts <c>message</c> from an error body; falls back to the raw text, then to the status phrase.</summary>
    internal static string ParseErrorMessage(string body, HttpStatusCode status)
    {
        var trimmed = body.Trim();
        if (trimmed.StartsWith('{'))
        {
            try
            {
                var error = JsonSerializer.Deserialize(trimmed, ApiJsonContext.Default.ErrorResponse);
                if (error is not null && !string.IsNullOrEmpty(error.message)) return error.message;
            }
            catch (JsonException)
            {
                // Not the Engine API error shape: report the raw text below.
            }
        }
        if (trimmed.Length > 0) return trimmed;
        return ((int)status).ToString(CultureInfo.InvariantCulture) + " " + status;
    }

    /// <summary>Encodes filters the way the CLI does: <c>{"key":{"value":true}}</c>.</summary>
    internal static string? EncodeFilters(IReadOnlyDictionary<string, IReadOnlyList<string>>? filters)
    {
        if (filters is null || filters.Count == 0) return null;
        var map = new Dictionary<string, Dictionary<string, bool>>();
        foreach (var (key, values) in filters)
        {
            var inner = map.TryGetValue(key, out var existing) ? existing : map[key] = [];
            foreach (var v in values) inner[v] = true;
        }
        return JsonSerializer.Serialize(map, ApiJsonContext.Default.DictionaryStringDictionaryStringBoolean);
    }

    public void Dispose()
    {
        _http.Dispose();
        _negotiateLock.Dispose();
    }
}

/// <summary>What <c>_ping</c> reports in its headers.</summary>
public sealed record PingResponse(string? ApiVersion, string? OsType, bool Experimental, string? BuilderVersion);

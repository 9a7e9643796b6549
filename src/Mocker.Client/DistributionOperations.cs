using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mocker.Api;
using static Mocker.Client.ContainerOperations;

namespace Mocker.Client;

/// <summary>A registry credential as the Engine API carries it (AuthConfig: username, password, serveraddress).</summary>
public sealed record RegistryAuth
{
    [JsonPropertyName("username")] public string? Username { get; init; }
    [JsonPropertyName("password")] public string? Password { get; init; }
    [JsonPropertyName("serveraddress")] public string? ServerAddress { get; init; }

    /// <summary>The <c>X-Registry-Auth</c> value: base64url of the JSON AuthConfig; <c>e30=</c> ("{}") for no credential, as the docker CLI sends.</summary>
    public static string Header(RegistryAuth? auth) =>
        auth is null ? "e30=" : Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(auth, ClientDistributionJsonContext.Default.RegistryAuth)).Replace('+', '-').Replace('/', '_');
}

/// <summary><c>POST /auth</c> reply.</summary>
public sealed record AuthResult
{
    public string? Status { get; init; }
    public string? IdentityToken { get; init; }
}

[JsonSerializable(typeof(RegistryAuth))]
[JsonSerializable(typeof(AuthResult))]
internal sealed partial class ClientDistributionJsonContext : JsonSerializerContext;

public sealed partial class ImageOperations
{
    /// <summary>
    /// <c>POST /images/create?fromImage=&amp;tag=&amp;platform=</c> with <c>X-Registry-Auth</c> (<c>mocker pull</c>, §1.17): a digest
    /// reference sends the digest in <c>tag</c>. Yields the progress stream; failures after it began arrive as messages with
    /// <c>errorDetail</c>.
    /// </summary>
    /// <exception cref="MockerNotFoundException">Unknown manifest (before streaming).</exception>
    public async IAsyncEnumerable<JsonMessage> PullAsync(string reference, string? platform = null, RegistryAuth? auth = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var (name, tag) = SplitReference(reference);
        var body = RequestBody.FromBytes([], "text/plain");
        body.Headers.Add(new("X-Registry-Auth", RegistryAuth.Header(auth)));
        var response = await _client.SendAsync(HttpMethod.Post, "/images/create",
            Q(("fromImage", name), ("tag", tag ?? "latest"), ("platform", string.IsNullOrEmpty(platform) ? null : platform)), body, ct).ConfigureAwait(false);
        await foreach (var m in MockerClient.ReadJsonMessagesAsync(response, ct).ConfigureAwait(false)) yield return m;
    }

    /// <summary><c>POST /images/{name}/push?tag=</c> with <c>X-Registry-Auth</c> (<c>mocker push</c>); no tag pushes all tags of the repository.</summary>
    public async IAsyncEnumerable<JsonMessage> PushAsync(string reference, RegistryAuth? auth = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var (name, tag) = SplitReference(reference);
        var body = RequestBody.FromBytes([], "text/plain");
        body.Headers.Add(new("X-Registry-Auth", RegistryAuth.Header(auth)));
        var response = await _client.SendAsync(HttpMethod.Post, $"/images/{MockerClient.Segment(name)}/push", Q(("tag", tag)), body, ct).ConfigureAwait(false);
        await foreach (var m in MockerClient.ReadJsonMessagesAsync(response, ct).ConfigureAwait(false)) yield return m;
    }

    /// <summary><c>GET /images/get?names=…</c> (<c>mocker save</c>): copies the docker-save tar to <paramref name="output"/>.</summary>
    /// <exception cref="MockerNotFoundException">An image does not exist.</exception>
    public async Task SaveAsync(IReadOnlyList<string> names, Stream output, CancellationToken ct = default)
    {
        var query = new List<KeyValuePair<string, string?>>();
        foreach (var n in names) query.Add(new("names", n));
        using var response = await _client.SendAsync(HttpMethod.Get, "/images/get", query, null, ct).ConfigureAwait(false);
        await response.Body.CopyToAsync(output, 1 << 16, ct).ConfigureAwait(false);
    }

    /// <summary><c>POST /images/load?quiet=</c> with the tar streamed as the body (<c>mocker load</c>); yields the message stream.</summary>
    public async IAsyncEnumerable<JsonMessage> LoadAsync(Stream tar, bool quiet = false,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var response = await _client.SendAsync(HttpMethod.Post, "/images/load", Q(("quiet", quiet ? "1" : "0")),
            RequestBody.Streamed((target, token) => tar.CopyToAsync(target, 1 << 16, token), "application/x-tar"), ct).ConfigureAwait(false);
        await foreach (var m in MockerClient.ReadJsonMessagesAsync(response, ct).ConfigureAwait(false)) yield return m;
    }

    /// <summary>"host:5000/a/b:1" → ("host:5000/a/b", "1"); "a@sha256:…" → ("a", "sha256:…"); no tag → null (as commit, pull and push send them).</summary>
    public static (string Name, string? Tag) SplitReference(string reference)
    {
        var at = reference.IndexOf('@');
        if (at >= 0) return (reference[..at], reference[(at + 1)..]);
        var colon = reference.LastIndexOf(':');
        return colon > reference.LastIndexOf('/') && colon >= 0 ? (reference[..colon], reference[(colon + 1)..]) : (reference, null);
    }

    /// <summary>The registry host of a reference as the docker CLI derives it: the first component when it has '.', ':' or is "localhost"; else Docker Hub.</summary>
    public static string RegistryHost(string reference)
    {
        var slash = reference.IndexOf('/');
        if (slash < 0) return "docker.io";
        var first = reference[..slash];
        return first.Contains('.') || first.Contains(':') || first == "localhost" ? first : "docker.io";
    }
}

public sealed partial class ContainerOperations
{
    /// <summary>
    /// <c>POST /commit?container=&amp;repo=&amp;tag=&amp;comment=&amp;author=&amp;changes=</c> (<c>mocker commit</c>, §1.13): the new image ID.
    /// </summary>
    /// <exception cref="MockerNotFoundException">No such container.</exception>
    public async Task<string> CommitAsync(string container, string? repository = null, string? tag = null, string? comment = null,
        string? author = null, IReadOnlyList<string>? changes = null, bool pause = true, CancellationToken ct = default)
    {
        var query = Q(("container", container), ("repo", repository ?? ""), ("tag", tag ?? ""), ("comment", comment ?? ""), ("author", author ?? ""), ("pause", pause ? "1" : "0"));
        foreach (var c in changes ?? []) query.Add(new("changes", c));
        var result = await _client.SendJsonAsync(HttpMethod.Post, "/commit", query, null, ApiJsonContext.Default.IdResponse, ct).ConfigureAwait(false);
        return result.Id;
    }

    /// <summary><c>GET /containers/{id}/export</c> (<c>mocker export</c>): copies the rootfs tar to <paramref name="output"/>.</summary>
    /// <exception cref="MockerNotFoundException">No such container.</exception>
    public async Task ExportAsync(string container, Stream output, CancellationToken ct = default)
    {
        using var response = await _client.SendAsync(HttpMethod.Get, $"/containers/{MockerClient.Segment(container)}/export", null, null, ct).ConfigureAwait(false);
        await response.Body.CopyToAsync(output, 1 << 16, ct).ConfigureAwait(false);
    }
}

public sealed partial class SystemOperations
{
    /// <summary><c>POST /auth</c> (<c>mocker login</c>): the daemon verifies the credential against the registry.</summary>
    /// <exception cref="MockerApiException">The registry refused the credential or could not be reached.</exception>
    public Task<AuthResult> AuthAsync(RegistryAuth auth, CancellationToken ct = default) =>
        _client.SendJsonAsync(HttpMethod.Post, "/auth", null, MockerClient.Json(auth, ClientDistributionJsonContext.Default.RegistryAuth),
            ClientDistributionJsonContext.Default.AuthResult, ct);
}

/// <summary>
/// The CLI's registry credentials: <c>~/.mocker/config.json</c> "auths" { "host": { "auth": base64("user:pass") } }
/// (docker/cli configfile layout). Writes are atomic (temp file, fsync, rename) with mode 0600; other keys are kept.
/// </summary>
public sealed class CredentialStore(string path)
{
    public string Path { get; } = path;

    /// <summary>The default store under $HOME.</summary>
    public static CredentialStore Default() =>
        new(System.IO.Path.Combine(Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".mocker", "config.json"));

    /// <summary>The stored credential for <paramref name="host"/>, or null.</summary>
    public RegistryAuth? Get(string host)
    {
        var root = Read();
        if (root["auths"] is not System.Text.Json.Nodes.JsonObject auths) return null;
        foreach (var key in Keys(host))
        {
            if (auths[key]?["auth"]?.GetValue<string>() is { Length: > 0 } b64)
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(b64));
                var colon = pair.IndexOf(':');
                if (colon > 0) return new RegistryAuth { Username = pair[..colon], Password = pair[(colon + 1)..], ServerAddress = host };
            }
        }
        return null;
    }

    public void Store(string host, string username, string password)
    {
        var root = Read();
        var auths = root["auths"] as System.Text.Json.Nodes.JsonObject ?? [];
        root["auths"] = auths;
        auths[host] = new System.Text.Json.Nodes.JsonObject { ["auth"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(username + ":" + password)) };
        Write(root);
    }

    /// <summary>Removes the credential; false when none was stored.</summary>
    public bool Remove(string host)
    {
        var root = Read();
        if (root["auths"] is not System.Text.Json.Nodes.JsonObject auths) return false;
        var removed = false;
        foreach (var key in Keys(host)) removed |= auths.Remove(key);
        if (removed) Write(root);
        return removed;
    }

    private static IEnumerable<string> Keys(string host) =>
        host == "docker.io" ? ["https://index.docker.io/v1/", "docker.io", "index.docker.io"] : [host, "https://" + host, "http://" + host];

    private System.Text.Json.Nodes.JsonObject Read()
    {
        if (!File.Exists(Path)) return [];
        return System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path)) as System.Text.Json.Nodes.JsonObject ?? [];
    }

    private void Write(System.Text.Json.Nodes.JsonObject root)
    {
        var dir = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(dir);
        var tmp = Path + ".tmp-" + Environment.ProcessId;
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
        using (var fs = new FileStream(tmp, options))
        {
            fs.Write(Encoding.UTF8.GetBytes(root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, TypeInfoResolver = ClientDistributionJsonContext.Default })));
            fs.Flush(flushToDisk: true);
        }
        File.Move(tmp, Path, overwrite: true);
    }
}

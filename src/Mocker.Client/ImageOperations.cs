using System.Security.Cryptography;
using System.Text.Json;
using Mocker.Api;
using static Mocker.Client.ContainerOperations;

namespace Mocker.Client;

/// <summary>Parameters of <c>POST /build?version=1</c> (<c>mocker build</c>, engine-api-trace.md §1.10).</summary>
public sealed record BuildOptions
{
    /// <summary><c>-t</c>, repeatable: "name:tag".</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary><c>-f</c>: path of the Dockerfile; relative paths are taken relative to the current directory as docker does,
    /// null = "Dockerfile" in the context (Mockerfile is chosen by the daemon when only that exists).</summary>
    public string? Dockerfile { get; init; }
    public IReadOnlyDictionary<string, string>? BuildArgs { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public bool NoCache { get; init; }
    /// <summary><c>-q</c>: the stream carries only the image ID.</summary>
    public bool Quiet { get; init; }
    public bool Pull { get; init; }
    public string? Target { get; init; }
}

/// <summary>Image endpoints (<c>/images/…</c>, <c>/build</c>).</summary>
public sealed partial class ImageOperations
{
    private readonly MockerClient _client;

    internal ImageOperations(MockerClient client) => _client = client;

    /// <summary><c>GET /images/json?all=&amp;filters=</c> (<c>mocker images</c>).</summary>
    public Task<List<ImageSummary>> ListAsync(bool all = false, IReadOnlyDictionary<string, IReadOnlyList<string>>? filters = null, CancellationToken ct = default) =>
        _client.SendJsonAsync(HttpMethod.Get, "/images/json", Q(("all", all ? "1" : null), ("filters", MockerClient.EncodeFilters(filters))), null,
            ApiJsonContext.Default.ListImageSummary, ct);

    /// <summary><c>GET /images/{name}/json</c> (<c>mocker image inspect</c>).</summary>
    /// <exception cref="MockerNotFoundException">No such image.</exception>
    public Task<ImageInspectResponse> InspectAsync(string name, CancellationToken ct = default) =>
        _client.SendJsonAsync(HttpMethod.Get, $"/images/{MockerClient.Segment(name)}/json", null, null, ApiJsonContext.Default.ImageInspectResponse, ct);

    /// <summary><c>GET /images/{name}/json</c> as sent by the daemon (for <c>inspect</c> output and templates).</summary>
    public Task<JsonElement> InspectRawAsync(string name, CancellationToken ct = default) =>
        _client.SendJsonAsync(HttpMethod.Get, $"/images/{MockerClient.Segment(name)}/json", null, null, ApiJsonContext.Default.JsonElement, ct);

    /// <summary><c>POST /images/{name}/tag?repo=&amp;tag=</c> (<c>mocker tag</c>).</summary>
    /// <exception cref="MockerNotFoundException">No such source image.</exception>
    public Task TagAsync(string name, string repository, string? tag = null, CancellationToken ct = default) =>
        _client.SendNoContentAsync(HttpMethod.Post, $"/images/{MockerClient.Segment(name)}/tag", Q(("repo", repository), ("tag", string.IsNullOrEmpty(tag) ? null : tag)), ct);

    /// <summary><c>DELETE /images/{name}?force=&amp;noprune=</c> (<c>mocker rmi</c>): the untagged references and deleted IDs.</summary>
    /// <exception cref="MockerNotFoundException">No such image.</exception>
    /// <exception cref="MockerApiException">409 when a container uses it and it is not forced.</exception>
    public Task<List<ImageDeleteResponseItem>> RemoveAsync(string name, bool force = false, bool noPrune = false, CancellationToken ct = default) =>
        _client.SendJsonAsync(HttpMethod.Delete, $"/images/{MockerClient.Segment(name)}", Q(("force", force ? "1" : null), ("noprune", noPrune ? "1" : null)), null,
            ApiJsonContext.Default.ListImageDeleteResponseItem, ct);

    /// <summary><c>GET /images/{name}/history</c> (<c>mocker history</c>), newest layer first.</summary>
    public Task<List<ImageHistoryItem>> HistoryAsync(string name, CancellationToken ct = default) =>
        _client.SendJsonAsync(HttpMethod.Get, $"/images/{MockerClient.Segment(name)}/history", null, null, ApiJsonContext.Default.ListImageHistoryItem, ct);

    /// <summary><c>POST /images/prune?filters=</c> (<c>mocker image prune</c>; <c>-a</c> sends <c>dangling=false</c>).</summary>
    public Task<ImagePruneResponse> PruneAsync(IReadOnlyDictionary<string, IReadOnlyList<string>>? filters = null, CancellationToken ct = default) =>
        _client.SendJsonAsync(HttpMethod.Post, "/images/prune", Q(("filters", MockerClient.EncodeFilters(filters))), null, ApiJsonContext.Default.ImagePruneResponse, ct);

    /// <summary>
    /// <c>POST /images/create?fromSrc=-&amp;repo=&lt;repo:tag&gt;&amp;changes=…&amp;message=</c> with the tar streamed as the body
    /// (<c>mocker import</c>, §1.12): the tag travels inside <c>repo</c>. Yields the JSON message stream
    /// (<c>{"status":"sha256:…"}</c>).
    /// </summary>
    public async IAsyncEnumerable<JsonMessage> ImportAsync(Stream tar, string? repositoryTag = null, IReadOnlyList<string>? changes = null,
        string? message = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var query = Q(("fromSrc", "-"), ("message", string.IsNullOrEmpty(message) ? null : message), ("repo", string.IsNullOrEmpty(repositoryTag) ? null : repositoryTag));
        foreach (var change in changes ?? []) query.Add(new("changes", change));
        var response = await _client.SendAsync(HttpMethod.Post, "/images/create", query, RequestBody.Streamed((target, token) => tar.CopyToAsync(target, 81920, token), "text/plain"), ct).ConfigureAwait(false);
        await foreach (var m in MockerClient.ReadJsonMessagesAsync(response, ct).ConfigureAwait(false)) yield return m;
    }

    /// <summary>
    /// <c>POST /build?version=1&amp;t=&amp;dockerfile=&amp;buildargs=&amp;labels=&amp;nocache=&amp;q=&amp;pull=&amp;target=</c>
    /// (<c>mocker build</c>): streams a tar of <paramref name="contextDir"/> (filtered by .mockerignore/.dockerignore) as it is
    /// produced and yields the JSON message stream. Build failures after the stream began arrive as a message with
    /// <c>errorDetail</c>, not as an exception.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The context directory does not exist.</exception>
    public async IAsyncEnumerable<JsonMessage> BuildAsync(string contextDir, BuildOptions? options = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        options ??= new BuildOptions();
        var root = Path.GetFullPath(contextDir);
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"unable to prepare context: path \"{contextDir}\" not found");
        var (dockerfileEntry, extra) = ResolveDockerfile(root, options.Dockerfile);

        var query = Q(("version", "1"), ("dockerfile", dockerfileEntry), ("q", options.Quiet ? "1" : null), ("nocache", options.NoCache ? "1" : null),
            ("pull", options.Pull ? "1" : null), ("target", string.IsNullOrEmpty(options.Target) ? null : options.Target));
        foreach (var t in options.Tags) query.Add(new("t", t));
        if (options.BuildArgs is { Count: > 0 } args)
            query.Add(new("buildargs", JsonSerializer.Serialize(args.ToDictionary(), ApiJsonContext.Default.DictionaryStringString)));
        if (options.Labels is { Count: > 0 } labels)
            query.Add(new("labels", JsonSerializer.Serialize(labels.ToDictionary(), ApiJsonContext.Default.DictionaryStringString)));

        var context = new BuildContext(root, dockerfileEntry, extra);
        var content = RequestBody.Streamed(context.WriteTarAsync, "application/x-tar");
        content.Headers.Add(new("X-Registry-Config", "e30="));
        var response = await _client.SendAsync(HttpMethod.Post, "/build", query, content, ct).ConfigureAwait(false);
        await foreach (var m in MockerClient.ReadJsonMessagesAsync(response, ct).ConfigureAwait(false)) yield return m;
    }

    /// <summary>
    /// <c>POST /images/bootstrap?name=&amp;tag=</c>, a Mocker extension that makes a base image (e.g. busybox) from host
    /// binaries; yields its JSON message stream.
    /// </summary>
    public async IAsyncEnumerable<JsonMessage> BootstrapAsync(string name, string? tag = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var response = await _client.SendAsync(HttpMethod.Post, "/images/bootstrap", Q(("name", name), ("tag", string.IsNullOrEmpty(tag) ? null : tag)), null, ct).ConfigureAwait(false);
        await foreach (var m in MockerClient.ReadJsonMessagesAsync(response, ct).ConfigureAwait(false)) yield return m;
    }

    /// <summary>
    /// Where the Dockerfile is inside the sent context: the path relative to the context when it lies inside, otherwise a
    /// random <c>.dockerfile.&lt;hex&gt;</c> entry added to the tar (as the docker CLI does).
    /// </summary>
    internal static (string Entry, (string, string)? Extra) ResolveDockerfile(string root, string? dockerfile)
    {
        if (string.IsNullOrEmpty(dockerfile)) return ("Dockerfile", null);
        var full = Path.GetFullPath(dockerfile);
        var rel = Path.GetRelativePath(root, full);
        if (!rel.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(rel))
            return (rel.Replace(Path.DirectorySeparatorChar, '/'), null);
        if (!File.Exists(full)) throw new FileNotFoundException($"unable to prepare context: the Dockerfile \"{dockerfile}\" does not exist", full);
        var entry = ".dockerfile." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(10));
        return (entry, (entry, full));
    }
}

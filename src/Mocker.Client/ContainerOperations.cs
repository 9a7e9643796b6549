using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Mocker.Api;

namespace Mocker.Client;

/// <summary>Options of <c>GET /containers/json</c> (<c>mocker ps</c>).</summary>
public sealed record ContainerListOptions
{
    /// <summary><c>ps -a</c>: include stopped containers.</summary>
    public bool All { get; init; }
    /// <summary><c>ps -n</c>: the N most recently created (implies all); null = no limit.</summary>
    public int? Limit { get; init; }
    /// <summary><c>ps -s</c>: fill SizeRw/SizeRootFs.</summary>
    public bool Size { get; init; }
    /// <summary><c>--filter key=value</c>, e.g. {"status": ["running"], "label": ["a=b"]}.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Filters { get; init; }
}

/// <summary>Options of <c>GET /containers/{id}/logs</c> (<c>mocker logs</c>).</summary>
public sealed record ContainerLogsOptions
{
    public bool Stdout { get; init; } = true;
    public bool Stderr { get; init; } = true;
    /// <summary><c>-f</c>: keep streaming until the container stops or the caller cancels.</summary>
    public bool Follow { get; init; }
    /// <summary><c>-t</c>: prefix each line with its RFC 3339 nano timestamp.</summary>
    public bool Timestamps { get; init; }
    /// <summary><c>--tail</c>: "all" or a number of lines.</summary>
    public string Tail { get; init; } = "all";
    /// <summary>Unix seconds (optionally with a fractional part), as produced by the CLI's time parsing.</summary>
    public string? Since { get; init; }
    public string? Until { get; init; }
}

/// <summary>Which streams to attach to (<c>POST /containers/{id}/attach</c>).</summary>
public sealed record ContainerAttachOptions
{
    public bool Stdin { get; init; }
    public bool Stdout { get; init; } = true;
    public bool Stderr { get; init; } = true;
    /// <summary>Replay the container's earlier output first.</summary>
    public bool Logs { get; init; }
    public string? DetachKeys { get; init; }
}

/// <summary>Container endpoints (<c>/containers/…</c>), in the order <c>mocker run</c> uses them.</summary>
public sealed partial class ContainerOperations
{
    private readonly MockerClient _client;

    internal ContainerOperations(MockerClient client) => _client = client;

    /// <summary><c>POST /containers/create?name=</c> (<c>mocker create</c>, first step of <c>mocker run</c>).</summary>
    /// <exception cref="MockerNotFoundException">The image does not exist.</exception>
    /// <exception cref="MockerApiException">409 when the name is in use; 400 for an invalid configuration.</exception>
    public Task<ContainerCreateResponse> CreateAsync(ContainerCreateRequest request, string? name = null, CancellationToken ct = default) =>
        _client.SendJsonAsync(HttpMethod.Post, "/containers/create", Q(("name", string.IsNullOrEmpty(name) ? null : name)),
            MockerClient.Json(request, ApiJsonContext.Default.ContainerCreateRequest), ApiJsonContext.Default.ContainerCreateResponse, ct);

    /// <summary><c>POST /containers/{id}/start</c> (<c>mocker start</c>). Returns false when it was already running (304).</summary>
    /// <exception cref="MockerApiException">400 when the process cannot be started (e.g. executable not found).</exception>
    public Task<bool> StartAsync(string id, CancellationToken ct = default) =>
        _client.SendNoContentAsync(HttpMethod.Post, $"/containers/{MockerClient.Segment(id)}/start", null, ct, allowNotModified: true);

    /// <summary><c>POST /containers/{id}/stop?t=</c> (<c>mocker stop -t</c>). Returns false when it was already stopped (304).</summary>
    public Task<bool> StopAsync(string id, int? timeoutSeconds = null, CancellationToken ct = default) =>
        _client.SendNoContentAsync(HttpMethod.Post, $"/containers/{MockerClient.Segment(id)}/stop", Q(("t", Num(timeoutSeconds))), ct, allowNotModified: true);

    /// <summary><c>POST /containers/{id}/restart?t=</c> (<c>mocker restart</c>).</summary>
    public Task RestartAsync(string id, int? timeoutSeconds = null, CancellationToken ct = default) =>
        _client.SendNoContentAsync(HttpMethod.Post, $"/containers/{MockerClient.Segment(id)}/restart", Q(("t", Num(timeoutSeconds))), ct);

    /// <summary><c>POST /containers/{id}/kill?signal=</c> (<c>mocker kill -s</c>).</summary>
    /// <exception cref="MockerApiException">409 when the container is not running.</exception>
    public Task KillAsync(string id, string? signal = null, CancellationToken ct = default) =>
        _client.SendNoContentAsync(HttpMethod.Post, $"/containers/{MockerClient.Segment(id)}/kill", Q(("signal", string.IsNullOrEmpty(signal) ? null : signal)), ct);

    /// <summary><c>DELETE /containers/{id}?force=&amp;v=</c> (<c>mocker rm -f -v</c>).</summary>
    /// <exception cref="MockerApiException">409 when running and not forced.</exception>
    public Task RemoveAsync(string id, bool force = false, bool removeVolumes = false, CancellationToken ct = default) =>
        _client.SendNoContentAsync(HttpMethod.Delete, $"/containers/{MockerClient.Segment(id)}", Q(("force", force ? "1" : null), ("v", removeVolumes ? "1" : null)), ct);

    /// <summary>
    /// <c>POST /containers/{id}/wait?condition=</c>, split in two: the returned task completes once the daemon flushed the
    /// response headers (the wait is registered), its inner task when the container reached the condition. <c>mocker run</c>
    /// starts the container only after the outer task completed (engine-api-trace.md §1.2).
    /// </summary>
    /// <param name="condition">"not-running" (default), "next-exit" or "removed".</param>
    public async Task<Task<ContainerWaitResponse>> BeginWaitAsync(string id, string? condition = null, CancellationToken ct = default)
    {
        var response = await _client.SendAsync(HttpMethod.Post, $"/containers/{MockerClient.Segment(id)}/wait",
            Q(("condition", string.IsNullOrEmpty(condition) ? null : condition)), null, ct).ConfigureAwait(false);
        return ReadWaitAsync(response, ct);
    }

    /// <summary><c>POST /containers/{id}/wait</c> (<c>mocker wait</c>): blocks until the condition holds.</summary>
    public async Task<ContainerWaitResponse> WaitAsync(string id, string? condition = null, CancellationToken ct = default) =>
        await (await BeginWaitAsync(id, condition, ct).ConfigureAwait(false)).ConfigureAwait(false);

    private static async Task<ContainerWaitResponse> ReadWaitAsync(HttpResponse response, CancellationToken ct)
    {
        using (response)
        {
            return await JsonSerializer.DeserializeAsync(response.Body, ApiJsonContext.Default.ContainerWaitResponse, ct).ConfigureAwait(false)
                ?? throw new InvalidDataException("empty wait response");
        }
    }

    /// <summary><c>GET /containers/json</c> (<c>mocker ps</c>).</summary>
    public Task<List<ContainerSummary>> ListAsync(ContainerListOptions? options = null, CancellationToken ct = default)
    {
        options ??= new ContainerListOptions();
        return _client.SendJsonAsync(HttpMethod.Get, "/containers/json",
            Q(("all", options.All ? "1" : null), ("limit", Num(options.Limit)), ("size", options.Size ? "1" : null),
              ("filters", MockerClient.EncodeFilters(options.Filters))),
            null, ApiJsonContext.Default.ListContainerSummary, ct);
    }

    /// <summary><c>GET /containers/{id}/json</c> (<c>mocker inspect</c>).</summary>
    /// <exception cref="MockerNotFoundException">No such container.</exception>
    public Task<ContainerInspectResponse> InspectAsync(string id, bool size = false, CancellationToken ct = default) =>
        _client.SendJsonAsync(HttpMethod.Get, $"/containers/{MockerClient.Segment(id)}/json", Q(("size", size ? "1" : null)), null,
            ApiJsonContext.Default.ContainerInspectResponse, ct);

    /// <summary><c>GET /containers/{id}/json</c> as the daemon sent it (every field kept), for <c>inspect</c> output and templates.</summary>
    public Task<JsonElement> InspectRawAsync(string id, bool size = false, CancellationToken ct = default) =>
        _client.SendJsonAsync(HttpMethod.Get, $"/containers/{MockerClient.Segment(id)}/json", Q(("size", size ? "1" : null)), null,
            ApiJsonContext.Default.JsonElement, ct);

    /// <summary>
    /// <c>GET /containers/{id}/logs</c> (<c>mocker logs</c>): the output, demultiplexed from stdcopy frames, or raw when the
    /// container has a TTY. <paramref name="tty"/> null = inspect the container first, as the CLI does (§1.6).
    /// </summary>
    public async IAsyncEnumerable<OutputChunk> LogsAsync(string id, ContainerLogsOptions? options = null, bool? tty = null,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        options ??= new ContainerLogsOptions();
        var isTty = tty ?? (await InspectAsync(id, ct: ct).ConfigureAwait(false)).Config.Tty;
        using var response = await _client.SendAsync(HttpMethod.Get, $"/containers/{MockerClient.Segment(id)}/logs",
            Q(("follow", options.Follow ? "1" : null), ("since", options.Since), ("stderr", options.Stderr ? "1" : null),
              ("stdout", options.Stdout ? "1" : null), ("tail", options.Tail), ("timestamps", options.Timestamps ? "1" : null),
              ("until", options.Until)),
            null, ct).ConfigureAwait(false);
        await foreach (var chunk in StdCopy.ReadAsync(response.Body, isTty, ct).ConfigureAwait(false))
            yield return chunk;
    }

    /// <summary>
    /// <c>POST /containers/{id}/attach?stream=1&amp;stdin=&amp;stdout=&amp;stderr=</c> with <c>Upgrade: tcp</c>
    /// (<c>mocker attach</c>, <c>run</c>, <c>start -a</c>). Stdin written before start is buffered by the daemon.
    /// </summary>
    public Task<HijackedStream> AttachAsync(string id, ContainerAttachOptions? options = null, CancellationToken ct = default)
    {
        options ??= new ContainerAttachOptions();
        return _client.HijackAsync($"/containers/{MockerClient.Segment(id)}/attach",
            Q(("detachKeys", options.DetachKeys), ("logs", options.Logs ? "1" : null), ("stderr", options.Stderr ? "1" : null),
              ("stdin", options.Stdin ? "1" : null), ("stdout", options.Stdout ? "1" : null), ("stream", "1")),
            "text/plain", [], ct);
    }

    /// <summary><c>POST /containers/{id}/resize?h=&amp;w=</c>: the TTY size in character cells.</summary>
    public Task ResizeAsync(string id, int height, int width, CancellationToken ct = default) =>
        _client.SendNoContentAsync(HttpMethod.Post, $"/containers/{MockerClient.Segment(id)}/resize", Q(("h", Num(height)), ("w", Num(width))), ct);

    /// <summary><c>POST /containers/{id}/rename?name=</c> (<c>mocker rename</c>).</summary>
    /// <exception cref="MockerApiException">409 when the new name is taken.</exception>
    public Task RenameAsync(string id, string newName, CancellationToken ct = default) =>
        _client.SendNoContentAsync(HttpMethod.Post, $"/containers/{MockerClient.Segment(id)}/rename", Q(("name", newName)), ct);

    /// <summary><c>POST /containers/{id}/pause</c> (<c>mocker pause</c>).</summary>
    public Task PauseAsync(string id, CancellationToken ct = default) =>
        _client.SendNoContentAsync(HttpMethod.Post, $"/containers/{MockerClient.Segment(id)}/pause", null, ct);

    /// <summary><c>POST /containers/{id}/unpause</c> (<c>mocker unpause</c>).</summary>
    public Task UnpauseAsync(string id, CancellationToken ct = default) =>
        _client.SendNoContentAsync(HttpMethod.Post, $"/containers/{MockerClient.Segment(id)}/unpause", null, ct);

    /// <summary><c>GET /containers/{id}/top?ps_args=</c> (<c>mocker top</c>).</summary>
    public Task<ContainerTopResponse> TopAsync(string id, string? psArgs = null, CancellationToken ct = default) =>
        _client.SendJsonAsync(HttpMethod.Get, $"/containers/{MockerClient.Segment(id)}/top", Q(("ps_args", string.IsNullOrEmpty(psArgs) ? null : psArgs)), null,
            ApiJsonContext.Default.ContainerTopResponse, ct);

    /// <summary><c>POST /containers/prune?filters=</c> (<c>mocker container prune</c>).</summary>
    public Task<ContainerPruneResponse> PruneAsync(IReadOnlyDictionary<string, IReadOnlyList<string>>? filters = null, CancellationToken ct = default) =>
        _client.SendJsonAsync(HttpMethod.Post, "/containers/prune", Q(("filters", MockerClient.EncodeFilters(filters))), null,
            ApiJsonContext.Default.ContainerPruneResponse, ct);

    internal static List<KeyValuePair<string, string?>> Q(params (string Key, string? Value)[] items) =>
        items.Select(i => new KeyValuePair<string, string?>(i.Key, i.Value)).ToList();

    internal static string? Num(int? n) => n?.ToString(CultureInfo.InvariantCulture);
}

using Mocker.Api;
using static Mocker.Client.ContainerOperations;

namespace Mocker.Client;

/// <summary>Exec endpoints (<c>mocker exec</c>, engine-api-trace.md §1.7).</summary>
public sealed class ExecOperations
{
    private readonly MockerClient _client;

    internal ExecOperations(MockerClient client) => _client = client;

    /// <summary><c>POST /containers/{id}/exec</c>: returns the exec ID.</summary>
    /// <exception cref="MockerNotFoundException">No such container.</exception>
    /// <exception cref="MockerApiException">409 when the container is not running.</exception>
    public async Task<string> CreateAsync(string containerId, ExecConfig config, CancellationToken ct = default) =>
        (await _client.SendJsonAsync(HttpMethod.Post, $"/containers/{MockerClient.Segment(containerId)}/exec", null,
            MockerClient.Json(config, ApiJsonContext.Default.ExecConfig), ApiJsonContext.Default.IdResponse, ct).ConfigureAwait(false)).Id;

    /// <summary>
    /// <c>POST /exec/{id}/start</c> with <c>Upgrade: tcp</c> and body <c>{"Detach":false,"Tty":…}</c>: a hijacked stream
    /// (stdin in, output out; stdcopy-framed unless <paramref name="tty"/>). Errors after the upgrade arrive as text in the stream.
    /// </summary>
    /// <exception cref="MockerNotFoundException">No such exec.</exception>
    public Task<HijackedStream> StartAsync(string execId, bool tty, CancellationToken ct = default) =>
        _client.HijackAsync($"/exec/{MockerClient.Segment(execId)}/start", null, "application/json",
            tty ? """{"Detach":false,"Tty":true}"""u8.ToArray() : """{"Detach":false,"Tty":false}"""u8.ToArray(), ct);

    /// <summary><c>POST /exec/{id}/start</c> with <c>{"Detach":true}</c> and no upgrade (<c>mocker exec -d</c>).</summary>
    public Task StartDetachedAsync(string execId, bool tty = false, CancellationToken ct = default) =>
        _client.SendNoContentAsync(HttpMethod.Post, $"/exec/{MockerClient.Segment(execId)}/start", null, ct,
            content: MockerClient.Json(new ExecStartConfig { Detach = true, Tty = tty }, ApiJsonContext.Default.ExecStartConfig));

    /// <summary><c>GET /exec/{id}/json</c>: <c>ExitCode</c> once it ended (126 for exec failures).</summary>
    public Task<ExecInspectResponse> InspectAsync(string execId, CancellationToken ct = default) =>
        _client.SendJsonAsync(HttpMethod.Get, $"/exec/{MockerClient.Segment(execId)}/json", null, null, ApiJsonContext.Default.ExecInspectResponse, ct);

    /// <summary><c>POST /exec/{id}/resize?h=&amp;w=</c>.</summary>
    public Task ResizeAsync(string execId, int height, int width, CancellationToken ct = default) =>
        _client.SendNoContentAsync(HttpMethod.Post, $"/exec/{MockerClient.Segment(execId)}/resize", Q(("h", Num(height)), ("w", Num(width))), ct);
}

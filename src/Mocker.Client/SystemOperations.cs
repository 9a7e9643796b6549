using Mocker.Api;

namespace Mocker.Client;

/// <summary>System endpoints (<c>mocker version</c>, <c>info</c>).</summary>
public sealed partial class SystemOperations
{
    private readonly MockerClient _client;

    internal SystemOperations(MockerClient client) => _client = client;

    /// <summary><c>HEAD /_ping</c> (GET as fallback): the daemon's API version and OS type from the headers.</summary>
    public Task<PingResponse> PingAsync(CancellationToken ct = default) => _client.PingCoreAsync(ct);

    /// <summary><c>GET /version</c> (<c>mocker version</c>).</summary>
    public Task<VersionResponse> VersionAsync(CancellationToken ct = default) =>
        _client.SendJsonAsync(HttpMethod.Get, "/version", null, null, ApiJsonContext.Default.VersionResponse, ct);

    /// <summary><c>GET /info</c> (<c>mocker info</c>).</summary>
    public Task<SystemInfo> InfoAsync(CancellationToken ct = default) =>
        _client.SendJsonAsync(HttpMethod.Get, "/info", null, null, ApiJsonContext.Default.SystemInfo, ct);
}

using System.Text.Json;

namespace Mocker.Client;

/// <summary>
/// A container path's stat from <c>X-Docker-Container-Path-Stat</c>: <paramref name="Mode"/> is a Go <c>os.FileMode</c>
/// (dir 1&lt;&lt;31, symlink 1&lt;&lt;27, low 9 bits the permissions); <paramref name="Mtime"/> RFC 3339.
/// </summary>
public sealed record ContainerPathStat(string Name, long Size, uint Mode, string Mtime, string LinkTarget)
{
    public bool IsDir => (Mode & (1u << 31)) != 0;
    public bool IsSymlink => (Mode & (1u << 27)) != 0;

    internal static ContainerPathStat? Decode(string? header)
    {
        if (string.IsNullOrEmpty(header)) return null;
        using var doc = JsonDocument.Parse(Convert.FromBase64String(header));
        var r = doc.RootElement;
        return new ContainerPathStat(r.GetProperty("name").GetString() ?? "", r.GetProperty("size").GetInt64(), r.GetProperty("mode").GetUInt32(),
            r.GetProperty("mtime").GetString() ?? "", r.TryGetProperty("linkTarget", out var l) ? l.GetString() ?? "" : "");
    }
}

/// <summary>One <c>docker diff</c> line: Kind 0 changed (C), 1 added (A), 2 deleted (D).</summary>
public sealed record ContainerChange(string Path, int Kind);

/// <summary>A tar of a container path being read (<c>GET /containers/{id}/archive</c>); dispose to close the response.</summary>
public sealed class ContainerArchiveDownload : IDisposable
{
    private readonly HttpResponse _response;

    internal ContainerArchiveDownload(HttpResponse response, ContainerPathStat stat)
    {
        _response = response;
        Stat = stat;
    }

    public ContainerPathStat Stat { get; }
    public Stream Tar => _response.Body;
    public void Dispose() => _response.Dispose();
}

public sealed partial class ContainerOperations
{
    private const string PathStatHeader = "X-Docker-Container-Path-Stat";

    /// <summary><c>HEAD /containers/{id}/archive?path=</c>: the path's stat, or null when it does not exist (404).</summary>
    /// <exception cref="MockerApiException">Any other failure, e.g. no such container.</exception>
    public async Task<ContainerPathStat?> StatPathAsync(string container, string path, CancellationToken ct = default)
    {
        try
        {
            using var response = await _client.SendAsync(HttpMethod.Head, Archive(container), Q(("path", path)), null, ct).ConfigureAwait(false);
            return ContainerPathStat.Decode(response.Header(PathStatHeader));
        }
        catch (MockerNotFoundException)
        {
            // HEAD carries no body, so "no such container" and "no such file" look alike: a GET tells them apart.
            await InspectAsync(container, ct: ct).ConfigureAwait(false);
            return null;
        }
    }

    /// <summary><c>GET /containers/{id}/archive?path=</c>: a tar rooted at the path's base name, with the path's stat.</summary>
    /// <exception cref="MockerNotFoundException">"Could not find the file P in container C", or no such container.</exception>
    public async Task<ContainerArchiveDownload> GetArchiveAsync(string container, string path, CancellationToken ct = default)
    {
        var response = await _client.SendAsync(HttpMethod.Get, Archive(container), Q(("path", path)), null, ct).ConfigureAwait(false);
        var stat = ContainerPathStat.Decode(response.Header(PathStatHeader)) ?? new ContainerPathStat(Path.GetFileName(path), 0, 0, "", "");
        return new ContainerArchiveDownload(response, stat);
    }

    /// <summary>
    /// <c>PUT /containers/{id}/archive?path=&amp;noOverwriteDirNonDir=&amp;copyUIDGID=</c>: extracts <paramref name="tar"/>
    /// (streamed, chunked) into the existing directory <paramref name="path"/>.
    /// </summary>
    /// <exception cref="MockerNotFoundException">The directory or the container does not exist.</exception>
    public Task PutArchiveAsync(string container, string path, Stream tar, bool noOverwriteDirNonDir = true, bool copyUidGid = false, CancellationToken ct = default) =>
        PutArchiveAsync(container, path, (s, c) => tar.CopyToAsync(s, 1 << 16, c), noOverwriteDirNonDir, copyUidGid, ct);

    /// <summary>As the stream overload, with the tar written by <paramref name="writeTar"/> straight into the request body.</summary>
    public Task PutArchiveAsync(string container, string path, Func<Stream, CancellationToken, Task> writeTar, bool noOverwriteDirNonDir = true, bool copyUidGid = false, CancellationToken ct = default) =>
        _client.SendNoContentAsync(HttpMethod.Put, Archive(container),
            Q(("path", path), ("noOverwriteDirNonDir", noOverwriteDirNonDir ? "true" : null), ("copyUIDGID", copyUidGid ? "true" : null)), ct,
            content: RequestBody.Streamed(writeTar, "application/x-tar"));

    /// <summary><c>GET /containers/{id}/changes</c> (<c>mocker diff</c>).</summary>
    public async Task<List<ContainerChange>> ChangesAsync(string container, CancellationToken ct = default)
    {
        using var response = await _client.SendAsync(HttpMethod.Get, $"/containers/{MockerClient.Segment(container)}/changes", null, null, ct).ConfigureAwait(false);
        using var doc = await JsonDocument.ParseAsync(response.Body, cancellationToken: ct).ConfigureAwait(false);
        var list = new List<ContainerChange>();
        if (doc.RootElement.ValueKind == JsonValueKind.Array)
        {
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                list.Add(new ContainerChange(e.GetProperty("Path").GetString() ?? "", e.GetProperty("Kind").GetInt32()));
            }
        }
        return list;
    }

    private static string Archive(string container) => $"/containers/{MockerClient.Segment(container)}/archive";
}

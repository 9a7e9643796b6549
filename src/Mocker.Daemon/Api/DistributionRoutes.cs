using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Mocker.Api;
using Mocker.Engine.Containers;
using Mocker.Engine.Distribution;
using Mocker.Engine.Errors;

namespace Mocker.Daemon.Api;

/// <summary>
/// Registry, archive and container-image endpoints (engine-api-trace.md §1.11–§1.13, §1.17): pull and push
/// (through <see cref="ImageRoutes"/>, which owns the <c>/images/…</c> dispatch), save, load, commit, export and login.
/// </summary>
internal sealed class DistributionRoutes(EngineHolder holder)
{
    public const string RegistryAuthHeader = "X-Registry-Auth";

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/images/get", Save);
        app.MapPost("/images/load", Load);
        app.MapPost("/commit", Commit);
        app.MapGet("/containers/{id}/export", Export);
        app.MapPost("/auth", Auth);
    }

    /// <summary>
    /// <c>POST /images/create?fromImage=&amp;tag=&amp;platform=</c>: a digest travels in <c>tag</c> ("sha256:…"). Failures
    /// before the first message (unknown manifest 404, unreachable registry 500) are HTTP errors; later ones in-stream.
    /// </summary>
    public async Task PullAsync(HttpContext ctx, string fromImage)
    {
        var r = ctx.Request;
        var tag = Query.String(r, "tag");
        var reference = tag is null ? fromImage : tag.Contains(':') ? $"{fromImage}@{tag}" : $"{fromImage}:{tag}";
        var credential = Engine.Distribution.RegistryAuthHeader.Decode(r.Headers[RegistryAuthHeader].ToString());
        var distribution = holder.Engine.Distribution;
        await JsonMessageStream.RunAsync(ctx, async progress =>
        {
            await distribution.PullAsync(reference, Query.String(r, "platform"), credential, progress, ctx.RequestAborted).ConfigureAwait(false);
            return null;
        }).ConfigureAwait(false);
    }

    /// <summary><c>POST /images/{name}/push?tag=</c>: no tag pushes every tag of the repository.</summary>
    public async Task PushAsync(HttpContext ctx, string name)
    {
        var r = ctx.Request;
        var tag = Query.String(r, "tag");
        var reference = tag is null ? name : $"{name}:{tag}";
        var credential = Engine.Distribution.RegistryAuthHeader.Decode(r.Headers[RegistryAuthHeader].ToString());
        var distribution = holder.Engine.Distribution;
        await JsonMessageStream.RunAsync(ctx, async progress =>
        {
            await distribution.PushAsync(reference, credential, progress, ctx.RequestAborted).ConfigureAwait(false);
            return null;
        }).ConfigureAwait(false);
    }

    /// <summary><c>GET /images/get?names=a&amp;names=b</c> and <c>GET /images/{name}/get</c>: 200 application/x-tar in docker save's layout.</summary>
    public async Task SaveAsync(HttpContext ctx, IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            throw MockerException.InvalidArgument("no images specified");
        }
        ctx.Response.StatusCode = StatusCodes.Status200OK;
        ctx.Response.ContentType = "application/x-tar";
        await holder.Engine.Archives.SaveAsync(names, ctx.Response.Body, ctx.RequestAborted).ConfigureAwait(false);
    }

    private Task Save(HttpContext ctx) =>
        SaveAsync(ctx, ctx.Request.Query.TryGetValue("names", out var names) ? [.. names.Where(n => !string.IsNullOrEmpty(n)).Select(n => n!)] : []);

    /// <summary><c>POST /images/load?quiet=</c>: the tar streamed from the body; JSON messages ending with {"stream":"Loaded image: …\n"}.</summary>
    private async Task Load(HttpContext ctx)
    {
        var quiet = Query.Bool(ctx.Request, "quiet");
        var archives = holder.Engine.Archives;
        await JsonMessageStream.RunAsync(ctx, async progress =>
        {
            await archives.LoadAsync(ctx.Request.Body, quiet, progress, ctx.RequestAborted).ConfigureAwait(false);
            return null;
        }).ConfigureAwait(false);
    }

    /// <summary><c>POST /commit?container=&amp;repo=&amp;tag=&amp;comment=&amp;author=&amp;changes=&amp;pause=</c> → 201 {"Id":"sha256:…"}.</summary>
    private async Task Commit(HttpContext ctx)
    {
        var r = ctx.Request;
        var container = Query.String(r, "container") ?? throw MockerException.NoSuchContainer("");
        var options = new CommitOptions(
            Query.String(r, "repo"),
            Query.String(r, "tag"),
            Query.String(r, "comment"),
            Query.String(r, "author"),
            r.Query.TryGetValue("changes", out var changes) ? [.. changes.Where(c => !string.IsNullOrEmpty(c)).Select(c => c!)] : [],
            Query.Bool(r, "pause", absent: true));
        var id = await holder.Engine.ContainerImages.CommitAsync(container, options, ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Json(ctx, new IdResponse { Id = id }, ApiJsonContext.Default.IdResponse, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    /// <summary><c>GET /containers/{id}/export</c>: 200 application/octet-stream, a tar of the merged root filesystem.</summary>
    private async Task Export(HttpContext ctx)
    {
        var id = (string)ctx.Request.RouteValues["id"]!;
        ctx.Response.StatusCode = StatusCodes.Status200OK;
        ctx.Response.ContentType = "application/octet-stream";
        await holder.Engine.ContainerImages.ExportAsync(id, ctx.Response.Body, ctx.RequestAborted).ConfigureAwait(false);
    }

    /// <summary><c>POST /auth</c> {"username","password","serveraddress"} → 200 {"Status":"Login Succeeded"} once the registry accepted the credential.</summary>
    private async Task Auth(HttpContext ctx)
    {
        var body = await Responses.ReadJsonAsync(ctx, AuthJsonContext.Default.AuthRequest).ConfigureAwait(false)
            ?? throw MockerException.InvalidArgument("auth config cannot be empty");
        var credential = new RegistryCredential(body.Username ?? "", body.Password ?? "");
        await holder.Engine.Distribution.LoginAsync(body.ServerAddress ?? "", credential, ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Json(ctx, new AuthResponse { Status = "Login Succeeded" }, AuthJsonContext.Default.AuthResponse).ConfigureAwait(false);
    }
}

internal sealed record AuthRequest
{
    [JsonPropertyName("username")] public string? Username { get; init; }
    [JsonPropertyName("password")] public string? Password { get; init; }
    [JsonPropertyName("serveraddress")] public string? ServerAddress { get; init; }
}

internal sealed record AuthResponse
{
    public string Status { get; init; } = "";
    public string IdentityToken { get; init; } = "";
}

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(AuthRequest))]
[JsonSerializable(typeof(AuthResponse))]
internal sealed partial class AuthJsonContext : JsonSerializerContext;

using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Mocker.Api;
using Mocker.Engine.Build;
using Mocker.Engine.Errors;
using Mocker.Engine.Images;

namespace Mocker.Daemon.Api;

/// <summary>
/// Image and build endpoints. Image names in paths contain '/' and ':' (engine-api-trace.md §5.7), so
/// <c>/images/{**rest}</c> is dispatched on its last segment; the literal routes (json, create, prune, bootstrap) win.
/// </summary>
internal sealed class ImageRoutes(EngineHolder holder, DistributionRoutes distribution)
{
    private IImageService Images => holder.Engine.Images;

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/images/json", List);
        app.MapPost("/images/create", Create);
        app.MapPost("/images/prune", Prune);
        app.MapPost("/images/bootstrap", Bootstrap);
        app.MapGet("/images/{**rest}", GetByName);
        app.MapPost("/images/{**rest}", PostByName);
        app.MapDelete("/images/{**rest}", Remove);
        app.MapPost("/build", Build);
    }

    private static string Rest(HttpContext ctx) => Uri.UnescapeDataString((string)ctx.Request.RouteValues["rest"]!);

    private static bool TrySplit(string rest, string verb, out string name)
    {
        var suffix = "/" + verb;
        name = rest.EndsWith(suffix, StringComparison.Ordinal) ? rest[..^suffix.Length] : "";
        return name.Length > 0;
    }

    private async Task List(HttpContext ctx)
    {
        var list = await Images.ListAsync(new ImageListOptions(Query.Bool(ctx.Request, "all"), Query.Filters(ctx.Request)), ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Json(ctx, list as List<ImageSummary> ?? [.. list], ApiJsonContext.Default.ListImageSummary).ConfigureAwait(false);
    }

    private async Task GetByName(HttpContext ctx)
    {
        var rest = Rest(ctx);
        if (TrySplit(rest, "json", out var name))
        {
            var image = await Images.InspectAsync(name, ctx.RequestAborted).ConfigureAwait(false);
            await Responses.Json(ctx, image, ApiJsonContext.Default.ImageInspectResponse).ConfigureAwait(false);
        }
        else if (TrySplit(rest, "get", out name))
        {
            await distribution.SaveAsync(ctx, [name]).ConfigureAwait(false);
        }
        else if (TrySplit(rest, "history", out name))
        {
            var history = await Images.HistoryAsync(name, ctx.RequestAborted).ConfigureAwait(false);
            await Responses.Json(ctx, history as List<ImageHistoryItem> ?? [.. history], ApiJsonContext.Default.ListImageHistoryItem).ConfigureAwait(false);
        }
        else
        {
            await MiscRoutes.PageNotFound(ctx).ConfigureAwait(false);
        }
    }

    private async Task PostByName(HttpContext ctx)
    {
        if (TrySplit(Rest(ctx), "push", out var pushed))
        {
            await distribution.PushAsync(ctx, pushed).ConfigureAwait(false);
            return;
        }
        if (!TrySplit(Rest(ctx), "tag", out var name))
        {
            await MiscRoutes.PageNotFound(ctx).ConfigureAwait(false);
            return;
        }
        var repo = Query.String(ctx.Request, "repo") ?? throw MockerException.InvalidArgument("repository name must have at least one component");
        await Images.TagAsync(name, repo, Query.String(ctx.Request, "tag"), ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Status(ctx, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    private async Task Remove(HttpContext ctx)
    {
        var r = ctx.Request;
        var containers = holder.Engine.Containers;
        var items = await Images.RemoveAsync(Rest(ctx), Query.Bool(r, "force"), Query.Bool(r, "noprune"), containers.FindImageUser, ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Json(ctx, items as List<ImageDeleteResponseItem> ?? [.. items], ApiJsonContext.Default.ListImageDeleteResponseItem).ConfigureAwait(false);
    }

    private async Task Prune(HttpContext ctx)
    {
        var result = await Images.PruneAsync(Query.Filters(ctx.Request), holder.Engine.Containers.FindImageUser, ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Json(ctx, result, ApiJsonContext.Default.ImagePruneResponse).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>POST /images/create</c>: <c>fromSrc=-</c> imports the request body (a tar in any Content-Type, streamed to the
    /// engine) and answers <c>{"status":"sha256:…"}</c>; <c>fromImage</c> pulls (<see cref="DistributionRoutes.PullAsync"/>).
    /// </summary>
    private async Task Create(HttpContext ctx)
    {
        var r = ctx.Request;
        var fromImage = Query.String(r, "fromImage");
        if (fromImage is not null)
        {
            await distribution.PullAsync(ctx, fromImage).ConfigureAwait(false);
            return;
        }
        var fromSrc = Query.String(r, "fromSrc");
        if (fromSrc != "-")
        {
            throw MockerException.InvalidArgument(fromSrc is null
                ? "either fromImage or fromSrc must be given"
                : $"importing from a URL is not supported (fromSrc={fromSrc}); send the tarball in the request body with fromSrc=-");
        }
        var options = new ImportOptions(
            Query.String(r, "repo"),
            Query.String(r, "tag"),
            r.Query.TryGetValue("changes", out var changes) ? [.. changes.Where(c => !string.IsNullOrEmpty(c)).Select(c => c!)] : [],
            Query.String(r, "message"),
            Query.String(r, "platform"));
        await JsonMessageStream.RunAsync(ctx, async progress =>
        {
            // The engine reports the new ID as its last progress message, which is Docker's one {"status":"sha256:…"}.
            await Images.ImportAsync(r.Body, options, progress, ctx.RequestAborted).ConfigureAwait(false);
            return null;
        }).ConfigureAwait(false);
    }

    /// <summary><c>POST /images/bootstrap?name=busybox&amp;tag=</c> (Mocker extension for <c>mocker image bootstrap</c>): JSON message stream.</summary>
    private async Task Bootstrap(HttpContext ctx)
    {
        var name = Query.String(ctx.Request, "name") ?? throw MockerException.InvalidArgument("name is required");
        var tag = Query.String(ctx.Request, "tag");
        await JsonMessageStream.RunAsync(ctx, async progress =>
        {
            await Images.BootstrapAsync(name, tag, progress, ctx.RequestAborted).ConfigureAwait(false);
            return null;
        }).ConfigureAwait(false);
    }

    /// <summary><c>POST /build</c> (legacy builder, engine-api-trace.md §1.10, §2.5): context tar streamed from the body, progress as JSON messages.</summary>
    private async Task Build(HttpContext ctx)
    {
        var r = ctx.Request;
        var options = new BuildOptions
        {
            Dockerfile = Query.String(r, "dockerfile"),
            Tags = r.Query.TryGetValue("t", out var tags) ? [.. tags.Where(t => !string.IsNullOrEmpty(t)).Select(t => t!)] : [],
            BuildArgs = ParseMap(Query.String(r, "buildargs"), "buildargs"),
            Labels = ParseMap(Query.String(r, "labels"), "labels").Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!),
            NoCache = Query.Bool(r, "nocache"),
            Quiet = Query.Bool(r, "q"),
            Pull = Query.Bool(r, "pull"),
            Target = Query.String(r, "target"),
            NetworkMode = Query.String(r, "networkmode"),
            CacheFrom = ParseList(Query.String(r, "cachefrom"), "cachefrom"),
        };
        var builder = holder.Engine.Builder;
        await JsonMessageStream.RunAsync(ctx, async progress =>
        {
            await builder.BuildAsync(r.Body, options, progress, ctx.RequestAborted).ConfigureAwait(false);
            return null;
        }).ConfigureAwait(false);
    }

    private static Dictionary<string, string?> ParseMap(string? json, string name)
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(json))
        {
            return result;
        }
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind == JsonValueKind.Null)
            {
                return result;
            }
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                result[p.Name] = p.Value.ValueKind switch
                {
                    JsonValueKind.Null => null,
                    JsonValueKind.String => p.Value.GetString(),
                    _ => p.Value.GetRawText(),
                };
            }
            return result;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw MockerException.InvalidArgument($"invalid {name}: {ex.Message}");
        }
    }

    private static List<string> ParseList(string? json, string name)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return [];
        }
        try
        {
            return JsonSerializer.Deserialize(json, ApiJsonContext.Default.ListString) ?? [];
        }
        catch (JsonException ex)
        {
            throw MockerException.InvalidArgument($"invalid {name}: {ex.Message}");
        }
    }
}

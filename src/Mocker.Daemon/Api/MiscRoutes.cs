using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Mocker.Engine.Errors;

namespace Mocker.Daemon.Api;

/// <summary>
/// Objects Mocker does not manage yet (networks, volumes, plugins), and build-cache prune: the answers the CLI's inspect fallback chain and
/// compose's existence probes rely on (engine-api-trace.md §1.9, §2.1), plus the predefined "host" and "none" networks.
/// </summary>
internal static class MiscRoutes
{
    private static readonly string[] Predefined = ["host", "none"];

    public static void Map(IEndpointRouteBuilder app, EngineHolder holder)
    {
        app.MapGet("/networks", ListNetworks);
        // Only the predefined networks exist until bridge networking lands, and those are never pruned.
        app.MapPost("/networks/prune", ctx => WriteJson(ctx, w => w.WriteNull("NetworksDeleted")));
        app.MapPost("/build/prune", ctx => PruneBuildCache(ctx, holder));
        app.MapGet("/networks/{id}", InspectNetwork);
        app.MapGet("/volumes/{name}", ctx => throw new MockerException(ErrorKind.NotFound, $"get {ctx.Request.RouteValues["name"]}: no such volume"));
        app.MapGet("/plugins/{name}/json", ctx => throw new MockerException(ErrorKind.NotFound, $"plugin \"{ctx.Request.RouteValues["name"]}\" not found"));
    }

    /// <summary>404 <c>{"message":"page not found"}</c> for unknown routes, as dockerd answers.</summary>
    public static Task PageNotFound(HttpContext ctx)
    {
        var body = ErrorMapping.Body("page not found");
        ctx.Response.StatusCode = StatusCodes.Status404NotFound;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = body.Length;
        return ctx.Response.Body.WriteAsync(body, 0, body.Length, ctx.RequestAborted);
    }

    private static async Task PruneBuildCache(HttpContext ctx, EngineHolder holder)
    {
        var (deleted, freed) = await holder.Engine.Builder.PruneCacheAsync(ctx.RequestAborted).ConfigureAwait(false);
        await WriteJson(ctx, w =>
        {
            w.WriteStartArray("CachesDeleted");
            foreach (var id in deleted)
            {
                w.WriteStringValue(id);
            }
            w.WriteEndArray();
            w.WriteNumber("SpaceReclaimed", freed);
        }).ConfigureAwait(false);
    }

    private static Task WriteJson(HttpContext ctx, Action<Utf8JsonWriter> fields)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            fields(w);
            w.WriteEndObject();
        }
        ms.WriteByte((byte)'\n');
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = ms.Length;
        return ctx.Response.Body.WriteAsync(ms.GetBuffer(), 0, (int)ms.Length, ctx.RequestAborted);
    }

    private static Task ListNetworks(HttpContext ctx) => WriteNetworks(ctx, Predefined, asArray: true);

    private static Task InspectNetwork(HttpContext ctx)
    {
        var id = (string)ctx.Request.RouteValues["id"]!;
        return Array.IndexOf(Predefined, id) >= 0
            ? WriteNetworks(ctx, [id], asArray: false)
            : throw new MockerException(ErrorKind.NotFound, $"network {id} not found");
    }

    private static Task WriteNetworks(HttpContext ctx, string[] names, bool asArray)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            if (asArray)
            {
                w.WriteStartArray();
            }
            foreach (var name in names)
            {
                w.WriteStartObject();
                w.WriteString("Name", name);
                w.WriteString("Id", name);
                w.WriteString("Created", "0001-01-01T00:00:00Z");
                w.WriteString("Scope", "local");
                w.WriteString("Driver", name == "host" ? "host" : "null");
                w.WriteBoolean("EnableIPv6", false);
                w.WriteStartObject("IPAM");
                w.WriteString("Driver", "default");
                w.WriteNull("Options");
                w.WriteStartArray("Config");
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteBoolean("Internal", false);
                w.WriteBoolean("Attachable", false);
                w.WriteBoolean("Ingress", false);
                w.WriteStartObject("ConfigFrom");
                w.WriteString("Network", "");
                w.WriteEndObject();
                w.WriteBoolean("ConfigOnly", false);
                w.WriteStartObject("Containers");
                w.WriteEndObject();
                w.WriteStartObject("Options");
                w.WriteEndObject();
                w.WriteStartObject("Labels");
                w.WriteEndObject();
                w.WriteEndObject();
            }
            if (asArray)
            {
                w.WriteEndArray();
            }
        }
        ms.WriteByte((byte)'\n');
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = ms.Length;
        return ctx.Response.Body.WriteAsync(ms.GetBuffer(), 0, (int)ms.Length, ctx.RequestAborted);
    }
}

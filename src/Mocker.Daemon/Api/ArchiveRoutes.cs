using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Mocker.Engine.Containers;
using Mocker.Engine.Errors;

namespace Mocker.Daemon.Api;

/// <summary>
/// <c>HEAD|GET|PUT /containers/{id}/archive?path=</c> (docker cp, engine-api-trace.md §1.14) and
/// <c>GET /containers/{id}/changes</c> (docker diff, §1.20), over <see cref="IContainerArchive"/>.
/// </summary>
internal sealed class ArchiveRoutes(EngineHolder holder)
{
    public const string PathStatHeader = "X-Docker-Container-Path-Stat";

    private IContainerArchive Archive => holder.Engine.ContainerArchive;

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapMethods("/containers/{id}/archive", [HttpMethods.Head], Head);
        app.MapGet("/containers/{id}/archive", Get);
        app.MapPut("/containers/{id}/archive", Put);
        app.MapGet("/containers/{id}/changes", Changes);
    }

    private static string Id(HttpContext ctx) => (string)ctx.Request.RouteValues["id"]!;

    private static string RequiredPath(HttpContext ctx) =>
        Query.String(ctx.Request, "path") is { Length: > 0 } p ? p : throw MockerException.InvalidArgument("path is required");

    /// <summary>200 with the stat header and no body; a missing path is a 404 whose JSON body HEAD drops (length kept).</summary>
    private async Task Head(HttpContext ctx)
    {
        var stat = await Archive.StatAsync(Id(ctx), RequiredPath(ctx), ctx.RequestAborted).ConfigureAwait(false);
        ctx.Response.Headers[PathStatHeader] = EncodeStat(stat);
        ctx.Response.StatusCode = StatusCodes.Status200OK;
    }

    private Task Get(HttpContext ctx) =>
        Archive.GetAsync(Id(ctx), RequiredPath(ctx), stat =>
        {
            ctx.Response.StatusCode = StatusCodes.Status200OK;
            ctx.Response.ContentType = "application/x-tar";
            ctx.Response.Headers[PathStatHeader] = EncodeStat(stat);
            return ctx.Response.Body;
        }, ctx.RequestAborted);

    private async Task Put(HttpContext ctx)
    {
        var r = ctx.Request;
        var options = new ArchivePutOptions(Query.Bool(r, "noOverwriteDirNonDir"), Query.Bool(r, "copyUIDGID"));
        await Archive.PutAsync(Id(ctx), RequiredPath(ctx), r.Body, options, ctx.RequestAborted).ConfigureAwait(false);
        ctx.Response.StatusCode = StatusCodes.Status200OK;
        ctx.Response.ContentLength = 0;
    }

    private async Task Changes(HttpContext ctx)
    {
        var changes = await Archive.ChangesAsync(Id(ctx), ctx.RequestAborted).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var c in changes)
            {
                w.WriteStartObject();
                w.WriteString("Path", c.Path);
                w.WriteNumber("Kind", c.Kind);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        buffer.WriteByte((byte)'\n');
        ctx.Response.StatusCode = StatusCodes.Status200OK;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = buffer.Length;
        await ctx.Response.Body.WriteAsync(buffer.ToArray(), ctx.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>base64 of Docker's container.PathStat JSON: {"name","size","mode" (Go FileMode),"mtime" (RFC 3339 nano),"linkTarget"}.</summary>
    internal static string EncodeStat(ContainerPathStat stat)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("name", stat.Name);
            w.WriteNumber("size", stat.Size);
            w.WriteNumber("mode", stat.Mode);
            w.WriteString("mtime", stat.Mtime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("linkTarget", stat.LinkTarget);
            w.WriteEndObject();
        }
        return Convert.ToBase64String(buffer.ToArray());
    }
}

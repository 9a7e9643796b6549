using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Mocker.Api;
using Mocker.Daemon.Http;
using Mocker.Engine.Containers;
using Mocker.Engine.Errors;

namespace Mocker.Daemon.Api;

/// <summary>Container and exec endpoints (Engine API v1.41 "Container" and "Exec" tags) except the hijacking ones.</summary>
internal sealed class ContainerRoutes(EngineHolder holder)
{
    private IContainerService Containers => holder.Engine.Containers;

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/containers/json", List);
        app.MapPost("/containers/create", Create);
        app.MapPost("/containers/prune", Prune);
        app.MapGet("/containers/{id}/json", Inspect);
        app.MapPost("/containers/{id}/start", Start);
        app.MapPost("/containers/{id}/stop", Stop);
        app.MapPost("/containers/{id}/restart", Restart);
        app.MapPost("/containers/{id}/kill", Kill);
        app.MapPost("/containers/{id}/wait", Wait);
        app.MapDelete("/containers/{id}", Remove);
        app.MapGet("/containers/{id}/logs", Logs);
        app.MapPost("/containers/{id}/resize", Resize);
        app.MapPost("/containers/{id}/rename", Rename);
        app.MapPost("/containers/{id}/pause", Pause);
        app.MapPost("/containers/{id}/unpause", Unpause);
        app.MapGet("/containers/{id}/top", Top);
        app.MapPost("/containers/{id}/exec", ExecCreate);
        app.MapPost("/exec/{id}/start", ExecStartDetached);
        app.MapGet("/exec/{id}/json", ExecInspect);
        app.MapPost("/exec/{id}/resize", ExecResize);
    }

    private static string Id(HttpContext ctx) => (string)ctx.Request.RouteValues["id"]!;

    private async Task List(HttpContext ctx)
    {
        var r = ctx.Request;
        var limit = Query.Int(r, "limit");
        var options = new ContainerListOptions(Query.Bool(r, "all"), limit is > 0 ? limit : null, Query.Bool(r, "size"), Query.Filters(r));
        var list = await Containers.ListAsync(options, ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Json(ctx, list as List<ContainerSummary> ?? [.. list], ApiJsonContext.Default.ListContainerSummary).ConfigureAwait(false);
    }

    private async Task Create(HttpContext ctx)
    {
        var body = await Responses.ReadJsonAsync(ctx, ApiJsonContext.Default.ContainerCreateRequest).ConfigureAwait(false)
            ?? throw MockerException.InvalidArgument("config cannot be empty in order to create a container");
        var created = await Containers.CreateAsync(Query.String(ctx.Request, "name"), body, ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Json(ctx, created, ApiJsonContext.Default.ContainerCreateResponse, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    private async Task Prune(HttpContext ctx)
    {
        var result = await Containers.PruneAsync(Query.Filters(ctx.Request), ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Json(ctx, result, ApiJsonContext.Default.ContainerPruneResponse).ConfigureAwait(false);
    }

    private async Task Inspect(HttpContext ctx)
    {
        var result = await Containers.InspectAsync(Id(ctx), Query.Bool(ctx.Request, "size"), ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Json(ctx, result, ApiJsonContext.Default.ContainerInspectResponse).ConfigureAwait(false);
    }

    private async Task Start(HttpContext ctx)
    {
        await Containers.StartAsync(Id(ctx), ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Status(ctx, StatusCodes.Status204NoContent).ConfigureAwait(false);
    }

    private async Task Stop(HttpContext ctx)
    {
        await Containers.StopAsync(Id(ctx), Query.Int(ctx.Request, "t"), ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Status(ctx, StatusCodes.Status204NoContent).ConfigureAwait(false);
    }

    private async Task Restart(HttpContext ctx)
    {
        await Containers.RestartAsync(Id(ctx), Query.Int(ctx.Request, "t"), ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Status(ctx, StatusCodes.Status204NoContent).ConfigureAwait(false);
    }

    private async Task Kill(HttpContext ctx)
    {
        await Containers.KillAsync(Id(ctx), Query.String(ctx.Request, "signal"), ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Status(ctx, StatusCodes.Status204NoContent).ConfigureAwait(false);
    }

    private async Task Remove(HttpContext ctx)
    {
        var r = ctx.Request;
        await Containers.RemoveAsync(Id(ctx), Query.Bool(r, "force"), Query.Bool(r, "v"), ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Status(ctx, StatusCodes.Status204NoContent).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>POST /containers/{id}/wait</c>: registers the wait, flushes 200 headers at once (the CLI sends start only after
    /// they arrive, engine-api-trace.md §1.2), then writes <c>{"StatusCode":N,"Error":null}\n</c> when the condition is met.
    /// </summary>
    private async Task Wait(HttpContext ctx)
    {
        using var waiter = Containers.BeginWait(Id(ctx), Query.String(ctx.Request, "condition"));
        await Responses.StartStreamAsync(ctx, "application/json").ConfigureAwait(false);
        var result = await waiter.Completion.WaitAsync(ctx.RequestAborted).ConfigureAwait(false);
        var writer = ctx.Response.BodyWriter;
        using (var json = new System.Text.Json.Utf8JsonWriter(writer))
        {
            System.Text.Json.JsonSerializer.Serialize(json, result, ApiJsonContext.Default.ContainerWaitResponse);
        }
        writer.Write("\n"u8);
        await writer.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>GET /containers/{id}/logs</c>: headers flushed at once, no Content-Type at 1.41, one stdcopy frame per record
    /// (raw bytes for TTY containers), optional RFC3339Nano timestamp + space inside the frame (engine-api-trace.md §1.6).
    /// </summary>
    private async Task Logs(HttpContext ctx)
    {
        var r = ctx.Request;
        var id = Id(ctx);
        var tty = (await Containers.InspectAsync(id, false, ctx.RequestAborted).ConfigureAwait(false)).Config.Tty;
        var tailText = Query.String(r, "tail");
        int? tail = tailText is null || tailText.Equals("all", StringComparison.OrdinalIgnoreCase)
            ? null
            : int.TryParse(tailText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                ? (n < 0 ? null : n)
                : throw MockerException.InvalidArgument($"invalid value for tail: {tailText}");
        var follow = Query.Bool(r, "follow");
        var options = new LogsOptions(Query.Bool(r, "stdout"), Query.Bool(r, "stderr"), follow, tail, Query.Time(r, "since"), Query.Time(r, "until"));
        var timestamps = Query.Bool(r, "timestamps");
        if (!options.Stdout && !options.Stderr)
        {
            throw MockerException.InvalidArgument("Bad parameters: you must choose at least one stream");
        }

        await Responses.StartStreamAsync(ctx, null).ConfigureAwait(false);
        var writer = ctx.Response.BodyWriter;
        var stamp = new byte[40];
        await foreach (var entry in Containers.LogsAsync(id, options, ctx.RequestAborted).ConfigureAwait(false))
        {
            var prefix = timestamps ? FormatTimestamp(entry.Time, stamp) : 0;
            var length = prefix + entry.Data.Length;
            if (!tty)
            {
                StdCopy.WriteHeader(writer.GetSpan(StdCopy.HeaderSize), entry.Stream, length);
                writer.Advance(StdCopy.HeaderSize);
            }
            writer.Write(stamp.AsSpan(0, prefix));
            writer.Write(entry.Data.Span);
            if (follow || writer.UnflushedBytes > 32 * 1024)
            {
                await writer.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
            }
        }
        await writer.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Go's RFC3339NanoFixed ("2006-01-02T15:04:05.000000000Z") followed by a space; returns the byte count.</summary>
    internal static int FormatTimestamp(DateTimeOffset time, Span<byte> destination)
    {
        var text = time.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffff", CultureInfo.InvariantCulture) + "00Z ";
        return Encoding.ASCII.GetBytes(text, destination);
    }

    private async Task Resize(HttpContext ctx)
    {
        var (h, w) = Size(ctx.Request);
        await Containers.ResizeAsync(Id(ctx), h, w, ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Status(ctx, StatusCodes.Status200OK).ConfigureAwait(false);
    }

    private static (int H, int W) Size(HttpRequest r)
    {
        var h = Query.Int(r, "h") ?? 0;
        var w = Query.Int(r, "w") ?? 0;
        return h < 0 || w < 0 ? throw MockerException.InvalidArgument("invalid terminal size") : (h, w);
    }

    private async Task Rename(HttpContext ctx)
    {
        var name = Query.String(ctx.Request, "name") ?? throw MockerException.InvalidArgument("Neither old nor new names may be empty");
        await Containers.RenameAsync(Id(ctx), name, ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Status(ctx, StatusCodes.Status204NoContent).ConfigureAwait(false);
    }

    private async Task Pause(HttpContext ctx)
    {
        await Containers.PauseAsync(Id(ctx), ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Status(ctx, StatusCodes.Status204NoContent).ConfigureAwait(false);
    }

    private async Task Unpause(HttpContext ctx)
    {
        await Containers.UnpauseAsync(Id(ctx), ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Status(ctx, StatusCodes.Status204NoContent).ConfigureAwait(false);
    }

    private async Task Top(HttpContext ctx)
    {
        var result = await Containers.TopAsync(Id(ctx), Query.String(ctx.Request, "ps_args"), ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Json(ctx, result, ApiJsonContext.Default.ContainerTopResponse).ConfigureAwait(false);
    }

    private async Task ExecCreate(HttpContext ctx)
    {
        var config = await Responses.ReadJsonAsync(ctx, ApiJsonContext.Default.ExecConfig).ConfigureAwait(false)
            ?? throw MockerException.InvalidArgument("No exec command specified");
        var execId = await Containers.ExecCreateAsync(Id(ctx), config, ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Json(ctx, new IdResponse { Id = execId }, ApiJsonContext.Default.IdResponse, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    /// <summary>
    /// Detached <c>POST /exec/{id}/start</c> (body <c>{"Detach":true}</c>): 200 with Content-Length 0, connection kept.
    /// Attached starts never get here: <see cref="DockerConnectionMiddleware"/> hijacks them.
    /// </summary>
    private async Task ExecStartDetached(HttpContext ctx)
    {
        var config = await Responses.ReadJsonAsync(ctx, ApiJsonContext.Default.ExecStartConfig).ConfigureAwait(false) ?? new ExecStartConfig { Detach = true };
        var session = await Containers.ExecStartAsync(Id(ctx), config with { Detach = true }, ctx.RequestAborted).ConfigureAwait(false);
        if (session is not null)
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }
        await Responses.Status(ctx, StatusCodes.Status200OK).ConfigureAwait(false);
    }

    private async Task ExecInspect(HttpContext ctx)
    {
        var result = await Containers.ExecInspectAsync(Id(ctx), ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Json(ctx, result, ApiJsonContext.Default.ExecInspectResponse).ConfigureAwait(false);
    }

    private async Task ExecResize(HttpContext ctx)
    {
        var (h, w) = Size(ctx.Request);
        await Containers.ExecResizeAsync(Id(ctx), h, w, ctx.RequestAborted).ConfigureAwait(false);
        await Responses.Status(ctx, StatusCodes.Status200OK).ConfigureAwait(false);
    }
}

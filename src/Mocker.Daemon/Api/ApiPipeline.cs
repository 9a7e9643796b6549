using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mocker.Daemon.Api;

/// <summary>
/// The request pipeline in front of the endpoints: common headers (engine-api-trace.md §5.2), the optional
/// <c>/vX.Y</c> prefix (§5.1), and the single mapping of exceptions to statuses and <c>{"message":…}</c> bodies (§4).
/// </summary>
internal static class ApiPipeline
{
    /// <summary>Adds the middleware and every route to <paramref name="app"/>.</summary>
    public static void Configure(WebApplication app, EngineHolder holder)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Mocker.Daemon.Api");
        app.Use((ctx, next) => HandleAsync(ctx, next, logger));
        app.UseRouting();
        new SystemRoutes(holder).Map(app);
        new ContainerRoutes(holder).Map(app);
        new ArchiveRoutes(holder).Map(app);
        var distribution = new DistributionRoutes(holder);
        distribution.Map(app);
        new ImageRoutes(holder, distribution).Map(app);
        MiscRoutes.Map(app, holder);
        app.MapFallback("{**path}", MiscRoutes.PageNotFound);
    }

    private static async Task HandleAsync(HttpContext ctx, RequestDelegate next, ILogger logger)
    {
        var started = Stopwatch.GetTimestamp();
        var headers = ctx.Response.Headers;
        foreach (var (name, value) in ApiHeaders.Common)
        {
            headers[name] = value;
        }
        var request = ctx.Request;
        var path = ApiVersionPrefix.Strip(request.Path.Value ?? "/", out var version);
        try
        {
            if (version is not null)
            {
                if (ApiVersionPrefix.Check(version) is { } versionError)
                {
                    await WriteErrorAsync(ctx, StatusCodes.Status400BadRequest, versionError).ConfigureAwait(false);
                    return;
                }
                request.Path = path;
            }
            await next(ctx).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The client hung up (wait, events, logs -f): nothing left to answer.
        }
        catch (Exception ex)
        {
            var (status, message) = ErrorMapping.Map(ex);
            if (status >= 500)
            {
                Log.RequestFailed(logger, ex, request.Method, request.Path.Value);
            }
            if (ctx.Response.HasStarted)
            {
                // Headers are gone already (a stream endpoint): the only signal left is to cut the connection.
                Log.StreamFailed(logger, request.Method, request.Path.Value, ex.Message);
                ctx.Abort();
                return;
            }
            await WriteErrorAsync(ctx, status, message).ConfigureAwait(false);
        }
        finally
        {
            if (logger.IsEnabled(LogLevel.Debug))
            {
                // Method, path and status only: request headers (X-Registry-Auth) are never logged.
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                Log.Request(logger, request.Method, request.Path.Value, ctx.Response.StatusCode, elapsed);
            }
        }
    }

    private static Task WriteErrorAsync(HttpContext ctx, int status, string message)
    {
        var response = ctx.Response;
        response.StatusCode = status;
        if (status == StatusCodes.Status304NotModified)
        {
            return Task.CompletedTask;
        }
        var body = ErrorMapping.Body(message);
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, 0, body.Length, ctx.RequestAborted);
    }
}

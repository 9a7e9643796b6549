using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Mocker.Api;
using Mocker.Engine.Events;
using Mocker.Engine.Images;

namespace Mocker.Daemon.Api;

/// <summary><c>/_ping</c>, <c>/version</c>, <c>/info</c>, <c>/events</c> (engine-api-trace.md §1.1, §1.18, §5.1).</summary>
internal sealed class SystemRoutes(EngineHolder holder)
{
    private static readonly byte[] Ok = "OK"u8.ToArray();
    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> NoFilters = new Dictionary<string, IReadOnlyList<string>>();

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapMethods("/_ping", ["GET", "HEAD"], Ping);
        app.MapGet("/version", Version);
        app.MapGet("/info", Info);
        app.MapGet("/events", Events);
    }

    /// <summary>The CLI reads Api-Version from this response to pick its API version; without it, it falls back to 1.24.</summary>
    private static Task Ping(HttpContext ctx)
    {
        var h = ctx.Response.Headers;
        h.CacheControl = "no-cache, no-store, must-revalidate";
        h.Pragma = "no-cache";
        h["Builder-Version"] = "1";
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        ctx.Response.ContentLength = Ok.Length;
        return HttpMethods.IsHead(ctx.Request.Method) ? Task.CompletedTask : ctx.Response.Body.WriteAsync(Ok, 0, Ok.Length, ctx.RequestAborted);
    }

    private static Task Version(HttpContext ctx)
    {
        var facts = HostFacts.Current;
        var buildTime = File.GetLastWriteTimeUtc(typeof(SystemRoutes).Assembly.Location).ToString("yyyy-MM-ddTHH:mm:ss.000000000+00:00", CultureInfo.InvariantCulture);
        var response = new VersionResponse
        {
            Platform = new ComponentPlatform { Name = "Mocker Engine" },
            Components =
            [
                new ComponentVersion
                {
                    Name = "Engine",
                    Version = ApiHeaders.DaemonVersion,
                    Details = new Dictionary<string, string>
                    {
                        ["ApiVersion"] = ApiVersionPrefix.Current,
                        ["Arch"] = "amd64",
                        ["BuildTime"] = buildTime,
                        ["Experimental"] = "false",
                        ["GitCommit"] = "",
                        ["GoVersion"] = $".NET {Environment.Version}",
                        ["KernelVersion"] = facts.KernelVersion,
                        ["MinAPIVersion"] = ApiVersionPrefix.Min,
                        ["Os"] = "linux",
                    },
                },
            ],
            Version = ApiHeaders.DaemonVersion,
            ApiVersion = ApiVersionPrefix.Current,
            MinAPIVersion = ApiVersionPrefix.Min,
            GoVersion = $".NET {Environment.Version}",
            KernelVersion = facts.KernelVersion,
            BuildTime = buildTime,
        };
        return Responses.Json(ctx, response, ApiJsonContext.Default.VersionResponse);
    }

    private async Task Info(HttpContext ctx)
    {
        var engine = holder.Engine;
        var facts = HostFacts.Current;
        var (total, running, paused, stopped) = engine.Containers.Counts();
        var images = await engine.Images.ListAsync(new ImageListOptions(true, NoFilters), ctx.RequestAborted).ConfigureAwait(false);
        var options = engine.Options;
        var info = new SystemInfo
        {
            Containers = total,
            ContainersRunning = running,
            ContainersPaused = paused,
            ContainersStopped = stopped,
            Images = images.Count,
            DriverStatus = [["Backing Filesystem", "overlayfs"]],
            NCPU = Environment.ProcessorCount,
            MemTotal = facts.MemTotal,
            DockerRootDir = options.DataRoot,
            Name = Environment.MachineName,
            KernelVersion = facts.KernelVersion,
            OperatingSystem = facts.OperatingSystem,
            OSVersion = facts.OSVersion,
            Architecture = facts.Architecture,
            CgroupVersion = facts.CgroupVersion,
            SystemTime = DateTimeOffset.Now.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffffzzz", CultureInfo.InvariantCulture),
            ServerVersion = ApiHeaders.DaemonVersion,
            Runtimes = options.Runtimes.ToDictionary(kv => kv.Key, kv => new RuntimeInfo { path = kv.Value }),
            DefaultRuntime = options.DefaultRuntime,
            SecurityOptions = ["name=seccomp,profile=builtin"],
            NFd = CountFds(),
            NGoroutines = System.Threading.ThreadPool.ThreadCount,
        };
        await Responses.Json(ctx, info, ApiJsonContext.Default.SystemInfo).ConfigureAwait(false);
    }

    private static int CountFds()
    {
        try
        {
            return Directory.EnumerateFileSystemEntries("/proc/self/fd").Count();
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>
    /// <c>GET /events</c> (engine-api-trace.md §1.18): headers flushed at once, then one JSON object per line, pushed live.
    /// since/until replay the engine's bounded history; with until the stream ends once that time has passed.
    /// </summary>
    private async Task Events(HttpContext ctx)
    {
        var sub = new EventSubscription(Query.Time(ctx.Request, "since"), Query.Time(ctx.Request, "until"), Query.Filters(ctx.Request));
        await Responses.StartStreamAsync(ctx, "application/json").ConfigureAwait(false);
        var newline = "\n"u8.ToArray();
        try
        {
            await foreach (var m in holder.Engine.Events.SubscribeAsync(sub, ctx.RequestAborted).ConfigureAwait(false))
            {
                await JsonSerializer.SerializeAsync(ctx.Response.Body, m, EventsJsonContext.Default.EventMessage, ctx.RequestAborted).ConfigureAwait(false);
                await ctx.Response.Body.WriteAsync(newline, ctx.RequestAborted).ConfigureAwait(false);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
        }
    }
}

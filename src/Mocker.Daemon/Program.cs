using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mocker.Daemon;
using Mocker.Daemon.Api;
using Mocker.Daemon.Http;
using Mocker.Engine;

DaemonSettings settings;
List<ListenAddress> addresses;
try
{
    settings = DaemonSettings.Load(args);
    addresses = [.. settings.Hosts.Select(ListenAddress.Parse)];
    if (!settings.Tls && addresses.FirstOrDefault(a => !a.IsUnix) is { } tcp)
    {
        throw new ArgumentException($"refusing to listen on {tcp} without TLS: anyone reaching this port would control the host; pass --tlsverify --tlscacert --tlscert --tlskey (or use a unix socket)");
    }
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"mockerd: {ex.Message}");
    return 2;
}
if (settings.ShowHelp)
{
    Console.WriteLine(DaemonSettings.Usage);
    return 0;
}
if (settings.ShowVersion)
{
    Console.WriteLine($"Mocker version {ApiHeaders.DaemonVersion}, API {ApiVersionPrefix.Current}");
    return 0;
}

try
{
    foreach (var address in addresses.Where(a => a.IsUnix))
    {
        address.PrepareSocket();
    }
}
catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"mockerd: {ex.Message}");
    return 1;
}

// On a 2-core host the pool starts with 2 workers; the container start path briefly blocks a few
// (conmon sync pipe, hijacked streams), and pool growth at 1 thread/500 ms showed up as 0.9 s outliers.
ThreadPool.SetMinThreads(16, 16);

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.UseUtcTimestamp = true;
    o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";
});
builder.Logging.SetMinimumLevel(settings.LogLevel);
builder.Logging.AddFilter("Microsoft", settings.LogLevel == LogLevel.Debug ? LogLevel.Information : LogLevel.Warning);
// Hijacked attach/exec connections live as long as their process; do not hold shutdown for them.
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(3));

var holder = new EngineHolder();
var hijackTarget = new EngineHijackTarget(holder);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxRequestBodySize = null;
    kestrel.Limits.MinRequestBodyDataRate = null;
    kestrel.Limits.MinResponseDataRate = null;
    var logger = kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Mocker.Daemon.Hijack");
    foreach (var address in addresses)
    {
        address.Listen(kestrel, settings, lo => lo.Use(next => new DockerConnectionMiddleware(next, hijackTarget, logger).OnConnectionAsync));
    }
});

var app = builder.Build();
ApiPipeline.Configure(app, holder);
var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("mockerd");

using var startup = new CancellationTokenSource();
using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; startup.Cancel(); }))
using (PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; startup.Cancel(); }))
{
    try
    {
        holder.Engine = await MockerEngine.OpenAsync(settings.ToEngineOptions(), app.Services.GetRequiredService<ILoggerFactory>(), startup.Token);
    }
    catch (OperationCanceledException) when (startup.IsCancellationRequested)
    {
        return 0;
    }
    catch (Exception ex)
    {
        Log.EngineOpenFailed(log, ex, settings.DataRoot);
        return 1;
    }
}

await using (holder.Engine)
{
    try
    {
        await app.StartAsync();
    }
    catch (Exception ex) when (ex is IOException or InvalidOperationException)
    {
        Log.ListenFailed(log, ex.Message);
        return 1;
    }
    foreach (var address in addresses.Where(a => a.IsUnix))
    {
        // Root only (group root): the API gives root-equivalent control of the host.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(address.SocketPath!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        }
    }
    var listening = string.Join(", ", addresses);
    Log.Listening(log, listening, settings.DataRoot);
    // SIGTERM/SIGINT: stop accepting and finish; containers keep running (conmon owns them).
    await app.WaitForShutdownAsync();
    Log.ShuttingDown(log);
}
foreach (var address in addresses.Where(a => a.IsUnix))
{
    File.Delete(address.SocketPath!);
}
return 0;

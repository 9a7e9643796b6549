using Microsoft.Extensions.Logging;

namespace Mocker.Daemon;

/// <summary>The daemon's log messages (source-generated: no formatting cost when the level is off).</summary>
internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "hijacked connection {Id} ended: {Reason}")]
    public static partial void HijackEnded(ILogger logger, string id, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "stdin pump ended: {Reason}")]
    public static partial void StdinEnded(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Operation} {Id} failed")]
    public static partial void HijackFailed(ILogger logger, Exception ex, string operation, string id);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    public static partial void RequestFailed(ILogger logger, Exception ex, string method, string? path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path} failed after the response started: {Reason}")]
    public static partial void StreamFailed(ILogger logger, string method, string? path, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Method} {Path} -> {Status} in {Ms:F2} ms")]
    public static partial void Request(ILogger logger, string method, string? path, int status, double ms);

    [LoggerMessage(Level = LogLevel.Critical, Message = "cannot open the engine at {DataRoot}")]
    public static partial void EngineOpenFailed(ILogger logger, Exception ex, string dataRoot);

    [LoggerMessage(Level = LogLevel.Critical, Message = "cannot listen: {Reason}")]
    public static partial void ListenFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "API listen on {Addresses}; data root {DataRoot}")]
    public static partial void Listening(ILogger logger, string addresses, string dataRoot);

    [LoggerMessage(Level = LogLevel.Information, Message = "shutting down")]
    public static partial void ShuttingDown(ILogger logger);
}

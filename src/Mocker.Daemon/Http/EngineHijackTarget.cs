using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Mocker.Api;
using Mocker.Daemon.Api;
using Mocker.Engine.Containers;
using Mocker.Engine.Errors;

namespace Mocker.Daemon.Http;

/// <summary>Maps hijacked attach / exec start requests onto <see cref="IContainerService"/>.</summary>
internal sealed class EngineHijackTarget(EngineHolder holder) : IHijackTarget
{
    public async Task<IStdioSession> OpenAsync(HijackRequest request, CancellationToken ct)
    {
        var containers = holder.Engine.Containers;
        if (request.IsExec)
        {
            // Unknown keys ("hijack", "stdin" from dockerode) are ignored; "TTY" matches Tty (engine-api-trace.md §3.3).
            var config = request.Body.Length == 0
                ? new ExecStartConfig()
                : JsonSerializer.Deserialize(request.Body, ApiJsonContext.Default.ExecStartConfig) ?? new ExecStartConfig();
            return await containers.ExecStartAsync(request.Id, config with { Detach = false }, ct).ConfigureAwait(false)
                ?? throw new MockerException(ErrorKind.Internal, "exec started without a session");
        }
        var query = QueryHelpers.ParseQuery(request.Query);
        bool Flag(string name) => query.TryGetValue(name, out var v) && Query.IsTrue(v.ToString());
        var options = new AttachOptions(Flag("stdin"), Flag("stdout"), Flag("stderr"), Flag("stream"), Flag("logs"));
        return await containers.AttachAsync(request.Id, options, ct).ConfigureAwait(false);
    }
}

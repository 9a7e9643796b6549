using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Mocker.Api;
using Mocker.Engine.Build;

namespace Mocker.Daemon.Api;

/// <summary>
/// A JSON message stream response (build, import, bootstrap; engine-api-trace.md §5.6): 200 application/json, chunked,
/// one object per "\r\n"-terminated line. Headers go out with the first message; a failure before that is an HTTP
/// error, a failure after it an in-stream <c>{"errorDetail":…,"error":…}</c> with status 200.
/// </summary>
internal sealed class JsonMessageStream : IProgress<JsonMessage>
{
    private readonly HttpContext _ctx;
    private readonly Channel<JsonMessage> _messages = Channel.CreateUnbounded<JsonMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    private JsonMessageStream(HttpContext ctx)
    {
        _ctx = ctx;
        _writer = WriteLoopAsync();
    }

    public void Report(JsonMessage value) => _messages.Writer.TryWrite(value);

    /// <summary>
    /// Runs <paramref name="work"/> with a progress sink bound to the response. The message it returns (if any) is the
    /// last line. Exceptions before the first byte propagate (to the error middleware); later ones become errorDetail.
    /// </summary>
    public static async Task RunAsync(HttpContext ctx, Func<IProgress<JsonMessage>, Task<JsonMessage?>> work)
    {
        var stream = new JsonMessageStream(ctx);
        ExceptionDispatchInfo? failure = null;
        try
        {
            if (await work(stream).ConfigureAwait(false) is { } last)
            {
                stream.Report(last);
            }
        }
        catch (Exception ex) when (!ctx.RequestAborted.IsCancellationRequested)
        {
            failure = ExceptionDispatchInfo.Capture(ex);
        }
        stream._messages.Writer.TryComplete();
        await stream._writer.ConfigureAwait(false);
        if (failure is null)
        {
            if (!ctx.Response.HasStarted)
            {
                await Responses.StartStreamAsync(ctx, "application/json").ConfigureAwait(false);
            }
            return;
        }
        if (!ctx.Response.HasStarted)
        {
            failure.Throw();
        }
        var (_, message) = ErrorMapping.Map(failure.SourceException);
        var error = new JsonMessage
        {
            errorDetail = new JsonMessageError { code = failure.SourceException is BuildException b ? b.Code : null, message = message },
            error = message,
        };
        WriteLine(ctx, error);
        await ctx.Response.BodyWriter.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
    }

    private async Task WriteLoopAsync()
    {
        var reader = _messages.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                if (!_ctx.Response.HasStarted)
                {
                    await Responses.StartStreamAsync(_ctx, "application/json").ConfigureAwait(false);
                }
                while (reader.TryRead(out var message))
                {
                    WriteLine(_ctx, message);
                }
                await _ctx.Response.BodyWriter.FlushAsync(_ctx.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The client went away; the operation itself runs to completion and its later messages are dropped.
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out _))
                {
                }
            }
        }
    }

    private static void WriteLine(HttpContext ctx, JsonMessage message)
    {
        var writer = ctx.Response.BodyWriter;
        using (var json = new Utf8JsonWriter(writer))
        {
            JsonSerializer.Serialize(json, message, DaemonJsonContext.Default.JsonMessage);
        }
        writer.Write("\r\n"u8);
    }
}

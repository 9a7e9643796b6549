using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Mocker.Daemon.Api;

/// <summary>Response writing shared by the endpoints: JSON with "\n" and Content-Length, empty statuses, early header flushes.</summary>
internal static class Responses
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    /// <summary>Writes <paramref name="value"/> as a JSON body followed by "\n" (Go json.Encoder), sized with Content-Length.</summary>
    public static Task Json<T>(HttpContext ctx, T value, JsonTypeInfo<T> type, int status = StatusCodes.Status200OK)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            JsonSerializer.Serialize(writer, value, type);
        }
        buffer.Write("\n"u8);
        // Copy out: the thread-static buffer is reused once this method returns, before the write completes.
        var bytes = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity > 1024 * 1024)
        {
            t_buffer = null;
        }
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = bytes.Length;
        return ctx.Response.Body.WriteAsync(bytes, 0, bytes.Length, ctx.RequestAborted);
    }

    /// <summary>A bodiless status (204, 201 for tag, 200 for resize).</summary>
    public static Task Status(HttpContext ctx, int status)
    {
        ctx.Response.StatusCode = status;
        if (status != StatusCodes.Status204NoContent && status != StatusCodes.Status304NotModified)
        {
            ctx.Response.ContentLength = 0;
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// Sends the response headers now (status 200, chunked), before any body: long-poll endpoints need this so that
    /// clients proceed (the CLI sends start only after the wait headers arrived, engine-api-trace.md §1.2).
    /// </summary>
    public static async Task StartStreamAsync(HttpContext ctx, string? contentType)
    {
        ctx.Response.StatusCode = StatusCodes.Status200OK;
        if (contentType is not null)
        {
            ctx.Response.ContentType = contentType;
        }
        await ctx.Response.StartAsync(ctx.RequestAborted).ConfigureAwait(false);
        await ctx.Response.BodyWriter.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Reads and deserializes a JSON body; null for an empty body. JsonException → 400 through ErrorMapping.</summary>
    public static async Task<T?> ReadJsonAsync<T>(HttpContext ctx, JsonTypeInfo<T> type) where T : class
    {
        var request = ctx.Request;
        if (request.ContentLength == 0)
        {
            return null;
        }
        using var ms = new MemoryStream();
        await request.Body.CopyToAsync(ms, ctx.RequestAborted).ConfigureAwait(false);
        if (ms.Length == 0 || IsWhitespace(ms.GetBuffer().AsSpan(0, (int)ms.Length)))
        {
            return null;
        }
        return JsonSerializer.Deserialize(ms.GetBuffer().AsSpan(0, (int)ms.Length), type);
    }

    private static bool IsWhitespace(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            if (b is not ((byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t'))
            {
                return false;
            }
        }
        return true;
    }
}

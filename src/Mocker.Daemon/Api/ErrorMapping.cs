using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Mocker.Api;
using Mocker.Engine.Errors;

namespace Mocker.Daemon.Api;

/// <summary>The one place where engine failures become HTTP statuses (MockerException.Kind, engine-api-trace.md §4).</summary>
internal static class ErrorMapping
{
    /// <summary>Status and client-visible message for <paramref name="ex"/>.</summary>
    public static (int Status, string Message) Map(Exception ex) => ex switch
    {
        MockerException m => (m.Kind switch
        {
            ErrorKind.NotFound => 404,
            ErrorKind.Conflict => 409,
            ErrorKind.InvalidArgument => 400,
            ErrorKind.NotModified => 304,
            ErrorKind.Unavailable => 503,
            _ => 500,
        }, m.Message),
        JsonException j => (400, JsonMessageText(j)),
        BadHttpRequestException b => (b.StatusCode, b.Message),
        _ => (500, ex.Message),
    };

    /// <summary>"invalid JSON ..." naming the offending field, as Docker's "json: cannot unmarshal … field X" does.</summary>
    public static string JsonMessageText(JsonException ex)
    {
        var path = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "" : $" at field {ex.Path.TrimStart('$', '.')}";
        return $"invalid JSON in request body{path}: {ex.Message}";
    }

    /// <summary>The JSON error body: <c>{"message":"…"}</c> followed by "\n".</summary>
    public static byte[] Body(string message)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new ErrorResponse { message = message }, ApiJsonContext.Default.ErrorResponse);
        var body = new byte[json.Length + 1];
        json.CopyTo(body, 0);
        body[^1] = (byte)'\n';
        return body;
    }

    /// <summary>A complete HTTP/1.1 error response written on a raw connection, which is closed afterwards.</summary>
    public static byte[] RawResponse(int status, string message)
    {
        var sb = new StringBuilder(256);
        sb.Append("HTTP/1.1 ").Append(status).Append(' ').Append(Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status)).Append("\r\n");
        foreach (var (name, value) in ApiHeaders.Common)
        {
            sb.Append(name).Append(": ").Append(value).Append("\r\n");
        }
        sb.Append("Date: ").Append(DateTimeOffset.UtcNow.ToString("r")).Append("\r\n");
        var body = status == 304 ? [] : Body(message);
        if (body.Length > 0)
        {
            sb.Append("Content-Type: application/json\r\n");
        }
        sb.Append("Content-Length: ").Append(body.Length).Append("\r\nConnection: close\r\n\r\n");
        var head = Encoding.ASCII.GetBytes(sb.ToString());
        return [.. head, .. body];
    }
}

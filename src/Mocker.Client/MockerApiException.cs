using System.Net;

namespace Mocker.Client;

/// <summary>
/// A non-2xx answer of the Engine API. <see cref="Exception.Message"/> is the daemon's <c>{"message":"…"}</c> text
/// (engine-api-trace.md §4); the CLI prints it as <c>Error response from daemon: &lt;message&gt;</c>.
/// </summary>
public class MockerApiException : Exception
{
    public MockerApiException(HttpStatusCode statusCode, string message) : base(message) => StatusCode = statusCode;

    /// <summary>The HTTP status the daemon answered with.</summary>
    public HttpStatusCode StatusCode { get; }

    internal static MockerApiException Create(HttpStatusCode status, string message) =>
        status == HttpStatusCode.NotFound ? new MockerNotFoundException(message) : new MockerApiException(status, message);
}

/// <summary>404: no such container, image, exec or object (engine-api-trace.md §4).</summary>
public sealed class MockerNotFoundException(string message) : MockerApiException(HttpStatusCode.NotFound, message);

/// <summary>
/// The daemon could not be reached at all (socket missing, connection refused). The message is the one the CLI prints:
/// <c>Cannot connect to the Mocker daemon at unix:///run/mocker/mocker.sock. Is the mocker daemon running?</c>
/// </summary>
public sealed class MockerConnectionException(string host, Exception inner)
    : Exception($"Cannot connect to the Mocker daemon at {host}. Is the mocker daemon running?", inner)
{
    /// <summary>The endpoint as the user would write it, e.g. <c>unix:///run/mocker/mocker.sock</c>.</summary>
    public string Host { get; } = host;
}

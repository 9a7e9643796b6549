namespace Mocker.Engine.Errors;

/// <summary>
/// The closed set of failure classes the engine reports (containerd's errdefs). The API edge maps each
/// to exactly one HTTP status: NotFound 404, Conflict 409, InvalidArgument 400, NotModified 304,
/// Unavailable 503, Internal 500.
/// </summary>
public enum ErrorKind
{
    Internal,
    NotFound,
    Conflict,
    InvalidArgument,
    NotModified,
    Unavailable,
}

/// <summary>An engine failure whose <see cref="Exception.Message"/> is the text Docker would return to a client.</summary>
public class MockerException(ErrorKind kind, string message, Exception? inner = null) : Exception(message, inner)
{
    public ErrorKind Kind { get; } = kind;

    public static MockerException NoSuchContainer(string id) => new(ErrorKind.NotFound, $"No such container: {id}");
    public static MockerException NoSuchImage(string reference) => new(ErrorKind.NotFound, $"No such image: {reference}");
    public static MockerException InvalidArgument(string message) => new(ErrorKind.InvalidArgument, message);
    public static MockerException Conflict(string message) => new(ErrorKind.Conflict, message);
    public static MockerException NotModified() => new(ErrorKind.NotModified, "");
}

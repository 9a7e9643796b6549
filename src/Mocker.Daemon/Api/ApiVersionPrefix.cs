using System.Globalization;

namespace Mocker.Daemon.Api;

/// <summary>
/// The optional <c>/vX.Y</c> path prefix (engine-api-trace.md §5.1): every route is served with and without it, for
/// any version from <see cref="Min"/> to <see cref="Current"/>.
/// </summary>
internal static class ApiVersionPrefix
{
    public const string Current = "1.41";
    public const string Min = "1.24";

    /// <summary>
    /// Removes a leading "/vX.Y" from <paramref name="path"/>. <paramref name="version"/> is the parsed version
    /// (null when there was no prefix).
    /// </summary>
    public static string Strip(string path, out Version? version)
    {
        version = null;
        if (path.Length < 4 || path[0] != '/' || path[1] != 'v' || !char.IsAsciiDigit(path[2]))
        {
            return path;
        }
        var end = path.IndexOf('/', 2);
        var text = end < 0 ? path[2..] : path[2..end];
        if (!System.Version.TryParse(text, out var parsed) || text.Count(c => c == '.') != 1)
        {
            return path;
        }
        version = parsed;
        return end < 0 ? "/" : path[end..];
    }

    /// <summary>Docker's error text when the requested version is outside [Min, Current], else null.</summary>
    public static string? Check(Version version)
    {
        if (version > System.Version.Parse(Current))
        {
            return $"client version {version} is too new. Maximum supported API version is {Current}";
        }
        if (version < System.Version.Parse(Min))
        {
            return $"client version {version} is too old. Minimum supported API version is {Min}, please upgrade your client to a newer version";
        }
        return null;
    }
}

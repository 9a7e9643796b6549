using System.Globalization;
using Mocker.Api;

namespace Mocker.Engine.Distribution;

/// <summary>
/// Docker's JSON progress messages (moby pkg/jsonmessage JSONProgress.String): a 50-column bar
/// "[=====&gt;     ]  1.2MB/3.4MB" with decimal units (go-units HumanSize, 4 significant digits).
/// </summary>
public static class ProgressText
{
    private const int Width = 50;

    /// <summary>A status message for layer <paramref name="id"/> with "progressDetail": {} as dockerd sends.</summary>
    public static JsonMessage Status(string id, string status) => new() { status = status, id = id, progressDetail = new ProgressDetail() };

    /// <summary>A progress message with current/total bytes and the rendered bar.</summary>
    public static JsonMessage Progress(string id, string status, long current, long total) => new()
    {
        status = status,
        id = id,
        progressDetail = new ProgressDetail { current = current, total = total },
        progress = Bar(current, total),
    };

    /// <summary>The bar text for <paramref name="current"/> of <paramref name="total"/> bytes (total ≤ 0: no bar).</summary>
    public static string Bar(long current, long total)
    {
        if (total <= 0)
        {
            return HumanSize(current);
        }
        var filled = (int)Math.Clamp(current * Width / Math.Max(total, 1), 0, Width);
        var bar = new string('=', filled) + ">" + new string(' ', Width - filled);
        return $"[{bar}] {HumanSize(current),8}/{HumanSize(total)}";
    }

    /// <summary>go-units HumanSize: "160B", "35.84kB", "1.982MB".</summary>
    public static string HumanSize(long bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB", "PB"];
        double value = bytes;
        var i = 0;
        while (value >= 1000 && i < units.Length - 1)
        {
            value /= 1000;
            i++;
        }
        return value.ToString("G4", CultureInfo.InvariantCulture) + units[i];
    }
}

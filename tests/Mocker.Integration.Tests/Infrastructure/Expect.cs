using System.Formats.Tar;
using System.Text;
using Xunit;

namespace Mocker.Integration.Tests.Infrastructure;

/// <summary>Assertions on process results that print the whole run (command, exit code, output) on failure.</summary>
public static class Expect
{
    public static ProcResult Ok(ProcResult result) => Exit(result, 0);

    public static ProcResult Exit(ProcResult result, int code)
    {
        Assert.True(result.ExitCode == code, $"expected exit {code}\n{result}");
        return result;
    }

    /// <summary>Output lines without trailing whitespace and without empty lines.</summary>
    public static List<string> Lines(string output) =>
        output.Split('\n').Select(l => l.TrimEnd('\r', ' ')).Where(l => l.Length > 0).ToList();
}

/// <summary>Small rootfs tarballs for import tests, made from the host's busybox-static.</summary>
public static class Tarballs
{
    /// <summary>
    /// Writes a tar holding bin/busybox (the host's /bin/busybox) and hello.txt with <paramref name="helloText"/>;
    /// returns its path under <paramref name="dir"/>.
    /// </summary>
    public static async Task<string> WriteBusyboxRootfsAsync(string dir, string helloText)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "rootfs.tar");
        await using var file = File.Create(path);
        await using var writer = new TarWriter(file, TarEntryFormat.Pax, leaveOpen: false);
        await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, "bin/") { Mode = (UnixFileMode)0b111_101_101 });
        await writer.WriteEntryAsync("/bin/busybox", "bin/busybox");
        var hello = new PaxTarEntry(TarEntryType.RegularFile, "hello.txt")
        {
            Mode = (UnixFileMode)0b110_100_100,
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(helloText)),
        };
        await writer.WriteEntryAsync(hello);
        return path;
    }
}

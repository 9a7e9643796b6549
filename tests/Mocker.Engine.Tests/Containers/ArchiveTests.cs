using System.Formats.Tar;
using System.Text;
using Mocker.Engine.Containers;
using Mocker.Engine.Errors;
using Xunit;

namespace Mocker.Engine.Tests.Containers;

/// <summary>
/// The archive API's openat2 RESOLVE_IN_ROOT resolver on a plain directory standing in for a container root, with
/// hostile symlinks (absolute, "..", chains) that a host-side resolver would follow out of the root.
/// </summary>
public sealed class ArchiveTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mocker-archive-test-").FullName;
    private readonly string _root;
    private readonly string _outside;

    public ArchiveTests()
    {
        _root = Path.Combine(_dir, "root");
        _outside = Path.Combine(_dir, "outside");
        Directory.CreateDirectory(Path.Combine(_root, "etc"));
        Directory.CreateDirectory(Path.Combine(_root, "tmp"));
        Directory.CreateDirectory(Path.Combine(_root, "a", "b"));
        Directory.CreateDirectory(_outside);
        File.WriteAllText(Path.Combine(_root, "etc", "passwd"), "container\n");
        File.WriteAllText(Path.Combine(_outside, "secret"), "host\n");
        File.CreateSymbolicLink(Path.Combine(_root, "escape"), "/");
        File.CreateSymbolicLink(Path.Combine(_root, "etc2"), "/etc");
        File.CreateSymbolicLink(Path.Combine(_root, "a", "b", "up"), "../../../../../..");
        File.CreateSymbolicLink(Path.Combine(_root, "chain"), "/a/b/up");
        // What a host-side resolver would reach: the real outside directory, by absolute path and by "..".
        File.CreateSymbolicLink(Path.Combine(_root, "out-abs"), _outside);
        File.CreateSymbolicLink(Path.Combine(_root, "out-rel"), "../outside");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<Dictionary<string, string>> GetAsync(string path)
    {
        using var root = ContainerArchive.OpenRoot(_root);
        var buffer = new MemoryStream();
        await ContainerArchive.WriteArchiveAsync(root, "c", path, _ => buffer, CancellationToken.None);
        buffer.Position = 0;
        var entries = new Dictionary<string, string>();
        await using var reader = new TarReader(buffer);
        while (await reader.GetNextEntryAsync() is { } e)
        {
            entries[e.Name] = e.DataStream is null ? e.LinkName : new StreamReader(e.DataStream).ReadToEnd();
        }
        return entries;
    }

    private async Task PutAsync(string path, params (string Name, TarEntryType Type, string Content)[] entries)
    {
        var buffer = new MemoryStream();
        await using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, type, content) in entries)
            {
                var entry = new PaxTarEntry(type, name) { Mode = (UnixFileMode)0b110_100_100 };
                if (type == TarEntryType.RegularFile)
                {
                    entry.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content));
                }
                else if (type is TarEntryType.SymbolicLink or TarEntryType.HardLink)
                {
                    entry.LinkName = content;
                }
                await writer.WriteEntryAsync(entry);
            }
        }
        buffer.Position = 0;
        using var root = ContainerArchive.OpenRoot(_root);
        await ContainerArchive.ExtractAsync(root, "c", path, buffer, new ArchivePutOptions(true, false), CancellationToken.None);
    }

    [Theory]
    [InlineData("/escape/etc/passwd")]
    [InlineData("/etc2/passwd")]
    [InlineData("/etc2/../../../etc/passwd")]
    [InlineData("/chain/etc/passwd")]
    [InlineData("/a/b/up/etc/passwd")]
    public async Task Reads_through_hostile_links_stay_in_the_root(string path)
    {
        var entries = await GetAsync(path);
        Assert.Equal("container\n", entries["passwd"]);
    }

    [Theory]
    [InlineData("/out-abs/secret")]
    [InlineData("/out-rel/secret")]
    public async Task Links_to_the_outside_resolve_to_nothing(string path)
    {
        var e = await Assert.ThrowsAsync<MockerException>(() => GetAsync(path));
        Assert.Equal(ErrorKind.NotFound, e.Kind);
        Assert.Equal($"Could not find the file {path} in container c", e.Message);
    }

    [Fact]
    public async Task A_final_symlink_is_archived_as_a_link_unless_the_path_ends_with_a_slash()
    {
        using var root = ContainerArchive.OpenRoot(_root);
        using var located = ContainerArchive.Locate(root, "c", "/etc2");
        Assert.Equal("/etc", located.Stat.LinkTarget);
        Assert.Equal(1u << 27 | 0x1FF, located.Stat.Mode);
        Assert.Equal("/etc", (await GetAsync("/etc2"))["etc2"]);
        Assert.Equal("container\n", (await GetAsync("/etc2/."))["./passwd"]);
    }

    [Fact]
    public async Task A_directory_is_rooted_at_its_base_name_with_go_file_modes()
    {
        var entries = await GetAsync("/etc");
        Assert.Equal(["etc/", "etc/passwd"], entries.Keys.Order(StringComparer.Ordinal));
        using var root = ContainerArchive.OpenRoot(_root);
        using var located = ContainerArchive.Locate(root, "c", "/etc");
        Assert.Equal("etc", located.Stat.Name);
        Assert.True((located.Stat.Mode & (1u << 31)) != 0);
    }

    [Fact]
    public async Task Writes_through_hostile_links_stay_in_the_root()
    {
        await PutAsync("/escape/tmp", ("x", TarEntryType.RegularFile, "in\n"));
        var outside = await Assert.ThrowsAsync<MockerException>(() => PutAsync("/out-abs", ("secret", TarEntryType.RegularFile, "pwned\n")));
        Assert.Equal(ErrorKind.NotFound, outside.Kind);
        await Assert.ThrowsAsync<MockerException>(() => PutAsync("/", ("hostdir", TarEntryType.SymbolicLink, _outside), ("hostdir/secret", TarEntryType.RegularFile, "pwned\n")));
        await PutAsync("/", ("hostroot", TarEntryType.SymbolicLink, "/"), ("hostroot/tmp/h", TarEntryType.RegularFile, "in\n"));
        await Assert.ThrowsAsync<MockerException>(() => PutAsync("/", ("hard", TarEntryType.HardLink, "out-abs/secret")));
        await PutAsync("/", ("rel", TarEntryType.SymbolicLink, "../../../.."), ("rel" + _outside + "/secret", TarEntryType.RegularFile, "pwned\n"));

        Assert.Equal("host\n", File.ReadAllText(Path.Combine(_outside, "secret")));
        Assert.Equal("in\n", File.ReadAllText(Path.Combine(_root, "tmp", "x")));
        Assert.Equal("in\n", File.ReadAllText(Path.Combine(_root, "tmp", "h")));
        Assert.Equal("pwned\n", File.ReadAllText(Path.Combine(_root, _outside.TrimStart('/'), "secret")));
        Assert.Equal(["secret"], Directory.EnumerateFileSystemEntries(_outside).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Entries_escaping_with_dot_dot_are_refused()
    {
        var e = await Assert.ThrowsAsync<MockerException>(() => PutAsync("/tmp", ("../../../outside/secret", TarEntryType.RegularFile, "pwned\n")));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Equal("host\n", File.ReadAllText(Path.Combine(_outside, "secret")));
    }

    [Fact]
    public async Task No_overwrite_dir_non_dir_and_missing_destinations_fail_as_docker_does()
    {
        var dir = await Assert.ThrowsAsync<MockerException>(() => PutAsync("/", ("etc", TarEntryType.RegularFile, "x")));
        Assert.Equal(ErrorKind.InvalidArgument, dir.Kind);
        var missing = await Assert.ThrowsAsync<MockerException>(() => PutAsync("/nodir", ("x", TarEntryType.RegularFile, "x")));
        Assert.Equal("Could not find the file /nodir in container c", missing.Message);
    }
}

using System.Text;
using System.Text.Json;
using Mocker.Client;
using Xunit;

namespace Mocker.Cli.Tests;

/// <summary>The client pieces of pull/push/commit/login: reference splitting, X-Registry-Auth encoding, the credential store.</summary>
public sealed class DistributionPieceTests
{
    [Theory]
    [InlineData("busybox", "busybox", null)]
    [InlineData("busybox:1", "busybox", "1")]
    [InlineData("127.0.0.1:5000/it/bb", "127.0.0.1:5000/it/bb", null)]
    [InlineData("127.0.0.1:5000/it/bb:1", "127.0.0.1:5000/it/bb", "1")]
    [InlineData("a/b@sha256:abc", "a/b", "sha256:abc")]
    public void SplitReference_separates_tag_or_digest(string reference, string name, string? tag)
    {
        Assert.Equal((name, tag), ImageOperations.SplitReference(reference));
    }

    [Theory]
    [InlineData("busybox", "docker.io")]
    [InlineData("library/busybox:1", "docker.io")]
    [InlineData("127.0.0.1:5000/it/bb:1", "127.0.0.1:5000")]
    [InlineData("localhost/x", "localhost")]
    [InlineData("ghcr.io/o/r", "ghcr.io")]
    public void RegistryHost_follows_the_docker_cli(string reference, string host)
    {
        Assert.Equal(host, ImageOperations.RegistryHost(reference));
    }

    [Fact]
    public void Registry_auth_header_is_base64url_json_or_empty_object()
    {
        Assert.Equal("e30=", RegistryAuth.Header(null));
        var header = RegistryAuth.Header(new RegistryAuth { Username = "u", Password = "p?>", ServerAddress = "h:1" });
        Assert.DoesNotContain('+', header);
        Assert.DoesNotContain('/', header);
        var json = Encoding.UTF8.GetString(Convert.FromBase64String(header.Replace('-', '+').Replace('_', '/')));
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("u", doc.RootElement.GetProperty("username").GetString());
        Assert.Equal("p?>", doc.RootElement.GetProperty("password").GetString());
        Assert.Equal("h:1", doc.RootElement.GetProperty("serveraddress").GetString());
    }

    [Fact]
    public void Credential_store_writes_0600_keeps_other_keys_and_removes()
    {
        var dir = Directory.CreateTempSubdirectory("mocker-creds-").FullName;
        try
        {
            var path = Path.Combine(dir, ".mocker", "config.json");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, "{\"psFormat\":\"table {{.ID}}\",\"auths\":{\"other:1\":{\"auth\":\"" + Convert.ToBase64String("o:p"u8.ToArray()) + "\"}}}");
            var store = new CredentialStore(path);
            store.Store("reg:5000", "user", "pa:ss");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            var got = store.Get("reg:5000");
            Assert.Equal(("user", "pa:ss"), (got!.Username, got.Password));
            Assert.Equal("o", store.Get("other:1")!.Username);
            Assert.Contains("psFormat", File.ReadAllText(path), StringComparison.Ordinal);
            Assert.True(store.Remove("reg:5000"));
            Assert.Null(store.Get("reg:5000"));
            Assert.False(store.Remove("reg:5000"));
            Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

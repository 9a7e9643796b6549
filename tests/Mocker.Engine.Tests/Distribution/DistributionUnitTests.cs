using System.Text;
using Mocker.Engine.Distribution;
using Mocker.Engine.Errors;
using Mocker.Engine.Images;
using Xunit;

namespace Mocker.Engine.Tests.Distribution;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DistributionUnitTests
{
    [Theory]
    [InlineData("busybox", "registry-1.docker.io", "v2/library/busybox/manifests/latest")]
    [InlineData("user/app:1", "registry-1.docker.io", "v2/user/app/manifests/1")]
    [InlineData("127.0.0.1:5000/apitrace/bb:1", "127.0.0.1:5000", "v2/apitrace/bb/manifests/1")]
    [InlineData("localhost/x/y/z", "localhost", "v2/x/y/z/manifests/latest")]
    [InlineData("ghcr.io/o/r@sha256:0000000000000000000000000000000000000000000000000000000000000000", "ghcr.io",
        "v2/o/r/manifests/sha256:0000000000000000000000000000000000000000000000000000000000000000")]
    public void ReferenceMapsToRegistryUrl(string text, string host, string path)
    {
        var r = Reference.Parse(text).WithDefaultTag();
        Assert.Equal(host, RegistryClient.ApiHost(r.Domain));
        Assert.Equal(path, RegistryClient.ManifestPath(r.Path, r.Digest ?? r.Tag!));
    }

    [Theory]
    [InlineData("localhost:5000", true)]
    [InlineData("127.0.0.1:5000", true)]
    [InlineData("127.3.4.5", true)]
    [InlineData("[::1]:5000", true)]
    [InlineData("docker.io", false)]
    [InlineData("10.0.0.1:5000", false)]
    [InlineData("myreg:5000", true)]
    [InlineData("192.168.7.9:5000", true)]
    [InlineData("192.168.8.1:5000", false)]
    public void InsecureRegistries(string host, bool insecure) => Assert.Equal(insecure, RegistryClient.IsInsecure(host, ["myreg:5000", "192.168.7.0/24"]));

    [Fact]
    public void ParsesBearerChallenge()
    {
        var c = Assert.Single(AuthChallenge.Parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/busybox:pull\""));
        Assert.Equal("bearer", c.Scheme);
        Assert.Equal("https://auth.docker.io/token", c.Parameters["realm"]);
        Assert.Equal("registry.docker.io", c.Parameters["service"]);
        Assert.Equal("repository:library/busybox:pull", c.Parameters["scope"]);
    }

    [Fact]
    public void ParsesSeveralChallengesAndEscapes()
    {
        var list = AuthChallenge.Parse("Basic realm=\"Registry \\\"x\\\"\", Bearer Realm=tok,  error=\"invalid_token\"");
        Assert.Equal(2, list.Count);
        Assert.Equal("basic", list[0].Scheme);
        Assert.Equal("Registry \"x\"", list[0].Parameters["realm"]);
        Assert.Equal("bearer", list[1].Scheme);
        Assert.Equal("tok", list[1].Parameters["realm"]);
        Assert.Equal("invalid_token", list[1].Parameters["error"]);
    }

    [Fact]
    public void DecodesRegistryAuthHeader()
    {
        Assert.Null(RegistryAuthHeader.Decode("e30="));
        Assert.Null(RegistryAuthHeader.Decode(null));
        Assert.Null(RegistryAuthHeader.Decode("not base64 !"));
        Assert.Equal(new RegistryCredential("u", "p"), RegistryAuthHeader.Decode(B64("{\"auth\":\"" + B64("u:p") + "\"}")));
        Assert.Equal(new RegistryCredential(RegistryClient.IdentityTokenUser, "rt"), RegistryAuthHeader.Decode(B64("{\"IdentityToken\":\"rt\"}").TrimEnd('=')));
    }

    private sealed class TempHome : IDisposable
    {
        public string Dir { get; } = Path.Combine(Path.GetTempPath(), "mocker-cred-test-" + Guid.NewGuid().ToString("N"));
        public TempHome() => Directory.CreateDirectory(Dir);
        public void Write(string relative, string text)
        {
            var full = Path.Combine(Dir, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, text);
        }
        public void Dispose() => Directory.Delete(Dir, recursive: true);
    }

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    [Fact]
    public async Task CredentialsFromAuthsMockerFirstThenDocker()
    {
        using var home = new TempHome();
        home.Write(".docker/config.json", """{"auths":{"https://index.docker.io/v1/":{"auth":"HUB"},"reg.example:5000":{"auth":"DD"},"other":{"auth":"OO"}}}"""
            .Replace("HUB", B64("hub:hubpw"), StringComparison.Ordinal).Replace("DD", B64("d:dpw"), StringComparison.Ordinal).Replace("OO", B64("o:opw"), StringComparison.Ordinal));
        home.Write(".mocker/config.json", """{"auths":{"reg.example:5000":{"auth":"MM"}}}""".Replace("MM", B64("m:pa:ss"), StringComparison.Ordinal));
        var creds = DockerConfigCredentials.FromHome(home.Dir);
        Assert.Equal(new RegistryCredential("m", "pa:ss"), await creds.GetAsync("reg.example:5000", default));
        Assert.Equal(new RegistryCredential("hub", "hubpw"), await creds.GetAsync("docker.io", default));
        Assert.Equal(new RegistryCredential("o", "opw"), await creds.GetAsync("other", default));
        Assert.Null(await creds.GetAsync("nowhere:1", default));
        Assert.DoesNotContain("hubpw", (await creds.GetAsync("docker.io", default))!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CredentialsFromHelperProtocol()
    {
        using var home = new TempHome();
        // A credential helper speaking docker-credential-helpers' protocol: server URL on stdin, JSON on stdout.
        var helper = Path.Combine(home.Dir, "bin", "docker-credential-mockertest");
        home.Write("bin/docker-credential-mockertest", """
            #!/bin/sh
            [ "$1" = get ] || exit 2
            read server
            if [ "$server" = "helper.example" ]; then
              printf '{"ServerURL":"%s","Username":"hu","Secret":"hs"}' "$server"
            else
              echo "credentials not found in native keychain"; exit 1
            fi
            """);
        File.SetUnixFileMode(helper, (UnixFileMode)0x1ED);
        home.Write(".docker/config.json", """{"credHelpers":{"helper.example":"mockertest"},"credsStore":"mockertest"}""");
        var oldPath = Environment.GetEnvironmentVariable("PATH");
        Environment.SetEnvironmentVariable("PATH", Path.GetDirectoryName(helper) + ":" + oldPath);
        try
        {
            var creds = DockerConfigCredentials.FromHome(home.Dir);
            Assert.Equal(new RegistryCredential("hu", "hs"), await creds.GetAsync("helper.example", default));
            Assert.Null(await creds.GetAsync("unknown.example", default));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", oldPath);
        }
    }

    private const string Sha = "sha256:";
    private static string D(char c) => Sha + new string(c, 64);

    [Fact]
    public void DetectsManifestTypes()
    {
        Assert.Equal(MediaTypes.DockerManifest, ManifestSelector.DetectMediaType(Encoding.UTF8.GetBytes(
            $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.DockerManifest}}","config":{"mediaType":"{{MediaTypes.DockerConfig}}","digest":"{{D('a')}}","size":1},"layers":[]}"""), null));
        Assert.Equal(MediaTypes.OciManifest, ManifestSelector.DetectMediaType(Encoding.UTF8.GetBytes(
            $$"""{"schemaVersion":2,"config":{"mediaType":"{{MediaTypes.OciConfig}}","digest":"{{D('a')}}","size":1},"layers":[]}"""), null));
        Assert.Equal(MediaTypes.OciIndex, ManifestSelector.DetectMediaType(Encoding.UTF8.GetBytes("""{"schemaVersion":2,"manifests":[]}"""), null));
        Assert.Equal(MediaTypes.DockerManifestList, ManifestSelector.DetectMediaType(Encoding.UTF8.GetBytes("""{"schemaVersion":2,"manifests":[]}"""), MediaTypes.DockerManifestList));
        var e = Assert.Throws<MockerException>(() => ManifestSelector.DetectMediaType(Encoding.UTF8.GetBytes("""{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"""), "application/vnd.docker.distribution.manifest.v1+prettyjws"));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("schema 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SelectsPlatformFromIndex()
    {
        var json = $$"""
            {"schemaVersion":2,"mediaType":"{{MediaTypes.DockerManifestList}}","manifests":[
              {"mediaType":"{{MediaTypes.DockerManifest}}","digest":"{{D('1')}}","size":10,"platform":{"architecture":"arm","os":"linux","variant":"v7"} },
              {"mediaType":"{{MediaTypes.DockerManifest}}","digest":"{{D('2')}}","size":10,"platform":{"architecture":"arm64","os":"linux","variant":"v8"} },
              {"mediaType":"{{MediaTypes.DockerManifest}}","digest":"{{D('3')}}","size":10,"platform":{"architecture":"amd64","os":"linux"} },
              {"mediaType":"{{MediaTypes.OciManifest}}","digest":"{{D('4')}}","size":10,"platform":{"architecture":"unknown","os":"unknown"} }]}
            """;
        var index = System.Text.Json.JsonSerializer.Deserialize(json, OciJsonContext.Default.ImageIndex)!;
        Assert.Equal(D('3'), ManifestSelector.SelectPlatform(index, ManifestSelector.ParsePlatform(null)).Digest.ToString());
        Assert.Equal(D('1'), ManifestSelector.SelectPlatform(index, ManifestSelector.ParsePlatform("linux/arm/v7")).Digest.ToString());
        Assert.Equal(D('2'), ManifestSelector.SelectPlatform(index, ManifestSelector.ParsePlatform("linux/arm64")).Digest.ToString());
        var e = Assert.Throws<MockerException>(() => ManifestSelector.SelectPlatform(index, ManifestSelector.ParsePlatform("windows/amd64")));
        Assert.Equal(ErrorKind.NotFound, e.Kind);
        Assert.Equal("no matching manifest for windows/amd64 in the manifest list entries", e.Message);
        Assert.Throws<MockerException>(() => ManifestSelector.ParsePlatform("linux"));
    }

    [Fact]
    public void RendersProgressLikeDocker()
    {
        Assert.Equal("160B", ProgressText.HumanSize(160));
        Assert.Equal("35.84kB", ProgressText.HumanSize(35840));
        Assert.Equal("1.982MB", ProgressText.HumanSize(1982333));
        Assert.Equal("[" + new string('=', 50) + ">]     160B/160B", ProgressText.Bar(160, 160));
        Assert.Equal("[>" + new string(' ', 50) + "]  35.84kB/1.982MB", ProgressText.Bar(35840, 1982333));
    }
}

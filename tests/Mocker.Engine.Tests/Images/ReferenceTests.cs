using Mocker.Engine.Errors;
using Mocker.Engine.Images;
using Xunit;

namespace Mocker.Engine.Tests.Images;

public sealed class ReferenceTests
{
    [Theory]
    [InlineData("busybox", "docker.io/library/busybox", "busybox")]
    [InlineData("busybox:latest", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36")]
    [InlineData("user/x", "docker.io/user/x", "user/x")]
    [InlineData("user/x:tag", "docker.io/user/x:tag", "user/x:tag")]
    [InlineData("docker.io/library/bb", "docker.io/library/bb", "bb")]
    [InlineData("docker.io/library/bb:t1", "docker.io/library/bb:t1", "bb:t1")]
    [InlineData("index.docker.io/library/bb", "docker.io/library/bb", "bb")]
    [InlineData("docker.io/myrepo/bb2", "docker.io/myrepo/bb2", "myrepo/bb2")]
    [InlineData("library/a/b", "docker.io/library/a/b", "library/a/b")]
    [InlineData("127.0.0.1:5000/x/y:1", "127.0.0.1:5000/x/y:1", "127.0.0.1:5000/x/y:1")]
    [InlineData("host:5000/a/b:tag", "host:5000/a/b:tag", "host:5000/a/b:tag")]
    [InlineData("localhost/foo", "localhost/foo", "localhost/foo")]
    [InlineData("localhost:5000/foo", "localhost:5000/foo", "localhost:5000/foo")]
    [InlineData("example.com/a", "example.com/a", "example.com/a")]
    [InlineData("a.b-c_d__e", "docker.io/library/a.b-c_d__e", "a.b-c_d__e")]
    [InlineData("a--b", "docker.io/library/a--b", "a--b")]
    [InlineData("Foo.com/bar", "Foo.com/bar", "Foo.com/bar")]
    [InlineData("bb@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "docker.io/library/bb@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "bb@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("bb:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "docker.io/library/bb:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "bb:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("[::1]:5000/x", "[::1]:5000/x", "[::1]:5000/x")]
    public void ParsesAndNormalises(string input, string normalised, string familiar)
    {
        var r = Reference.Parse(input);
        Assert.Equal(normalised, r.ToString());
        Assert.Equal(familiar, r.FamiliarString());
    }

    [Theory]
    [InlineData("Busybox", "invalid reference format: repository name must be lowercase")]
    [InlineData("user/UPPER", "invalid reference format: repository name must be lowercase")]
    [InlineData("bb:", "invalid reference format")]
    [InlineData("", "invalid reference format")]
    [InlineData("-bb", "invalid reference format")]
    [InlineData("bb:-tag", "invalid reference format")]
    [InlineData("a//b", "invalid reference format")]
    [InlineData("bb@sha256:abc", "invalid reference format")]
    [InlineData("bb:t@", "invalid reference format")]
    [InlineData("a b", "invalid reference format")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "invalid repository name (0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef), cannot specify 64-byte hexadecimal strings")]
    public void RejectsInvalid(string input, string message)
    {
        var e = Assert.Throws<MockerException>(() => Reference.Parse(input));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void DefaultTagAndWithTag()
    {
        Assert.Equal("busybox:latest", Reference.Parse("busybox").WithDefaultTag().FamiliarString());
        Assert.Equal("docker.io/library/bb:t1", Reference.Parse("docker.io/library/bb").WithTag("t1").ToString());
        Assert.Throws<MockerException>(() => Reference.Parse("bb").WithTag("bad tag"));
    }

    [Theory]
    [InlineData("bb", "bb:latest", true)]
    [InlineData("bb:*", "bb:latest", true)]
    [InlineData("b?", "bb:latest", true)]
    [InlineData("bb:t*", "bb:latest", false)]
    [InlineData("*", "user/x:1", false)]
    [InlineData("*/*", "user/x:1", true)]
    [InlineData("127.0.0.1:5000/*/*", "127.0.0.1:5000/x/y:1", true)]
    public void FamiliarMatch(string pattern, string reference, bool expected) =>
        Assert.Equal(expected, Reference.Parse(reference).FamiliarMatch(pattern));
}

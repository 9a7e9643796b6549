using Mocker.Engine.Build;
using Mocker.Engine.Build.Instructions;
using Mocker.Engine.Build.Parser;
using Xunit;

namespace Mocker.Engine.Tests.Build;

public class RunMountTests
{
    private static RunInstruction Run(string line) =>
        (RunInstruction)InstructionParser.Parse(DockerfileParser.Parse("FROM b\n" + line + "\n").Nodes[1]);

    [Fact]
    public void BindDefaultsToReadOnlyAndAcceptsAliases()
    {
        var m = Assert.Single(Run("RUN --mount=type=bind,src=dir,dst=/src,from=build true").Mounts);
        Assert.Equal(("bind", "/src", "dir", "build", false), (m.Type, m.Target, m.Source, m.From, m.ReadWrite));
        Assert.True(Assert.Single(Run("RUN --mount=target=/src,rw true").Mounts).ReadWrite);
    }

    [Fact]
    public void CacheAndTmpfsOptions()
    {
        var run = Run("RUN --mount=type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0700,uid=1,gid=2 --mount=type=tmpfs,target=/t,size=64m --network=none true");
        Assert.Equal(2, run.Mounts.Count);
        var c = run.Mounts[0];
        Assert.Equal(("cache", "/root/.cache", "pip", "locked", 0x1C0, 1, 2, true), (c.Type, c.Target, c.Id, c.Sharing, c.Mode, c.Uid, c.Gid, c.ReadWrite));
        Assert.Equal(64L << 20, run.Mounts[1].Size);
        Assert.Equal("none", run.Network);
    }

    [Theory]
    [InlineData("RUN --mount=type=volume,target=/x true", "unsupported mount type")]
    [InlineData("RUN --mount=type=bind true", "requires target")]
    [InlineData("RUN --mount=type=tmpfs,target=/x,size=lots true", "invalid size")]
    [InlineData("RUN --mount=type=cache,target=/x,sharing=maybe true", "unsupported sharing")]
    [InlineData("RUN --mount=type=tmpfs,target=/x,from=a true", "unexpected key 'from'")]
    [InlineData("RUN --network=bridge true", "unsupported network mode")]
    public void BadMountsNameTheProblem(string line, string expected)
    {
        var e = Assert.Throws<BuildException>(() => Run(line));
        Assert.StartsWith("Mockerfile:2:1: RUN: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SecretTargetDefaultsToRunSecrets()
    {
        Assert.Equal("/run/secrets/tok", Assert.Single(Run("RUN --mount=type=secret,id=tok true").Mounts).Target);
        var envOnly = Assert.Single(Run("RUN --mount=type=secret,id=tok,env=TOKEN true").Mounts);
        Assert.Equal(("", "tok", "TOKEN"), (envOnly.Target, envOnly.Id, envOnly.Env));
        Assert.Equal("key", Assert.Single(Run("RUN --mount=type=secret,target=/etc/key,required true").Mounts).Id);
    }

    [Fact]
    public void MountStubsAreRemovedUnlessALowerLayerHasThem()
    {
        var root = Directory.CreateTempSubdirectory("mocker-stubs-");
        try
        {
            var upper = Path.Combine(root.FullName, "upper");
            var lower = Path.Combine(root.FullName, "lower");
            Directory.CreateDirectory(Path.Combine(upper, "a/b/c"));
            Directory.CreateDirectory(Path.Combine(upper, "keep/me"));
            Directory.CreateDirectory(Path.Combine(upper, "run"));
            File.WriteAllText(Path.Combine(upper, "run/file"), "");
            Directory.CreateDirectory(Path.Combine(upper, "data"));
            File.WriteAllText(Path.Combine(upper, "data/x"), "content");
            Directory.CreateDirectory(Path.Combine(lower, "keep"));
            RunSteps.RemoveMountStubs(upper, [lower], ["/a/b/c", "/keep/me", "/run/file", "/data"]);
            Assert.False(Directory.Exists(Path.Combine(upper, "a")));
            Assert.False(Directory.Exists(Path.Combine(upper, "keep/me")));
            Assert.True(Directory.Exists(Path.Combine(upper, "keep")));
            Assert.False(Path.Exists(Path.Combine(upper, "run")));
            Assert.True(File.Exists(Path.Combine(upper, "data/x")));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }
}

using Mocker.Api;
using Mocker.Engine.Build;
using Mocker.Engine.Errors;
using Xunit;

namespace Mocker.Engine.Tests.Build;

public class ConfigChangesTests
{
    [Fact]
    public void AppliesEachChangeInOrder()
    {
        var c = ConfigChanges.Apply(new ContainerConfig { Env = ["HOME=/root"] },
        [
            "ENV DEBUG=true",
            "ENV DATA=$HOME/data",
            "CMD [\"/app\", \"--serve\"]",
            "ENTRYPOINT /entry.sh",
            "EXPOSE 8080",
            "LABEL version=\"1.0\" team=infra",
            "USER 1000:1000",
            "WORKDIR /srv",
            "VOLUME /data",
            "STOPSIGNAL SIGINT",
            "ONBUILD RUN make",
        ]);
        Assert.Equal(["HOME=/root", "DEBUG=true", "DATA=/root/data"], c.Env!);
        Assert.Equal(["/app", "--serve"], c.Cmd!);
        Assert.Equal(["/bin/sh", "-c", "/entry.sh"], c.Entrypoint!);
        Assert.Equal(["8080/tcp"], c.ExposedPorts!.Keys);
        Assert.Equal("1.0", c.Labels!["version"]);
        Assert.Equal("infra", c.Labels!["team"]);
        Assert.Equal("1000:1000", c.User);
        Assert.Equal("/srv", c.WorkingDir);
        Assert.Equal(["/data"], c.Volumes!.Keys);
        Assert.Equal("SIGINT", c.StopSignal);
        Assert.Equal(["RUN make"], c.OnBuild!);
    }

    [Theory]
    [InlineData("RUN echo x", "RUN is not a valid change command")]
    [InlineData("FORM x", "unknown instruction: FORM (did you mean FROM?)")]
    [InlineData("EXPOSE notaport", "invalid containerPort: notaport")]
    [InlineData("ENV", "requires at least one argument")]
    public void BadLinesAreInvalidArgumentNamingTheLine(string line, string expected)
    {
        var e = Assert.Throws<MockerException>(() => ConfigChanges.Apply(new ContainerConfig(), [line]));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains(line, e.Message, StringComparison.Ordinal);
    }
}

using Mocker.Cli;
using Xunit;

namespace Mocker.Cli.Tests;

public class ParsingTests
{
    private static System.CommandLine.ParseResult Parse(params string[] args)
    {
        var root = CommandTree.Build();
        return root.Parse(ArgsPrep.SeparateCommand(root, args));
    }

    [Fact]
    public void RunStopsFlagParsingAtTheImage()
    {
        var pr = Parse("run", "--rm", "-it", "-e", "A=1", "bb", "sh", "-c", "echo -n hi");
        Assert.Empty(pr.Errors);
        Assert.Equal("run", pr.CommandResult.Command.Name);
        var values = pr.CommandResult.Command.Arguments.Select(a => pr.GetValue<object>(a.Name)).ToList();
        Assert.Equal("bb", values[0]);
        Assert.Equal(["sh", "-c", "echo -n hi"], (string[])values[1]!);
        Assert.True(pr.GetValue<bool>("--tty"));
        Assert.True(pr.GetValue<bool>("--interactive"));
        Assert.Equal(["A=1"], pr.GetValue<string[]>("--env")!);
    }

    [Fact]
    public void GlobalHostBeforeVerbAndContainerGroupAlias()
    {
        var pr = Parse("-H", "unix:///tmp/x.sock", "container", "run", "-d", "--name", "web", "bb", "httpd", "-f");
        Assert.Empty(pr.Errors);
        Assert.Equal("unix:///tmp/x.sock", pr.GetValue(Cli.Host));
        Assert.Equal("web", pr.GetValue<string?>("--name"));
        Assert.Equal(["httpd", "-f"], pr.GetValue<string[]>("COMMAND")!);
    }

    [Fact]
    public void ExecKeepsCommandFlags()
    {
        var pr = Parse("exec", "-i", "web", "ls", "-la");
        Assert.Empty(pr.Errors);
        Assert.Equal("web", pr.GetValue<string>("CONTAINER"));
        Assert.Equal(["ls", "-la"], pr.GetValue<string[]>("COMMAND")!);
    }

    [Fact]
    public void RepeatableFiltersAndAliases()
    {
        var pr = Parse("container", "ls", "-a", "--filter", "status=exited", "--filter", "label=a=b", "--format", "{{.ID}}");
        Assert.Empty(pr.Errors);
        Assert.Equal(["status=exited", "label=a=b"], pr.GetValue<string[]>("--filter")!);
        var filters = Cli.Filters(pr.GetValue<string[]>("--filter"))!;
        Assert.Equal(["exited"], filters["status"]);
        Assert.Equal(["a=b"], filters["label"]);
    }

    [Fact]
    public void StopTimeoutAlias()
    {
        Assert.Equal(3, Parse("stop", "--timeout", "3", "web").GetValue<int?>("--time"));
        Assert.Equal(4, Parse("stop", "-t", "4", "web").GetValue<int?>("--time"));
    }

    [Fact]
    public void UnknownFlagIsAnError()
    {
        var pr = Parse("ps", "--bogus");
        Assert.NotEmpty(pr.Errors);
        Assert.Contains("--bogus", pr.UnmatchedTokens);
    }

    [Fact]
    public void MissingImageIsAnError() => Assert.NotEmpty(Parse("run").Errors);

    [Theory]
    [InlineData("no", "no", 0)]
    [InlineData("on-failure:3", "on-failure", 3)]
    [InlineData("unless-stopped", "unless-stopped", 0)]
    public void RestartPolicies(string text, string name, int max)
    {
        var p = RunOptions.ParseRestart(text);
        Assert.Equal(name, p.Name);
        Assert.Equal(max, p.MaximumRetryCount);
    }

    [Fact]
    public void UlimitsAndLabels()
    {
        var u = RunOptions.ParseUlimits(["nofile=1024:2048", "nproc=10"])!;
        Assert.Equal(1024, u[0].Soft);
        Assert.Equal(2048, u[0].Hard);
        Assert.Equal(10, u[1].Hard);
        Assert.Throws<UsageException>(() => RunOptions.ParseUlimits(["nofile=9:1"]));
        var l = RunOptions.ParseLabels(["a=1", "b"]);
        Assert.Equal("1", l["a"]);
        Assert.Equal("", l["b"]);
    }

    [Fact]
    public void StartErrorCodes()
    {
        Assert.Equal(127, ContainerCommands.StartErrorCode("OCI runtime create failed: exec: \"nosuch\": executable file not found in $PATH: unknown"));
        Assert.Equal(126, ContainerCommands.StartErrorCode("exec: \"/etc\": permission denied"));
        Assert.Equal(125, ContainerCommands.StartErrorCode("something else"));
    }
}

using Mocker.Api;
using Mocker.Engine.Build;
using Mocker.Engine.Build.Instructions;
using Mocker.Engine.Build.Parser;
using Mocker.Engine.Build.Shell;
using Xunit;

namespace Mocker.Engine.Tests.Build;

public class InstructionTests
{
    private static Instruction Parse(string line) =>
        InstructionParser.Parse(DockerfileParser.Parse("FROM a\n" + line + "\n").Nodes[^1]);

    [Fact]
    public void FromWithPlatformAndStageName()
    {
        var f = (FromInstruction)InstructionParser.Parse(DockerfileParser.Parse("FROM --platform=linux/amd64 busybox:1 AS Build\n").Nodes[0]);
        Assert.Equal(("busybox:1", "build", "linux/amd64"), (f.BaseName, f.StageName, f.Platform));
    }

    [Fact]
    public void FromWithBadArgumentCount()
    {
        var e = Assert.Throws<BuildException>(() => InstructionParser.Parse(DockerfileParser.Parse("FROM a b\n").Nodes[0]));
        Assert.Equal("Mockerfile:1:1: FROM: requires either one or three arguments", e.Message);
    }

    [Fact]
    public void RunShellAndExecForms()
    {
        var shell = (RunInstruction)Parse("RUN echo $HOME");
        Assert.True(shell.PrependShell);
        Assert.Equal(["echo $HOME"], shell.Command);
        var exec = (RunInstruction)Parse("RUN [\"echo\", \"x\"]");
        Assert.False(exec.PrependShell);
        Assert.Equal(["echo", "x"], exec.Command);
    }

    [Fact]
    public void CopyFlags()
    {
        var c = (CopyInstruction)Parse("COPY --from=0 --chown=app:app --chmod=0644 a b /dst/");
        Assert.Equal(["a", "b"], c.Sources);
        Assert.Equal(("/dst/", "0", "app:app", "0644", false), (c.Dest, c.From, c.Chown, c.Chmod, c.IsAdd));
    }

    [Theory]
    [InlineData("COPY onlyone", "COPY: requires at least two arguments")]
    [InlineData("COPY --bogus=1 a b", "COPY: Unknown flag: bogus")]
    [InlineData("ADD --from=x a b", "ADD: Unknown flag: from")]
    [InlineData("SHELL /bin/sh -c", "SHELL: requires the arguments to be in JSON form")]
    [InlineData("USER", "USER: requires exactly one argument")]
    [InlineData("HEALTHCHECK --retries=x CMD true", "HEALTHCHECK: --retries cannot be negative or non-numeric")]
    [InlineData("HEALTHCHECK --interval=5 CMD true", "HEALTHCHECK: time: invalid duration \"5\"")]
    public void Errors(string line, string expected)
    {
        var e = Assert.Throws<BuildException>(() => Parse(line));
        Assert.StartsWith("Mockerfile:2:1: " + expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HealthcheckDurationsInNanoseconds()
    {
        var h = (HealthcheckInstruction)Parse("HEALTHCHECK --interval=1m30s --timeout=500ms --retries=3 CMD [\"curl\", \"-f\", \"x\"]");
        Assert.Equal(["CMD", "curl", "-f", "x"], h.Health.Test!);
        Assert.Equal(90_000_000_000L, h.Health.Interval);
        Assert.Equal(500_000_000L, h.Health.Timeout);
        Assert.Equal(3, h.Health.Retries);
        var sh = (HealthcheckInstruction)Parse("HEALTHCHECK CMD curl -f x || exit 1");
        Assert.Equal(["CMD-SHELL", "curl -f x || exit 1"], sh.Health.Test!);
    }

    [Fact]
    public void EnvExpansionUsesValuesBeforeTheInstruction()
    {
        var env = (EnvInstruction)Parse("ENV A=new B=$A C=\"${A} q\"");
        var expanded = (EnvInstruction)env.Expand(new ShellLex(), ShellLex.Lookup(["A=old"]));
        Assert.Equal(["A=new", "B=old", "C=old q"], expanded.Pairs.Select(p => p.Key + "=" + p.Value));
    }

    [Fact]
    public void ArgWithAndWithoutDefault()
    {
        var a = (ArgInstruction)Parse("ARG V=1.0 NAME");
        Assert.Equal([KeyValuePair.Create("V", (string?)"1.0"), KeyValuePair.Create("NAME", (string?)null)], a.Args);
    }

    [Fact]
    public void ConfigApplierFollowsDocker()
    {
        var c = new ContainerConfig { Env = ["PATH=/bin", "A=1"], WorkingDir = "/app" };
        c = ConfigApplier.Apply(c, Expand("ENV A=2 B=3"))!;
        Assert.Equal(["PATH=/bin", "A=2", "B=3"], c.Env!);
        c = ConfigApplier.Apply(c, Expand("WORKDIR sub/../lib"))!;
        Assert.Equal("/app/lib", c.WorkingDir);
        c = ConfigApplier.Apply(c, Expand("EXPOSE 80 8000-8001/udp"))!;
        Assert.Equal(["80/tcp", "8000/udp", "8001/udp"], c.ExposedPorts!.Keys.Order());
        c = ConfigApplier.Apply(c, Expand("CMD echo hi"))!;
        Assert.Equal(["/bin/sh", "-c", "echo hi"], c.Cmd!);
        c = ConfigApplier.Apply(c, Expand("SHELL [\"/bin/bash\", \"-euc\"]"))!;
        c = ConfigApplier.Apply(c, Expand("ENTRYPOINT run me"))!;
        Assert.Equal(["/bin/bash", "-euc", "run me"], c.Entrypoint!);
        c = ConfigApplier.Apply(c, Expand("VOLUME [\"/data\"]"))!;
        Assert.Contains("/data", c.Volumes!.Keys);
        c = ConfigApplier.Apply(c, Expand("ONBUILD RUN echo x"))!;
        Assert.Equal(["RUN echo x"], c.OnBuild!);
    }

    private static Instruction Expand(string line) => Parse(line).Expand(new ShellLex(), _ => null);

    [Fact]
    public void PlanSelectsOnlyNeededStages()
    {
        var parsed = DockerfileParser.Parse("""
            ARG BASE=busybox
            FROM ${BASE} AS deps
            RUN echo deps
            FROM busybox AS unused
            RUN echo unused
            FROM busybox AS final
            COPY --from=deps /x /y
            FROM busybox AS other
            """);
        var plan = BuildPlan.Create(parsed, "Mockerfile", "final");
        Assert.Single(plan.GlobalArgs);
        Assert.Equal(2, plan.TargetIndex);
        Assert.Equal([0, 2], plan.NeededStages);
        var all = BuildPlan.Create(parsed, "Mockerfile", null);
        Assert.Equal([3], all.NeededStages);
        var e = Assert.Throws<BuildException>(() => BuildPlan.Create(parsed, "Mockerfile", "nope"));
        Assert.Equal("failed to reach build target nope in Dockerfile", e.Message);
    }

    [Fact]
    public void FromNamesAreExpandedWithGlobalArgsBeforeResolvingStages()
    {
        var parsed = DockerfileParser.Parse("""
            ARG BASE=builder
            ARG ALT=${BASE}
            FROM busybox AS builder
            FROM busybox AS other
            FROM ${ALT}
            """);
        Assert.Equal([0, 2], BuildPlan.Create(parsed, "Mockerfile", null).NeededStages);
        Assert.Equal([1, 2], BuildPlan.Create(parsed, "Mockerfile", null, new Dictionary<string, string?> { ["ALT"] = "other" }).NeededStages);
        var mounts = DockerfileParser.Parse("FROM busybox AS a\nFROM busybox AS b\nFROM busybox\nRUN --mount=from=a,target=/a true\n");
        Assert.Equal([0, 2], BuildPlan.Create(mounts, "Mockerfile", null).NeededStages);
    }

    [Fact]
    public void InstructionBeforeFromFails()
    {
        var e = Assert.Throws<BuildException>(() => BuildPlan.Create(DockerfileParser.Parse("RUN x\nFROM a\n"), "Mockerfile", null));
        Assert.Equal("Mockerfile:1:1: no build stage in current context", e.Message);
    }
}

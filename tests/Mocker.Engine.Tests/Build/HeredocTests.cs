using Mocker.Engine.Build;
using Mocker.Engine.Build.Instructions;
using Mocker.Engine.Build.Parser;
using Mocker.Engine.Build.Shell;
using Xunit;

namespace Mocker.Engine.Tests.Build;

public class HeredocTests
{
    private static readonly string[] Sh = ["/bin/sh", "-c"];

    private static Node Single(string text, int index = 1) => DockerfileParser.Parse(text).Nodes[index];

    [Fact]
    public void RunHeredocBodyBecomesTheShellScript()
    {
        var node = Single("FROM busybox\nRUN <<EOF\necho a\necho $HOME\nEOF\nCMD x\n");
        var h = Assert.Single(node.Heredocs);
        Assert.Equal(("EOF", "echo a\necho $HOME\n", true, false), (h.Name, h.Content, h.Expand, h.Chomp));
        Assert.Equal((2, 5), (node.StartLine, node.EndLine));
        var run = (RunInstruction)InstructionParser.Parse(node);
        var (argv, script) = RunSteps.Command(run, Sh);
        Assert.Null(script);
        Assert.Equal(["/bin/sh", "-c", "echo a\necho $HOME\n"], argv);
        Assert.Equal("cmd", DockerfileParser.Parse("FROM busybox\nRUN <<EOF\necho a\nEOF\nCMD x\n").Nodes[2].Keyword);
    }

    [Fact]
    public void DashStripsLeadingTabsFromBodyAndDelimiter()
    {
        var h = Assert.Single(Single("FROM b\nRUN <<-EOT\n\t\techo a\n\t  b\n\tEOT\n").Heredocs);
        Assert.True(h.Chomp);
        Assert.Equal("echo a\n  b\n", h.Content);
        Assert.Equal("\t\techo a\n\t  b\n\tEOT\n", h.Raw);
    }

    [Theory]
    [InlineData("<<'EOF'")]
    [InlineData("<<\"EOF\"")]
    [InlineData("<<E\"O\"F")]
    [InlineData("<<\\EOF")]
    public void QuotedDelimiterDisablesExpansion(string marker)
    {
        var h = Assert.Single(Single($"FROM b\nCOPY {marker} /x\nhi $A\nEOF\n").Heredocs);
        Assert.Equal("EOF", h.Name);
        Assert.False(h.Expand);
        var copy = (CopyInstruction)InstructionParser.Parse(Single($"FROM b\nCOPY {marker} /x\nhi $A\nEOF\n"));
        var expanded = (CopyInstruction)copy.Expand(new ShellLex(), k => k == "A" ? "1" : null);
        Assert.Equal("hi $A\n", Assert.Single(expanded.Heredocs).Content);
    }

    [Fact]
    public void CopyHeredocIsExpandedLikeAPosixHeredoc()
    {
        var copy = (CopyInstruction)InstructionParser.Parse(Single("FROM b\nCOPY <<-EOT /script.sh\n\techo \"hello ${FOO}\" '$FOO' \\$FOO\nEOT\n"));
        Assert.Empty(copy.Sources);
        Assert.Equal("/script.sh", copy.Dest);
        var expanded = (CopyInstruction)copy.Expand(new ShellLex(), k => k == "FOO" ? "bar" : null);
        Assert.Equal("echo \"hello bar\" 'bar' $FOO\n", Assert.Single(expanded.Heredocs).Content);
    }

    [Fact]
    public void SeveralHeredocsOnOneLineAreReadInOrderAndGivenToTheShell()
    {
        var text = "FROM b\nRUN <<FILE1 cat > file1 && <<FILE2 cat > file2\nI am\nfirst\nFILE1\nI am\nsecond\nFILE2\nRUN echo done\n";
        var parsed = DockerfileParser.Parse(text);
        var node = parsed.Nodes[1];
        Assert.Equal(["FILE1", "FILE2"], node.Heredocs.Select(h => h.Name).ToArray());
        Assert.Equal("I am\nsecond\n", node.Heredocs[1].Content);
        Assert.Equal(3, parsed.Nodes.Count);
        var (argv, _) = RunSteps.Command((RunInstruction)InstructionParser.Parse(node), Sh);
        Assert.Equal("<<FILE1 cat > file1 && <<FILE2 cat > file2\nI am\nfirst\nFILE1\nI am\nsecond\nFILE2\n", argv[2]);
    }

    [Fact]
    public void HeredocFeedingACommandKeepsTheCommandForTheShell()
    {
        var node = Single("FROM b\nRUN python3 <<EOF\nprint(1)\nEOF\n");
        var (argv, script) = RunSteps.Command((RunInstruction)InstructionParser.Parse(node), Sh);
        Assert.Null(script);
        Assert.Equal(["/bin/sh", "-c", "python3 <<EOF\nprint(1)\nEOF\n"], argv);
    }

    [Fact]
    public void ShebangHeredocRunsAsAScriptFile()
    {
        var node = Single("FROM b\nRUN <<EOT\n#!/bin/busybox sh\necho hi\nEOT\n");
        var (argv, script) = RunSteps.Command((RunInstruction)InstructionParser.Parse(node), Sh);
        Assert.Equal(["/dev/pipes/EOT"], argv);
        Assert.Equal("#!/bin/busybox sh\necho hi\n", script!.Content);
    }

    [Fact]
    public void ExecFormAndOtherInstructionsHaveNoHeredocs()
    {
        Assert.Empty(Single("FROM b\nRUN [\"echo\", \"<<EOF\"]\n").Heredocs);
        var parsed = DockerfileParser.Parse("FROM b\nCMD cat <<EOF\n");
        Assert.Empty(parsed.Nodes[1].Heredocs);
    }

    [Fact]
    public void CopyMixesHeredocAndContextSources()
    {
        var copy = (CopyInstruction)InstructionParser.Parse(Single("FROM b\nCOPY a.txt <<one <<two /dst/\n1\none\n2\ntwo\n"));
        Assert.Equal(["a.txt"], copy.Sources);
        Assert.Equal(["one", "two"], copy.Heredocs.Select(h => h.Name).ToArray());
        Assert.Equal("2\n", copy.Heredocs[1].Content);
    }

    [Fact]
    public void UnterminatedHeredocNamesFileAndLine()
    {
        var e = Assert.Throws<BuildException>(() => DockerfileParser.Parse("FROM b\n\nRUN <<EOF\necho a\nEOFX\n"));
        Assert.StartsWith("Mockerfile:3:1: RUN: unterminated heredoc <<EOF", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SecondUnterminatedHeredocIsReported()
    {
        var e = Assert.Throws<BuildException>(() => DockerfileParser.Parse("FROM b\nCOPY <<A <<B /d/\na\nA\nb\n"));
        Assert.Contains("unterminated heredoc <<B", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DumpShowsHeredocs()
    {
        Assert.Equal("(run \"<<'X'\" (heredoc X noexpand \"a\\n\"))", Single("FROM b\nRUN <<'X'\na\nX\n").Dump());
    }
}

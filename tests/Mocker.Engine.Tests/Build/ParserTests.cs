using System.Runtime.CompilerServices;
using Mocker.Engine.Build;
using Mocker.Engine.Build.Parser;
using Xunit;

namespace Mocker.Engine.Tests.Build;

public class ParserTests
{
    private static string TestFilesDir([CallerFilePath] string self = "") => Path.Combine(Path.GetDirectoryName(self)!, "testfiles");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var dir in Directory.GetDirectories(TestFilesDir()).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(dir));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GoldenFiles(string name)
    {
        var dir = Path.Combine(TestFilesDir(), name);
        var parsed = DockerfileParser.Parse(File.ReadAllText(Path.Combine(dir, "Mockerfile")));
        var dump = string.Join("\n", parsed.Nodes.Select(n => n.Dump())) + "\n";
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "result")), dump);
    }

    [Fact]
    public void UnknownInstructionNamesFileLineColumnAndSuggests()
    {
        var e = Assert.Throws<BuildException>(() => DockerfileParser.Parse("FROM busybox\n\nFORM x\n"));
        Assert.Equal("Mockerfile:3:1: unknown instruction: FORM (did you mean FROM?)", e.Message);
    }

    [Fact]
    public void UnknownInstructionWithoutCloseMatchHasNoSuggestion()
    {
        var e = Assert.Throws<BuildException>(() => DockerfileParser.Parse("FROM busybox\nBOGUSWORD x\n", "Dockerfile"));
        Assert.Equal("Dockerfile:2:1: unknown instruction: BOGUSWORD", e.Message);
    }

    [Fact]
    public void LineNumbersSpanContinuations()
    {
        var parsed = DockerfileParser.Parse("# c\nFROM a\nRUN x \\\n  y \\\n  z\nCMD q\n");
        Assert.Equal((2, 2), (parsed.Nodes[0].StartLine, parsed.Nodes[0].EndLine));
        Assert.Equal((3, 5), (parsed.Nodes[1].StartLine, parsed.Nodes[1].EndLine));
        Assert.Equal((6, 6), (parsed.Nodes[2].StartLine, parsed.Nodes[2].EndLine));
        Assert.Equal("RUN x \\\n  y \\\n  z", parsed.Nodes[1].Original);
    }

    [Fact]
    public void EscapeDirectiveOnlyAtTop()
    {
        var top = DockerfileParser.Parse("# escape=`\nFROM a\n");
        Assert.Equal('`', top.EscapeToken);
        var late = DockerfileParser.Parse("FROM a\n# escape=`\nRUN x `\n");
        Assert.Equal('\\', late.EscapeToken);
        Assert.Equal("x `", late.Nodes[1].Args[0]);
    }

    [Fact]
    public void InvalidEscapeTokenFails()
    {
        var e = Assert.Throws<BuildException>(() => DockerfileParser.Parse("# escape=x\nFROM a\n"));
        Assert.Contains("Mockerfile:1:1: invalid escape token 'x'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SyntaxDirectiveIsIgnoredWithWarning()
    {
        var r = DockerfileParser.Parse("# syntax=docker/dockerfile:1.4\nFROM a\n");
        Assert.Single(r.Nodes);
        Assert.Contains(r.Warnings, w => w.Contains("syntax directive", StringComparison.Ordinal));
    }

    [Fact]
    public void KeywordsAreCaseInsensitive()
    {
        var r = DockerfileParser.Parse("fRoM a\nRuN echo\n");
        Assert.Equal(["from", "run"], r.Nodes.Select(n => n.Keyword));
    }

    [Theory]
    [InlineData("ONBUILD ONBUILD RUN x", "ONBUILD isn't allowed as an ONBUILD trigger")]
    [InlineData("ONBUILD FROM a", "FROM isn't allowed as an ONBUILD trigger")]
    [InlineData("ENV ONLYKEY", "ENV must have two arguments")]
    [InlineData("LABEL a=b c", "Syntax error - can't find = in \"c\"")]
    [InlineData("HEALTHCHECK BOGUS x", "requires the first argument to be CMD or NONE")]
    public void SyntaxErrorsNameTheLine(string line, string expected)
    {
        var e = Assert.Throws<BuildException>(() => DockerfileParser.Parse("FROM a\n" + line + "\n"));
        Assert.StartsWith("Mockerfile:2:1: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ByteOrderMarkAndCrLfAreAccepted()
    {
        var r = DockerfileParser.Parse("\uFEFFFROM a\r\nRUN b\r\n");
        Assert.Equal("a", r.Nodes[0].Args[0]);
        Assert.Equal("b", r.Nodes[1].Args[0]);
    }
}

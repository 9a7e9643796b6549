using Mocker.Engine.Build;
using Mocker.Engine.Build.Instructions;
using Mocker.Engine.Build.Parser;
using Xunit;

namespace Mocker.Engine.Tests.Build;

public class PathPatternsTests
{
    [Theory]
    [InlineData("*.txt", "a.txt", true)]
    [InlineData("*.txt", "d/a.txt", false)]
    [InlineData("**/*.txt", "d/e/a.txt", true)]
    [InlineData("**/*.txt", "a.txt", true)]
    [InlineData("d", "d/e/f", true)]
    [InlineData("d/**/f", "d/f", true)]
    [InlineData("d/**/f", "d/x/y/f", true)]
    [InlineData("d/?", "d/ab", false)]
    public void Matches(string pattern, string path, bool expected) =>
        Assert.Equal(expected, new PathPatterns([pattern]).Matches(path));

    [Fact]
    public void LastMatchWinsAndNegationReincludes()
    {
        var p = new PathPatterns(["*.md", "!README.md"]);
        Assert.True(p.Matches("notes.md"));
        Assert.False(p.Matches("README.md"));
    }

    [Fact]
    public void CopyFlagsAreParsed()
    {
        var node = DockerfileParser.Parse("FROM b\nCOPY --link --parents --exclude=*.md --exclude=tmp src/ /dst/\n").Nodes[1];
        var copy = (CopyInstruction)InstructionParser.Parse(node);
        Assert.True(copy.Link);
        Assert.True(copy.Parents);
        Assert.Equal(["*.md", "tmp"], copy.Excludes);
        var add = (CopyInstruction)InstructionParser.Parse(DockerfileParser.Parse("FROM b\nADD --checksum=sha256:00 --link=false http://h/f /\n").Nodes[1]);
        Assert.False(add.Link);
        Assert.Equal("sha256:00", add.Checksum);
        var e = Assert.Throws<BuildException>(() => InstructionParser.Parse(DockerfileParser.Parse("FROM b\nADD --checksum=md5:00 http://h/f /\n").Nodes[1]));
        Assert.Contains("unsupported checksum", e.Message, StringComparison.Ordinal);
    }
}

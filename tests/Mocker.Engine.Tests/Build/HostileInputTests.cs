using System.Diagnostics;
using System.Text;
using Mocker.Engine.Build;
using Mocker.Engine.Build.Parser;
using Mocker.Engine.Build.Shell;
using Xunit;

namespace Mocker.Engine.Tests.Build;

/// <summary>Input an attacker or a broken generator could send: every case fails fast with file:line, or parses in linear time.</summary>
public class HostileInputTests
{
    [Fact]
    public void ContinuationAtEndOfFileIsAnError()
    {
        var e = Assert.Throws<BuildException>(() => DockerfileParser.Parse("FROM b\nRUN echo a \\\n"));
        Assert.Equal("Mockerfile:2:1: unexpected end of file: the line continuation at line 3 is not followed by a line", e.Message);
        var e2 = Assert.Throws<BuildException>(() => DockerfileParser.Parse("FROM b\nRUN echo a \\\n# only a comment\n", "Dockerfile"));
        Assert.StartsWith("Dockerfile:2:1: unexpected end of file", e2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LineLongerThanOneMebibyteIsRejected()
    {
        var text = "FROM b\nRUN echo " + new string('a', DockerfileParser.MaxLineLength) + "\n";
        var e = Assert.Throws<BuildException>(() => DockerfileParser.Parse(text));
        Assert.StartsWith("Mockerfile:2:1: line is too long", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ContinuationsCannotBuildAnOverlongInstruction()
    {
        var chunk = new string('a', 600_000);
        var e = Assert.Throws<BuildException>(() => DockerfileParser.Parse($"FROM b\nRUN {chunk} \\\n {chunk}\n"));
        Assert.StartsWith("Mockerfile:2:1: instruction is too long", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RUN ")]
    [InlineData("# escape=")]
    [InlineData("RUN --a ")]
    [InlineData("LABEL ")]
    [InlineData("COPY <<")]
    public void NearLimitLinesParseInLinearTime(string prefix)
    {
        var unit = prefix switch { "RUN --a " => "--a ", "LABEL " => "k=v ", "COPY <<" => "<<E ", _ => " " };
        var sb = new StringBuilder(prefix);
        while (sb.Length + unit.Length < DockerfileParser.MaxLineLength - 8)
        {
            sb.Append(unit);
        }
        var text = (prefix.StartsWith('#') ? sb + "\n" : "FROM b\n" + sb + " x /d/\n") + (prefix == "COPY <<" ? "E\n" : "");
        var watch = Stopwatch.StartNew();
        try
        {
            DockerfileParser.Parse(text);
        }
        catch (BuildException)
        {
            // A clear error is as good as a parse; a hang is not.
        }
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public void DoublingArgChainStopsAtTheExpansionLimit()
    {
        var lex = new ShellLex();
        var env = new Dictionary<string, string> { ["A0"] = "xxxxxxxx" };
        var e = Assert.Throws<FormatException>(() =>
        {
            for (var i = 1; i < 64; i++)
            {
                env["A" + i] = lex.ProcessWord($"${{A{i - 1}}}${{A{i - 1}}}", k => env.GetValueOrDefault(k));
            }
        });
        Assert.Contains("more than", e.Message, StringComparison.Ordinal);
        Assert.True(env.Values.Max(v => v.Length) <= ShellLex.MaxExpansion);
    }

    [Fact]
    public void DeeplyNestedSubstitutionIsAnErrorNotAStackOverflow()
    {
        var depth = 100_000;
        var word = string.Concat(Enumerable.Repeat("${A:-", depth)) + "x" + new string('}', depth);
        var e = Assert.Throws<FormatException>(() => new ShellLex().ProcessWord(word, _ => null));
        Assert.Contains("nested deeper", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModerateNestingStillWorks()
    {
        Assert.Equal("x", new ShellLex().ProcessWord("${A:-${B:-${C:-x}}}", _ => null));
    }
}

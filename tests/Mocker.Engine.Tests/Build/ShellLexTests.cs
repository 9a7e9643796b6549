using Mocker.Engine.Build.Shell;
using Xunit;

namespace Mocker.Engine.Tests.Build;

public class ShellLexTests
{
    private static readonly Func<string, string?> Env = ShellLex.Lookup(["A=apple", "EMPTY=", "SP=x y", "PATH=/bin"]);

    [Theory]
    [InlineData("$A", "apple")]
    [InlineData("${A}", "apple")]
    [InlineData("pre${A}post", "preapplepost")]
    [InlineData("$UNSET", "")]
    [InlineData("${UNSET:-def}", "def")]
    [InlineData("${EMPTY:-def}", "def")]
    [InlineData("${EMPTY-def}", "")]
    [InlineData("${UNSET-def}", "def")]
    [InlineData("${A:+alt}", "alt")]
    [InlineData("${EMPTY:+alt}", "")]
    [InlineData("${EMPTY+alt}", "alt")]
    [InlineData("${UNSET+alt}", "")]
    [InlineData("${UNSET:-$A}", "apple")]
    [InlineData("\\$A", "$A")]
    [InlineData("'$A'", "$A")]
    [InlineData("\"$A\"", "apple")]
    [InlineData("\"\\$A\"", "$A")]
    [InlineData("\"a\\nb\"", "a\\nb")]
    [InlineData("a\\ b", "a b")]
    [InlineData("$", "$")]
    [InlineData("$1x", "x")]
    [InlineData("${PATH}:/usr/bin", "/bin:/usr/bin")]
    [InlineData("\"two words\"", "two words")]
    public void ProcessWord(string input, string expected) =>
        Assert.Equal(expected, new ShellLex().ProcessWord(input, Env));

    [Fact]
    public void BacktickEscape() =>
        Assert.Equal("$A C:\\dir", new ShellLex('`').ProcessWord("`$A C:\\dir", Env));

    [Theory]
    [InlineData("a b  c", new[] { "a", "b", "c" })]
    [InlineData("\"a b\" c", new[] { "a b", "c" })]
    [InlineData("$SP z", new[] { "x", "y", "z" })]
    [InlineData("\"$SP\" z", new[] { "x y", "z" })]
    [InlineData("80/tcp ${UNSET:-443}", new[] { "80/tcp", "443" })]
    public void ProcessWords(string input, string[] expected) =>
        Assert.Equal(expected, new ShellLex().ProcessWords(input, Env));

    [Theory]
    [InlineData("'open")]
    [InlineData("\"open")]
    [InlineData("${A")]
    [InlineData("${UNSET:?must be set}")]
    [InlineData("${A%x}")]
    public void Errors(string input) =>
        Assert.Throws<FormatException>(() => new ShellLex().ProcessWord(input, Env));
}

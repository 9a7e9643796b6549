using System.Text.Json;
using Mocker.Cli;
using Xunit;

namespace Mocker.Cli.Tests;

public class GoTemplateTests
{
    private static readonly JsonElement Inspect = JsonDocument.Parse("""
        {"Id":"abc123","Name":"/web","State":{"Status":"running","ExitCode":0,"Running":true},
         "Config":{"Cmd":["echo","hi"],"Labels":{"k":"v","a.b":"c"},"Env":["A=1","B=2"],"Entrypoint":null,"Html":"<a&b>"},
         "Mounts":[{"Destination":"/x"},{"Destination":"/y"}]}
        """).RootElement;

    [Theory]
    [InlineData("{{.State.Status}}", "running")]
    [InlineData("{{.Id}}", "abc123")]
    [InlineData("{{.Config.Cmd}}", "[echo hi]")]
    [InlineData("{{.State.Running}}", "true")]
    [InlineData("{{.State.ExitCode}}", "0")]
    [InlineData("{{index .Config.Labels \"k\"}}", "v")]
    [InlineData("{{index .Config.Labels \"a.b\"}}", "c")]
    [InlineData("{{join .Config.Env \",\"}}", "A=1,B=2")]
    [InlineData("{{upper .State.Status}}", "RUNNING")]
    [InlineData("{{.State.Status | upper}}", "RUNNING")]
    [InlineData("{{lower \"ABC\"}}", "abc")]
    [InlineData("{{printf \"%s!\" .Name}}", "/web!")]
    [InlineData("{{printf \"%-6s|\" .Id}}", "abc123|")]
    [InlineData("{{printf \"%5s\" \"ab\"}}", "   ab")]
    [InlineData("{{json .Config.Cmd}}", "[\"echo\",\"hi\"]")]
    [InlineData("{{json .Config.Html}}", "\"\\u003ca\\u0026b\\u003e\"")]
    [InlineData("{{.Config.Labels}}", "map[a.b:c k:v]")]
    [InlineData("{{.Config.Entrypoint}}", "<nil>")]
    [InlineData("{{.Nope}}", "<no value>")]
    [InlineData("{{range .Mounts}}{{.Destination}} {{end}}", "/x /y ")]
    [InlineData("{{if .State.Running}}up{{else}}down{{end}}", "up")]
    [InlineData("{{len .Config.Env}}", "2")]
    [InlineData("a {{- \" b\" -}}  c", "a bc")]
    [InlineData("{{.state.status}}", "running")]
    public void Evaluates(string template, string expected) =>
        Assert.Equal(expected, GoTemplate.Parse(template).Execute(Inspect));

    [Fact]
    public void JsonOfDotIsCompact()
    {
        var data = JsonDocument.Parse("""{"ID":"1","Names":"x"}""").RootElement;
        Assert.Equal("""{"ID":"1","Names":"x"}""", GoTemplate.Parse("{{json .}}").Execute(data));
    }

    [Theory]
    [InlineData("{{.A")]
    [InlineData("{{nosuchfunc .A}}")]
    [InlineData("{{end}}")]
    [InlineData("{{if .A}}x")]
    public void RejectsMalformed(string template) => Assert.Throws<FormatException>(() => GoTemplate.Parse(template));
}

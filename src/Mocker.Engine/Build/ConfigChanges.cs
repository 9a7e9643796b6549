using Mocker.Api;
using Mocker.Engine.Build.Instructions;
using Mocker.Engine.Build.Parser;
using Mocker.Engine.Build.Shell;
using Mocker.Engine.Errors;

namespace Mocker.Engine.Build;

/// <summary>
/// The <c>--change</c> lines of <c>import</c> and <c>commit</c> (Docker: "Apply Dockerfile instruction to the created
/// image"; allowed: CMD ENTRYPOINT ENV EXPOSE LABEL ONBUILD STOPSIGNAL USER VOLUME WORKDIR), parsed with the Mockerfile
/// parser and applied with the builder's dispatch rules. Variables expand against the config's Env.
/// </summary>
public static class ConfigChanges
{
    private static readonly HashSet<string> Allowed =
        ["cmd", "entrypoint", "env", "expose", "label", "onbuild", "stopsignal", "user", "volume", "workdir"];

    /// <summary>
    /// Applies each change in order. Throws MockerException(InvalidArgument) naming the line for an unknown or
    /// disallowed instruction or a syntax error (Docker: "dockerfile parse error on line 1: unknown instruction: X";
    /// "X is not a valid change command").
    /// </summary>
    public static ContainerConfig Apply(ContainerConfig config, IReadOnlyList<string> changes)
    {
        var lex = new ShellLex();
        var c = config;
        foreach (var line in changes)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            try
            {
                var node = DockerfileParser.ParseLine(line, '\\', "change", 1, 1, line);
                if (!Allowed.Contains(node.Keyword))
                {
                    throw MockerException.InvalidArgument($"{node.Keyword.ToUpperInvariant()} is not a valid change command (in \"{line}\")");
                }
                var ins = InstructionParser.Parse(node, "change").Expand(lex, ShellLex.Lookup(c.Env ?? []));
                c = ConfigApplier.Apply(c, ins)!;
            }
            catch (BuildException e)
            {
                throw MockerException.InvalidArgument($"invalid change \"{line}\": {e.Message}");
            }
            catch (FormatException e)
            {
                throw MockerException.InvalidArgument($"invalid change \"{line}\": {e.Message}");
            }
        }
        return c;
    }
}

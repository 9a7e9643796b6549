using System.CommandLine;
using System.CommandLine.Parsing;

namespace Mocker.Cli;

/// <summary>
/// <c>mocker</c>: a docker-compatible CLI. Start-up cost is part of the benchmark, so Main only builds the command tree
/// and parses; everything else happens in the chosen command's action.
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        var root = CommandTree.Build();
        // Bare "mocker" prints the usage and succeeds, as docker does.
        if (args.Length == 0) args = ["--help"];
        var parse = root.Parse(ArgsPrep.SeparateCommand(root, args));
        if (parse.Errors.Count > 0) return Cli.UsageError(parse);
        return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
    }
}

/// <summary>
/// Docker stops flag parsing at the first positional of <c>run</c>, <c>create</c> and <c>exec</c> (cobra's
/// <c>SetInterspersed(false)</c>): <c>run bb sh -c x</c> must pass <c>-c</c> to the container. This pass inserts <c>--</c>
/// after that positional so System.CommandLine sees the rest as arguments.
/// </summary>
public static class ArgsPrep
{
    private static readonly HashSet<string> Interspersed = ["run", "create", "exec"];

    /// <summary>Returns <paramref name="args"/> with <c>--</c> inserted after the image/container of run/create/exec.</summary>
    public static string[] SeparateCommand(RootCommand root, string[] args)
    {
        Command current = root;
        var i = 0;
        while (i < args.Length)
        {
            var token = args[i];
            if (token == "--") return args;
            if (token.StartsWith('-') && token.Length > 1)
            {
                i += ConsumesNext(current, token) ? 2 : 1;
                continue;
            }
            var sub = current.Subcommands.FirstOrDefault(c => c.Name == token || c.Aliases.Contains(token));
            if (sub is not null && !Interspersed.Contains(current.Name))
            {
                current = sub;
                i++;
                continue;
            }
            if (!Interspersed.Contains(current.Name)) return args;
            // First positional of run/create/exec: everything after it belongs to the container's command.
            if (i + 1 >= args.Length || args[i + 1] == "--") return args;
            return [.. args[..(i + 1)], "--", .. args[(i + 1)..]];
        }
        return args;
    }

    private static bool ConsumesNext(Command command, string token)
    {
        if (token.StartsWith("--", StringComparison.Ordinal))
        {
            if (token.Contains('=', StringComparison.Ordinal)) return false;
            return Find(command, token) is { } o && TakesValue(o);
        }
        // A bundle like "-it" or "-e" / "-eFOO=1": only the first option that takes a value matters.
        for (var k = 1; k < token.Length; k++)
        {
            if (Find(command, "-" + token[k]) is not { } o) return false;
            if (TakesValue(o)) return k == token.Length - 1;
        }
        return false;
    }

    private static Option? Find(Command command, string name)
    {
        for (Command? c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            var o = c.Options.FirstOrDefault(o => o.Name == name || o.Aliases.Contains(name));
            if (o is not null) return o;
        }
        return null;
    }

    private static bool TakesValue(Option o) => o.ValueType != typeof(bool);
}

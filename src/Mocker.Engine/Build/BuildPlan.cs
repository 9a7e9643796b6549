using Mocker.Engine.Build.Instructions;
using Mocker.Engine.Build.Parser;
using Mocker.Engine.Build.Shell;

namespace Mocker.Engine.Build;

/// <summary>One FROM … section of a Mockerfile: its index, optional name and instructions after FROM.</summary>
public sealed record StageDef(int Index, string? Name, FromInstruction From, IReadOnlyList<Instruction> Instructions);

/// <summary>
/// A Mockerfile split into global ARGs (before the first FROM) and stages, with the set of stages the target needs
/// (FROM of an earlier stage, COPY --from and RUN --mount from= dependencies; moby builder/dockerfile "stages" and
/// BuildKit's graph pruning). Dependencies always point to earlier stages, so file order is a valid build order.
/// </summary>
public sealed record BuildPlan(IReadOnlyList<ArgInstruction> GlobalArgs, IReadOnlyList<StageDef> Stages, int TargetIndex, IReadOnlyList<int> NeededStages)
{
    /// <summary>
    /// Builds the plan. FROM names are expanded with the global ARGs (their defaults, overridden by
    /// <paramref name="buildArgs"/>) before stage references are resolved, so <c>FROM ${BASE}</c> can name a stage.
    /// Errors: BuildException naming file:line (no FROM, unknown target, instruction before FROM).
    /// </summary>
    public static BuildPlan Create(ParseResult parsed, string fileName, string? target, IReadOnlyDictionary<string, string?>? buildArgs = null)
    {
        var globals = new List<ArgInstruction>();
        var stages = new List<(FromInstruction From, List<Instruction> Body)>();
        foreach (var node in parsed.Nodes)
        {
            var ins = InstructionParser.Parse(node, fileName);
            if (ins is FromInstruction from)
            {
                stages.Add((from, []));
            }
            else if (stages.Count == 0)
            {
                if (ins is not ArgInstruction arg)
                {
                    throw DockerfileParser.Error(fileName, node.StartLine, 1, "no build stage in current context");
                }
                globals.Add(arg);
            }
            else
            {
                stages[^1].Body.Add(ins);
            }
        }
        if (stages.Count == 0)
        {
            throw new BuildException($"{fileName}: file with no instructions");
        }
        var defs = stages.Select((s, i) => new StageDef(i, s.From.StageName, s.From, s.Body)).ToList();
        var targetIndex = defs.Count - 1;
        if (!string.IsNullOrEmpty(target))
        {
            targetIndex = defs.FindIndex(d => string.Equals(d.Name, target, StringComparison.OrdinalIgnoreCase));
            if (targetIndex < 0)
            {
                throw new BuildException($"failed to reach build target {target} in Dockerfile");
            }
        }
        var lex = new ShellLex(parsed.EscapeToken);
        var globalValues = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var arg in globals)
        {
            foreach (var (k, v) in arg.Args)
            {
                globalValues[k] = buildArgs is not null && buildArgs.TryGetValue(k, out var given)
                    ? given ?? Environment.GetEnvironmentVariable(k) ?? v
                    : v is null ? null : TryExpand(lex, v, globalValues);
            }
        }
        var needed = new SortedSet<int>();
        void Visit(int i)
        {
            if (!needed.Add(i))
            {
                return;
            }
            var d = defs[i];
            if (FindStage(defs, TryExpand(lex, d.From.BaseName, globalValues), i) is { } baseIndex)
            {
                Visit(baseIndex);
            }
            var froms = d.Instructions.OfType<CopyInstruction>().Select(c => c.From)
                .Concat(d.Instructions.OfType<RunInstruction>().SelectMany(r => r.Mounts).Select(m => m.From));
            foreach (var from in froms)
            {
                if (from is not null && FindStage(defs, from, i) is { } fromIndex)
                {
                    Visit(fromIndex);
                }
            }
        }
        Visit(targetIndex);
        return new BuildPlan(globals, defs, targetIndex, [.. needed]);
    }

    /// <summary>The word expanded with <paramref name="values"/>; unchanged when it does not expand (the build reports that).</summary>
    private static string TryExpand(ShellLex lex, string word, Dictionary<string, string?> values)
    {
        try
        {
            return lex.ProcessWord(word, k => values.GetValueOrDefault(k));
        }
        catch (FormatException)
        {
            return word;
        }
    }

    /// <summary>The earlier stage named or numbered <paramref name="reference"/>, or null (then it is an image reference).</summary>
    public static int? FindStage(IReadOnlyList<StageDef> stages, string reference, int before)
    {
        for (var i = 0; i < before; i++)
        {
            if (string.Equals(stages[i].Name, reference, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        if (int.TryParse(reference, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n < before)
        {
            return n;
        }
        return null;
    }
}

using Mocker.Api;
using Mocker.Engine.Build.Parser;
using Mocker.Engine.Build.Shell;

namespace Mocker.Engine.Build.Instructions;

/// <summary>
/// A typed Dockerfile instruction (BuildKit frontend/dockerfile/instructions/commands.go). Records hold the words
/// as written; <see cref="Expand"/> returns the record with variables substituted for the instructions Docker expands
/// (ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR ARG; dockerfile-reference "Environment replacement").
/// </summary>
public abstract record Instruction(Node Node)
{
    /// <summary>The upper-case keyword, as progress and history print it.</summary>
    public string Name => Node.Keyword.ToUpperInvariant();

    /// <summary>Returns a copy with variables expanded; instructions Docker does not expand return themselves.</summary>
    public virtual Instruction Expand(ShellLex lex, Func<string, string?> env) => this;
}

/// <summary>FROM [--platform=…] image [AS name].</summary>
public sealed record FromInstruction(Node Node, string BaseName, string? StageName, string? Platform) : Instruction(Node)
{
    public override Instruction Expand(ShellLex lex, Func<string, string?> env) =>
        this with { BaseName = lex.ProcessWord(BaseName, env), Platform = Platform is null ? null : lex.ProcessWord(Platform, env) };
}

/// <summary>
/// RUN in shell form (<see cref="PrependShell"/>: one command string run by SHELL) or exec form, with its
/// <c>--mount</c>s and <c>--network</c>. Here-documents are <see cref="Node"/>.Heredocs.
/// </summary>
public sealed record RunInstruction(Node Node, IReadOnlyList<string> Command, bool PrependShell, string? Network, IReadOnlyList<RunMount> Mounts) : Instruction(Node)
{
    /// <summary>BuildKit expands the mount options (source, target, id, from) with the build's variables.</summary>
    public override Instruction Expand(ShellLex lex, Func<string, string?> env) => this with
    {
        Mounts = [.. Mounts.Select(m => m with
        {
            Target = lex.ProcessWord(m.Target, env),
            Source = m.Source is null ? null : lex.ProcessWord(m.Source, env),
            From = m.From is null ? null : lex.ProcessWord(m.From, env),
            Id = m.Id is null ? null : lex.ProcessWord(m.Id, env),
        })],
    };
}

/// <summary>
/// One <c>RUN --mount</c> (dockerfile-reference "RUN --mount"): <see cref="Type"/> is bind, cache, tmpfs or secret;
/// <see cref="Target"/> the absolute or workdir-relative path in the container; bind: <see cref="Source"/> in
/// <see cref="From"/> (stage, image, or the context when null), read-only unless <see cref="ReadWrite"/> (writes are
/// discarded); cache: <see cref="Id"/> (default: the target), <see cref="Sharing"/> shared|private|locked, <see cref="Mode"/>,
/// <see cref="From"/>/<see cref="Source"/> (what a new cache starts with),
/// <see cref="Uid"/>, <see cref="Gid"/>; tmpfs: <see cref="Size"/> in bytes (0 = unlimited); secret: <see cref="Id"/>,
/// <see cref="Required"/>, <see cref="Env"/> (also, or only when no target was given, an environment variable),
/// <see cref="Mode"/> (default 0400), <see cref="Uid"/>, <see cref="Gid"/>. An env-only secret has an empty target.
/// </summary>
public sealed record RunMount(string Type, string Target)
{
    public string? Source { get; init; }
    public string? From { get; init; }
    public bool ReadWrite { get; init; }
    public string? Id { get; init; }
    public string Sharing { get; init; } = "shared";
    public int? Mode { get; init; }
    public int Uid { get; init; }
    public int Gid { get; init; }
    public long Size { get; init; }
    public bool Required { get; init; }
    public string? Env { get; init; }
}

public sealed record CmdInstruction(Node Node, IReadOnlyList<string> Command, bool PrependShell) : Instruction(Node);

public sealed record EntrypointInstruction(Node Node, IReadOnlyList<string> Command, bool PrependShell) : Instruction(Node);

/// <summary>SHELL ["executable", "params"…] (JSON form only).</summary>
public sealed record ShellInstruction(Node Node, IReadOnlyList<string> Shell) : Instruction(Node);

/// <summary>ENV key=value… or the legacy ENV key value.</summary>
public sealed record EnvInstruction(Node Node, IReadOnlyList<KeyValuePair<string, string>> Pairs) : Instruction(Node)
{
    public override Instruction Expand(ShellLex lex, Func<string, string?> env) => this with { Pairs = ExpandPairs(Pairs, lex, env) };

    internal static IReadOnlyList<KeyValuePair<string, string>> ExpandPairs(IReadOnlyList<KeyValuePair<string, string>> pairs, ShellLex lex, Func<string, string?> env) =>
        [.. pairs.Select(p => KeyValuePair.Create(lex.ProcessWord(p.Key, env), lex.ProcessWord(p.Value, env)))];
}

public sealed record LabelInstruction(Node Node, IReadOnlyList<KeyValuePair<string, string>> Pairs) : Instruction(Node)
{
    public override Instruction Expand(ShellLex lex, Func<string, string?> env) => this with { Pairs = EnvInstruction.ExpandPairs(Pairs, lex, env) };
}

/// <summary>ARG name[=default]…; a null default means "no default".</summary>
public sealed record ArgInstruction(Node Node, IReadOnlyList<KeyValuePair<string, string?>> Args) : Instruction(Node)
{
    public override Instruction Expand(ShellLex lex, Func<string, string?> env) =>
        this with { Args = [.. Args.Select(a => KeyValuePair.Create(a.Key, a.Value is null ? null : lex.ProcessWord(a.Value, env)))] };
}

public sealed record ExposeInstruction(Node Node, IReadOnlyList<string> Ports) : Instruction(Node)
{
    public override Instruction Expand(ShellLex lex, Func<string, string?> env) =>
        this with { Ports = [.. Ports.SelectMany(p => lex.ProcessWords(p, env))] };
}

/// <summary>
/// COPY/ADD [--from=…] [--chown=…] [--chmod=…] [--link] [--parents] [--exclude=…]… [--checksum=…] src… dest.
/// <see cref="Sources"/> are the path (or URL) sources; here-document sources are <see cref="Heredocs"/> (the file
/// name is the delimiter), their bodies expanded unless the delimiter was quoted.
/// </summary>
public sealed record CopyInstruction(Node Node, IReadOnlyList<string> Sources, string Dest, string? From, string? Chown, string? Chmod, bool IsAdd) : Instruction(Node)
{
    public bool Link { get; init; }
    public bool Parents { get; init; }
    public IReadOnlyList<string> Excludes { get; init; } = [];
    public string? Checksum { get; init; }
    public IReadOnlyList<Heredoc> Heredocs { get; init; } = [];

    public override Instruction Expand(ShellLex lex, Func<string, string?> env) => this with
    {
        Sources = [.. Sources.Select(s => lex.ProcessWord(s, env))],
        Dest = lex.ProcessWord(Dest, env),
        Chown = Chown is null ? null : lex.ProcessWord(Chown, env),
        Chmod = Chmod is null ? null : lex.ProcessWord(Chmod, env),
        Excludes = [.. Excludes.Select(e => lex.ProcessWord(e, env))],
        Checksum = Checksum is null ? null : lex.ProcessWord(Checksum, env),
        Heredocs = [.. Heredocs.Select(h => h.Expand ? h with { Content = lex.ProcessHeredoc(h.Content, env) } : h)],
    };
}

public sealed record VolumeInstruction(Node Node, IReadOnlyList<string> Paths) : Instruction(Node)
{
    public override Instruction Expand(ShellLex lex, Func<string, string?> env) =>
        this with { Paths = [.. Paths.Select(p => lex.ProcessWord(p, env)).Where(p => p.Length > 0)] };
}

public sealed record UserInstruction(Node Node, string User) : Instruction(Node)
{
    public override Instruction Expand(ShellLex lex, Func<string, string?> env) => this with { User = lex.ProcessWord(User, env) };
}

public sealed record WorkdirInstruction(Node Node, string Path) : Instruction(Node)
{
    public override Instruction Expand(ShellLex lex, Func<string, string?> env) => this with { Path = lex.ProcessWord(Path, env) };
}

public sealed record StopsignalInstruction(Node Node, string Signal) : Instruction(Node)
{
    public override Instruction Expand(ShellLex lex, Func<string, string?> env) => this with { Signal = lex.ProcessWord(Signal, env) };
}

/// <summary>ONBUILD trigger, stored verbatim in the image config and run by a build that uses the image in FROM.</summary>
public sealed record OnbuildInstruction(Node Node, string Expression) : Instruction(Node);

public sealed record HealthcheckInstruction(Node Node, HealthConfig Health) : Instruction(Node);

public sealed record MaintainerInstruction(Node Node, string Maintainer) : Instruction(Node);

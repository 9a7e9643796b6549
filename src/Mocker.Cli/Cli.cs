using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text;
using Mocker.Client;

namespace Mocker.Cli;

/// <summary>A usage problem found after parsing (bad flag value, wrong argument count): exit 125 like docker.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Shared plumbing of the command actions: the client, output streams, docker's error conventions.</summary>
internal static class Cli
{
    private static readonly UTF8Encoding Utf8 = new(false);
    private static Stream? _stdout;
    private static Stream? _stderr;

    /// <summary>The global <c>-H/--host</c> option.</summary>
    public static readonly Option<string?> Host = new("--host", "-H") { Description = "Daemon socket to connect to" };
    public static readonly Option<string?> LogLevel = new("--log-level", "-l") { Description = "Set the logging level (\"debug\", \"info\", \"warn\", \"error\", \"fatal\")" };
    public static readonly Option<bool> Debug = new("--debug", "-D") { Description = "Enable debug mode" };

    public static Stream Stdout => _stdout ??= new FdStream(1, canRead: false);
    public static Stream Stderr => _stderr ??= new FdStream(2, canRead: false);

    /// <summary>The process's stdin as raw bytes (no line editing, no echo).</summary>
    public static Stream OpenStdin() => new FdStream(0, canRead: true);

    public static void Out(string text)
    {
        Stdout.Write(Utf8.GetBytes(text));
        Stdout.Flush();
    }

    public static void OutLine(string text = "") => Out(text + "\n");

    public static void Err(string text)
    {
        Stderr.Write(Utf8.GetBytes(text));
        Stderr.Flush();
    }

    public static void ErrLine(string text) => Err(text + "\n");

    public static MockerClient Client(ParseResult pr) => new(pr.GetValue(Host));

    /// <summary>The command's full name as the user typed it, e.g. "mocker container ls".</summary>
    public static string CommandPath(Command command)
    {
        var names = new List<string>();
        for (Command? c = command; c is not null and not RootCommand; c = c.Parents.OfType<Command>().FirstOrDefault())
            names.Insert(0, c.Name);
        return string.Join(' ', ["mocker", .. names]);
    }

    /// <summary>Prints docker's two-line usage error (<c>mocker: problem.</c> + <c>See 'mocker verb --help'.</c>); returns 125.</summary>
    public static int UsageError(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        var path = CommandPath(command);
        string problem;
        var unmatched = parse.UnmatchedTokens.FirstOrDefault();
        if (unmatched is not null && unmatched.StartsWith('-'))
            problem = $"unknown flag: {unmatched.Split('=')[0]}";
        else if (unmatched is not null && command.Subcommands.Count > 0)
            problem = $"'{unmatched}' is not a {path} command";
        else if (unmatched is not null)
            problem = $"\"{path}\" accepts no more arguments than it takes, got '{unmatched}'";
        else if (parse.Errors.Any(e => e.SymbolResult is ArgumentResult) || command.Arguments.Any(a => a.Arity.MinimumNumberOfValues > 0))
            problem = parse.Errors.FirstOrDefault(e => e.SymbolResult is OptionResult) is { SymbolResult: OptionResult o }
                ? $"flag needs an argument: {o.IdentifierToken?.Value ?? o.Option.Name}"
                : RequiresMessage(path, Math.Max(1, command.Arguments.Sum(a => a.Arity.MinimumNumberOfValues)));
        else
            problem = parse.Errors[0].Message.TrimEnd('.');
        return Usage(path, problem);
    }

    private static string RequiresMessage(string path, int n) =>
        n == 1 ? $"\"{path}\" requires at least 1 argument" : $"\"{path}\" requires at least {n} arguments";

    public static int Usage(string path, string problem)
    {
        ErrLine($"mocker: {problem.TrimEnd('.')}.");
        ErrLine($"See '{path} --help'.");
        return 125;
    }

    /// <summary>
    /// Runs a command body with docker's error mapping: unreachable daemon and daemon errors → message, exit 1;
    /// usage problems → exit 125.
    /// </summary>
    public static async Task<int> Run(ParseResult pr, Func<MockerClient, Task<int>> body)
    {
        using var client = Client(pr);
        try
        {
            return await body(client).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            return Usage(CommandPath(pr.CommandResult.Command), e.Message);
        }
        catch (MockerConnectionException e)
        {
            ErrLine(e.Message);
            return 1;
        }
        catch (MockerApiException e)
        {
            ErrLine($"Error response from daemon: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            return 130;
        }
        catch (Exception e) when (e is FormatException or IOException or ArgumentException or InvalidDataException or UnauthorizedAccessException)
        {
            ErrLine(e.Message);
            return 1;
        }
        catch (System.Text.Json.JsonException e)
        {
            ErrLine($"error reading the daemon's response: {e.Message}");
            return 1;
        }
    }

    /// <summary>Runs <paramref name="each"/> for every target; errors are printed and make the exit code 1 (docker's multi-target verbs).</summary>
    public static async Task<int> ForEach(IEnumerable<string> targets, Func<string, Task> each)
    {
        var code = 0;
        foreach (var t in targets)
        {
            try
            {
                await each(t).ConfigureAwait(false);
            }
            catch (MockerApiException e)
            {
                ErrLine($"Error response from daemon: {e.Message}");
                code = 1;
            }
        }
        return code;
    }

    /// <summary>Parses repeatable <c>--filter key=value</c> flags.</summary>
    public static Dictionary<string, IReadOnlyList<string>>? Filters(string[]? values)
    {
        if (values is null || values.Length == 0) return null;
        var map = new Dictionary<string, List<string>>();
        foreach (var v in values)
        {
            var eq = v.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new UsageException($"bad format of filter (expected name=value)");
            var key = v[..eq].Trim().ToLowerInvariant();
            (map.TryGetValue(key, out var list) ? list : map[key] = []).Add(v[(eq + 1)..].Trim());
        }
        return map.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value);
    }

    /// <summary>Asks docker's <c>[y/N]</c> question on the terminal; false on anything but y/yes.</summary>
    public static bool Confirm(string warning)
    {
        Out(warning + "\nAre you sure you want to continue? [y/N] ");
        var answer = Console.In.ReadLine()?.Trim().ToLowerInvariant();
        return answer is "y" or "yes";
    }
}

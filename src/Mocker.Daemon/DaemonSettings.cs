using System.Text.Json;
using Microsoft.Extensions.Logging;
using Mocker.Engine;

namespace Mocker.Daemon;

/// <summary>
/// mockerd's configuration: command-line flags over /etc/mocker/daemon.json (dockerd's key names) over defaults.
/// Invalid input throws <see cref="ArgumentException"/> with a message for the operator.
/// </summary>
internal sealed record DaemonSettings
{
    public const string DefaultConfigFile = "/etc/mocker/daemon.json";
    public const string DefaultSocket = "unix:///run/mocker/mocker.sock";

    public string DataRoot { get; init; } = "/var/lib/mocker";
    public string ExecRoot { get; init; } = "/run/mocker";
    public IReadOnlyList<string> Hosts { get; init; } = [DefaultSocket];
    public string DefaultRuntime { get; init; } = "runc";
    public IReadOnlyDictionary<string, string> Runtimes { get; init; } = new Dictionary<string, string> { ["runc"] = "runc" };
    public LogLevel LogLevel { get; init; } = LogLevel.Information;
    public bool Tls { get; init; }
    public bool TlsVerify { get; init; }
    public string? TlsCert { get; init; }
    public string? TlsKey { get; init; }
    public string? TlsCaCert { get; init; }
    public bool ShowHelp { get; init; }
    public bool ShowVersion { get; init; }

    public const string Usage = """
        Usage: mockerd [OPTIONS]

        Mocker daemon: serves the Docker Engine API (v1.41) for the local Mocker engine.

        Options:
              --config-file string   Daemon configuration file (default "/etc/mocker/daemon.json")
              --data-root string     Root of persistent state (default "/var/lib/mocker")
              --exec-root string     Root of runtime state (default "/run/mocker")
          -H, --host list            Socket(s) to listen on: unix:///path or tcp://host:port (TLS only)
                                     (default "unix:///run/mocker/mocker.sock")
              --runtime string       Default OCI runtime (default "runc")
              --add-runtime name=path  Register an OCI runtime (repeatable)
          -l, --log-level string     debug, info, warn or error (default "info")
              --tls                  Use TLS (implied by --tlsverify)
              --tlscacert string     CA certificate that client certificates must chain to
              --tlscert string       TLS certificate file (PEM)
              --tlskey string        TLS key file (PEM)
              --tlsverify            Require and verify client certificates
          -v, --version              Print version and exit
              --help                 Print this help and exit
        """;

    /// <summary>Parses <paramref name="args"/>, reads the config file, and merges (flags win).</summary>
    public static DaemonSettings Load(string[] args)
    {
        var flags = Flags.Parse(args);
        var configPath = flags.ConfigFile ?? DefaultConfigFile;
        var file = File.Exists(configPath)
            ? FileConfig.Read(configPath)
            : flags.ConfigFile is null ? new FileConfig() : throw new ArgumentException($"config file {configPath} does not exist");

        var runtimes = new Dictionary<string, string>(StringComparer.Ordinal) { ["runc"] = "runc" };
        foreach (var (name, path) in file.Runtimes)
        {
            runtimes[name] = path;
        }
        foreach (var (name, path) in flags.AddRuntimes)
        {
            runtimes[name] = path;
        }
        var defaultRuntime = flags.Runtime ?? file.DefaultRuntime ?? "runc";
        if (!runtimes.ContainsKey(defaultRuntime))
        {
            throw new ArgumentException($"default runtime \"{defaultRuntime}\" is not configured (runtimes: {string.Join(", ", runtimes.Keys)})");
        }
        var tlsVerify = flags.TlsVerify ?? file.TlsVerify ?? false;
        var settings = new DaemonSettings
        {
            DataRoot = Absolute(flags.DataRoot ?? file.DataRoot ?? "/var/lib/mocker", "data-root"),
            ExecRoot = Absolute(flags.ExecRoot ?? file.ExecRoot ?? "/run/mocker", "exec-root"),
            Hosts = flags.Hosts.Count > 0 ? flags.Hosts : file.Hosts is { Count: > 0 } h ? h : [DefaultSocket],
            DefaultRuntime = defaultRuntime,
            Runtimes = runtimes,
            LogLevel = ParseLevel(flags.LogLevel ?? file.LogLevel ?? "info"),
            TlsVerify = tlsVerify,
            Tls = tlsVerify || (flags.Tls ?? file.Tls ?? false),
            TlsCert = flags.TlsCert ?? file.TlsCert,
            TlsKey = flags.TlsKey ?? file.TlsKey,
            TlsCaCert = flags.TlsCaCert ?? file.TlsCaCert,
            ShowHelp = flags.Help,
            ShowVersion = flags.Version,
        };
        if (settings.Tls && (settings.TlsCert is null || settings.TlsKey is null))
        {
            throw new ArgumentException("TLS needs --tlscert and --tlskey");
        }
        if (settings.TlsVerify && settings.TlsCaCert is null)
        {
            throw new ArgumentException("--tlsverify needs --tlscacert");
        }
        return settings;
    }

    /// <summary>The engine's view of these settings.</summary>
    public EngineOptions ToEngineOptions() => new()
    {
        DataRoot = DataRoot,
        ExecRoot = ExecRoot,
        DefaultRuntime = DefaultRuntime,
        Runtimes = Runtimes,
    };

    private static string Absolute(string path, string name) =>
        Path.IsPathRooted(path) ? Path.GetFullPath(path) : throw new ArgumentException($"--{name} must be an absolute path: {path}");

    private static LogLevel ParseLevel(string level) => level.ToLowerInvariant() switch
    {
        "debug" => LogLevel.Debug,
        "info" => LogLevel.Information,
        "warn" or "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        "fatal" => LogLevel.Critical,
        _ => throw new ArgumentException($"invalid log level \"{level}\" (debug, info, warn, error)"),
    };

    private sealed class Flags
    {
        public string? ConfigFile, DataRoot, ExecRoot, Runtime, LogLevel, TlsCert, TlsKey, TlsCaCert;
        public bool? Tls, TlsVerify;
        public bool Help, Version;
        public List<string> Hosts { get; } = [];
        public List<KeyValuePair<string, string>> AddRuntimes { get; } = [];

        public static Flags Parse(string[] args)
        {
            var f = new Flags();
            for (var i = 0; i < args.Length; i++)
            {
                var arg = args[i];
                string name;
                string? inline = null;
                var eq = arg.IndexOf('=');
                if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
                {
                    name = arg[..eq];
                    inline = arg[(eq + 1)..];
                }
                else
                {
                    name = arg;
                }
                string Value()
                {
                    if (inline is not null)
                    {
                        return inline;
                    }
                    if (i + 1 >= args.Length)
                    {
                        throw new ArgumentException($"flag needs an argument: {name}");
                    }
                    return args[++i];
                }
                bool BoolValue() => inline is null || Api.Query.IsTrue(inline);
                switch (name)
                {
                    case "--config-file": f.ConfigFile = Value(); break;
                    case "--data-root": f.DataRoot = Value(); break;
                    case "--exec-root": f.ExecRoot = Value(); break;
                    case "-H" or "--host": f.Hosts.Add(Value()); break;
                    case "--runtime" or "--default-runtime": f.Runtime = Value(); break;
                    case "--add-runtime":
                        var spec = Value();
                        var sep = spec.IndexOf('=');
                        if (sep <= 0 || sep == spec.Length - 1)
                        {
                            throw new ArgumentException($"--add-runtime expects name=path, got \"{spec}\"");
                        }
                        f.AddRuntimes.Add(new(spec[..sep], spec[(sep + 1)..]));
                        break;
                    case "-l" or "--log-level": f.LogLevel = Value(); break;
                    case "--tls": f.Tls = BoolValue(); break;
                    case "--tlsverify": f.TlsVerify = BoolValue(); break;
                    case "--tlscert": f.TlsCert = Value(); break;
                    case "--tlskey": f.TlsKey = Value(); break;
                    case "--tlscacert": f.TlsCaCert = Value(); break;
                    case "--help": f.Help = true; break;
                    case "-v" or "--version": f.Version = true; break;
                    default: throw new ArgumentException($"unknown flag: {arg}");
                }
            }
            return f;
        }
    }

    private sealed class FileConfig
    {
        public string? DataRoot, ExecRoot, DefaultRuntime, LogLevel, TlsCert, TlsKey, TlsCaCert;
        public bool? Tls, TlsVerify;
        public List<string>? Hosts;
        public Dictionary<string, string> Runtimes { get; } = new(StringComparer.Ordinal);

        public static FileConfig Read(string path)
        {
            var c = new FileConfig();
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
                foreach (var p in doc.RootElement.EnumerateObject())
                {
                    switch (p.Name)
                    {
                        case "data-root": c.DataRoot = p.Value.GetString(); break;
                        case "exec-root": c.ExecRoot = p.Value.GetString(); break;
                        case "default-runtime": c.DefaultRuntime = p.Value.GetString(); break;
                        case "log-level": c.LogLevel = p.Value.GetString(); break;
                        case "tls": c.Tls = p.Value.GetBoolean(); break;
                        case "tlsverify": c.TlsVerify = p.Value.GetBoolean(); break;
                        case "tlscert": c.TlsCert = p.Value.GetString(); break;
                        case "tlskey": c.TlsKey = p.Value.GetString(); break;
                        case "tlscacert": c.TlsCaCert = p.Value.GetString(); break;
                        case "hosts": c.Hosts = [.. p.Value.EnumerateArray().Select(h => h.GetString() ?? "")]; break;
                        case "runtimes":
                            foreach (var rt in p.Value.EnumerateObject())
                            {
                                c.Runtimes[rt.Name] = rt.Value.TryGetProperty("path", out var rp) && rp.GetString() is { Length: > 0 } s
                                    ? s
                                    : throw new ArgumentException($"{path}: runtime \"{rt.Name}\" needs a \"path\"");
                            }
                            break;
                        default:
                            // Unknown dockerd keys are tolerated so that a copied daemon.json still loads.
                            break;
                    }
                }
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
            {
                throw new ArgumentException($"invalid config file {path}: {ex.Message}");
            }
            return c;
        }
    }
}

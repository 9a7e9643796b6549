namespace Mocker.Engine;

/// <summary>
/// Daemon-wide settings (mockerd flags and /etc/mocker/daemon.json). Paths are absolute.
/// Two engines with different <see cref="DataRoot"/> and <see cref="ExecRoot"/> run side by side.
/// </summary>
public sealed record EngineOptions
{
    /// <summary>Persistent state: metadata.db, content/, snapshots/, containers/. Default /var/lib/mocker.</summary>
    public string DataRoot { get; init; } = "/var/lib/mocker";

    /// <summary>Runtime state (bundles, conmon sockets, runc root); a tmpfs. Default /run/mocker.</summary>
    public string ExecRoot { get; init; } = "/run/mocker";

    /// <summary>Name of the default OCI runtime, a key of <see cref="Runtimes"/>.</summary>
    public string DefaultRuntime { get; init; } = "runc";

    /// <summary>OCI runtimes by name → binary path (daemon.json "runtimes": {"name": {"path": "…"}}).</summary>
    public IReadOnlyDictionary<string, string> Runtimes { get; init; } = new Dictionary<string, string> { ["runc"] = "runc" };

    /// <summary>Path of the conmon binary (per-container monitor).</summary>
    public string ConmonPath { get; init; } = "conmon";

    /// <summary>Path of busybox-static for <c>image bootstrap busybox</c>.</summary>
    public string BusyboxPath { get; init; } = "/bin/busybox";

    /// <summary>Path of Docker's default seccomp profile (JSON in Docker's profile format); null = the embedded copy.</summary>
    public string? SeccompProfilePath { get; init; }

    /// <summary>Network mode used when a client sends "default" or nothing. "none" until bridge networking lands.</summary>
    public string DefaultNetworkMode { get; init; } = "none";

    /// <summary>
    /// Registries ("host[:port]") reached over plain HTTP (or HTTPS without verification) besides localhost,
    /// 127.0.0.0/8 and ::1, which always are (daemon.json "insecure-registries").
    /// </summary>
    public IReadOnlyList<string> InsecureRegistries { get; init; } = [];

    /// <summary>Per-registry TLS material as Docker's certs.d: &lt;dir&gt;/&lt;host:port&gt;/*.crt (CAs), *.cert + *.key (client). Default /etc/mocker/certs.d.</summary>
    public string RegistryCertsDir { get; init; } = "/etc/mocker/certs.d";

    public string MetadataDbPath => Path.Combine(DataRoot, "metadata.db");
    public string ContentRoot => Path.Combine(DataRoot, "content");
    public string SnapshotsRoot => Path.Combine(DataRoot, "snapshots");
    public string ContainersRoot => Path.Combine(DataRoot, "containers");
    public string TmpRoot => Path.Combine(DataRoot, "tmp");
}

namespace Mocker.Api;

/// <summary>The error body of every non-2xx Engine API response: <c>{"message": "..."}</c>.</summary>
public sealed record ErrorResponse
{
    public required string message { get; init; }
}

/// <summary>Body of <c>GET /version</c>.</summary>
public sealed record VersionResponse
{
    public ComponentPlatform Platform { get; init; } = new();
    public List<ComponentVersion> Components { get; init; } = [];
    public string Version { get; init; } = "";
    public string ApiVersion { get; init; } = "";
    public string MinAPIVersion { get; init; } = "";
    public string GitCommit { get; init; } = "";
    public string GoVersion { get; init; } = "";
    public string Os { get; init; } = "linux";
    public string Arch { get; init; } = "amd64";
    public string KernelVersion { get; init; } = "";
    public string BuildTime { get; init; } = "";
    public bool Experimental { get; init; }
}

public sealed record ComponentPlatform
{
    public string Name { get; init; } = "Mocker Engine";
}

public sealed record ComponentVersion
{
    public string Name { get; init; } = "";
    public string Version { get; init; } = "";
    public Dictionary<string, string>? Details { get; init; }
}

/// <summary>Body of <c>GET /info</c> (Engine API <c>SystemInfo</c>); only fields Mocker can fill truthfully are set.</summary>
public sealed record SystemInfo
{
    public string ID { get; init; } = "";
    public int Containers { get; init; }
    public int ContainersRunning { get; init; }
    public int ContainersPaused { get; init; }
    public int ContainersStopped { get; init; }
    public int Images { get; init; }
    public string Driver { get; init; } = "overlay2";
    public List<List<string>> DriverStatus { get; init; } = [];
    public PluginsInfo Plugins { get; init; } = new();
    public bool MemoryLimit { get; init; } = true;
    public bool SwapLimit { get; init; }
    public bool CpuCfsPeriod { get; init; } = true;
    public bool CpuCfsQuota { get; init; } = true;
    public bool CPUShares { get; init; } = true;
    public bool CPUSet { get; init; } = true;
    public bool PidsLimit { get; init; } = true;
    public bool IPv4Forwarding { get; init; }
    public bool Debug { get; init; }
    public int NFd { get; init; }
    public int NGoroutines { get; init; }
    public string SystemTime { get; init; } = "";
    public string LoggingDriver { get; init; } = "k8s-file";
    public string CgroupDriver { get; init; } = "cgroupfs";
    public string CgroupVersion { get; init; } = "1";
    public int NEventsListener { get; init; }
    public string KernelVersion { get; init; } = "";
    public string OperatingSystem { get; init; } = "";
    public string OSVersion { get; init; } = "";
    public string OSType { get; init; } = "linux";
    public string Architecture { get; init; } = "x86_64";
    public int NCPU { get; init; }
    public long MemTotal { get; init; }
    public string IndexServerAddress { get; init; } = "https://index.docker.io/v1/";
    public RegistryServiceConfig RegistryConfig { get; init; } = new();
    public string DockerRootDir { get; init; } = "";
    public string HttpProxy { get; init; } = "";
    public string HttpsProxy { get; init; } = "";
    public string NoProxy { get; init; } = "";
    public string Name { get; init; } = "";
    public List<string> Labels { get; init; } = [];
    public bool ExperimentalBuild { get; init; }
    public string ServerVersion { get; init; } = "";
    public Dictionary<string, RuntimeInfo> Runtimes { get; init; } = [];
    public string DefaultRuntime { get; init; } = "runc";
    public SwarmInfo Swarm { get; init; } = new();
    public bool LiveRestoreEnabled { get; init; } = true;
    public string Isolation { get; init; } = "";
    public string InitBinary { get; init; } = "";
    public List<string> SecurityOptions { get; init; } = [];
    public List<string>? Warnings { get; init; }
}

public sealed record PluginsInfo
{
    public List<string> Volume { get; init; } = [];
    public List<string> Network { get; init; } = ["host", "null"];
    public List<string>? Authorization { get; init; }
    public List<string> Log { get; init; } = ["k8s-file"];
}

public sealed record RegistryServiceConfig
{
    public List<string> InsecureRegistryCIDRs { get; init; } = ["127.0.0.0/8"];
    public Dictionary<string, IndexInfo> IndexConfigs { get; init; } = [];
    public List<string> Mirrors { get; init; } = [];
}

public sealed record IndexInfo
{
    public string Name { get; init; } = "";
    public List<string> Mirrors { get; init; } = [];
    public bool Secure { get; init; }
    public bool Official { get; init; }
}

public sealed record RuntimeInfo
{
    public string path { get; init; } = "";
}

public sealed record SwarmInfo
{
    public string NodeID { get; init; } = "";
    public string NodeAddr { get; init; } = "";
    public string LocalNodeState { get; init; } = "inactive";
    public bool ControlAvailable { get; init; }
    public string Error { get; init; } = "";
}

/// <summary>
/// One line of a JSON message stream (build, import, pull, push, load): Docker's <c>jsonmessage.JSONMessage</c>.
/// Lines are terminated by "\r\n" on the wire.
/// </summary>
public sealed record JsonMessage
{
    public string? stream { get; init; }
    public string? status { get; init; }
    public ProgressDetail? progressDetail { get; init; }
    public string? progress { get; init; }
    public string? id { get; init; }
    public JsonMessageError? errorDetail { get; init; }
    public string? error { get; init; }
    public AuxId? aux { get; init; }
}

public sealed record ProgressDetail
{
    public long? current { get; init; }
    public long? total { get; init; }
}

public sealed record JsonMessageError
{
    public int? code { get; init; }
    public string? message { get; init; }
}

/// <summary>
/// The <c>aux</c> of a JSON message stream: a build's image ID ({"ID"}), or a push result ({"Tag","Digest","Size"},
/// Size in bytes of the pushed manifest; engine-api-trace.md §1.17).
/// </summary>
public sealed record AuxId
{
    public string? ID { get; init; }
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Tag { get; init; }
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Digest { get; init; }
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public long? Size { get; init; }
}

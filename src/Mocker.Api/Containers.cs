using System.Text.Json.Serialization;

namespace Mocker.Api;

/// <summary>
/// A container's configuration, portable across hosts: Docker's <c>container.Config</c>
/// (Engine API v1.41 definition <c>ContainerConfig</c>). The same shape is the <c>config</c>
/// object of an image config (OCI image-spec config.md, "config" field), which is why the image
/// store and the builder use it too.
/// </summary>
public sealed record ContainerConfig
{
    public string? Hostname { get; init; }
    public string? Domainname { get; init; }
    public string? User { get; init; }
    public bool AttachStdin { get; init; }
    public bool AttachStdout { get; init; }
    public bool AttachStderr { get; init; }
    /// <summary>Keys are "port/proto", e.g. "80/tcp"; values are empty objects.</summary>
    public Dictionary<string, EmptyObject>? ExposedPorts { get; init; }
    public bool Tty { get; init; }
    public bool OpenStdin { get; init; }
    public bool StdinOnce { get; init; }
    /// <summary>"KEY=value" strings.</summary>
    public List<string>? Env { get; init; }
    public List<string>? Cmd { get; init; }
    public HealthConfig? Healthcheck { get; init; }
    public bool? ArgsEscaped { get; init; }
    public string? Image { get; init; }
    public Dictionary<string, EmptyObject>? Volumes { get; init; }
    public string? WorkingDir { get; init; }
    public List<string>? Entrypoint { get; init; }
    public bool? NetworkDisabled { get; init; }
    public string? MacAddress { get; init; }
    public List<string>? OnBuild { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    public string? StopSignal { get; init; }
    public int? StopTimeout { get; init; }
    public List<string>? Shell { get; init; }
}

/// <summary>An empty JSON object, as Docker uses for set-like maps (<c>ExposedPorts</c>, <c>Volumes</c>).</summary>
public sealed record EmptyObject;

/// <summary>HEALTHCHECK settings; durations are nanoseconds (Engine API <c>HealthConfig</c>).</summary>
public sealed record HealthConfig
{
    public List<string>? Test { get; init; }
    public long Interval { get; init; }
    public long Timeout { get; init; }
    public int Retries { get; init; }
    public long StartPeriod { get; init; }
    public long StartInterval { get; init; }
}

/// <summary>Host-specific container settings (Engine API <c>HostConfig</c>). Unknown fields sent by clients are ignored.</summary>
public sealed record HostConfig
{
    public List<string>? Binds { get; init; }
    public string? ContainerIDFile { get; init; }
    public LogConfig? LogConfig { get; init; }
    /// <summary>"default", "none", "host", "bridge", "container:&lt;id&gt;" or a network name.</summary>
    public string? NetworkMode { get; init; }
    public Dictionary<string, List<PortBinding>?>? PortBindings { get; init; }
    public RestartPolicy? RestartPolicy { get; init; }
    public bool AutoRemove { get; init; }
    public string? VolumeDriver { get; init; }
    public List<string>? VolumesFrom { get; init; }
    public List<Mount>? Mounts { get; init; }
    public List<string>? CapAdd { get; init; }
    public List<string>? CapDrop { get; init; }
    public string? CgroupnsMode { get; init; }
    public List<string>? Dns { get; init; }
    public List<string>? DnsOptions { get; init; }
    public List<string>? DnsSearch { get; init; }
    public List<string>? ExtraHosts { get; init; }
    public List<string>? GroupAdd { get; init; }
    public string? IpcMode { get; init; }
    public string? Cgroup { get; init; }
    public List<string>? Links { get; init; }
    public int OomScoreAdj { get; init; }
    public string? PidMode { get; init; }
    public bool Privileged { get; init; }
    public bool PublishAllPorts { get; init; }
    public bool ReadonlyRootfs { get; init; }
    public List<string>? SecurityOpt { get; init; }
    public Dictionary<string, string>? StorageOpt { get; init; }
    public Dictionary<string, string>? Tmpfs { get; init; }
    public string? UTSMode { get; init; }
    public string? UsernsMode { get; init; }
    public long ShmSize { get; init; }
    public Dictionary<string, string>? Sysctls { get; init; }
    public string? Runtime { get; init; }
    public List<int>? ConsoleSize { get; init; }
    public string? Isolation { get; init; }
    // Resources (flattened into HostConfig on the wire).
    public long CpuShares { get; init; }
    public long Memory { get; init; }
    public long NanoCpus { get; init; }
    public string? CgroupParent { get; init; }
    public long CpuPeriod { get; init; }
    public long CpuQuota { get; init; }
    public string? CpusetCpus { get; init; }
    public string? CpusetMems { get; init; }
    public long MemoryReservation { get; init; }
    public long MemorySwap { get; init; }
    public long? MemorySwappiness { get; init; }
    public bool? OomKillDisable { get; init; }
    public long? PidsLimit { get; init; }
    public List<Ulimit>? Ulimits { get; init; }
    public bool? Init { get; init; }
    public List<string>? MaskedPaths { get; init; }
    public List<string>? ReadonlyPaths { get; init; }
}

public sealed record LogConfig
{
    public string? Type { get; init; }
    public Dictionary<string, string>? Config { get; init; }
}

public sealed record PortBinding
{
    public string? HostIp { get; init; }
    public string? HostPort { get; init; }
}

/// <summary>Name is "", "no", "always", "unless-stopped" or "on-failure".</summary>
public sealed record RestartPolicy
{
    public string? Name { get; init; }
    public int MaximumRetryCount { get; init; }
}

public sealed record Ulimit
{
    public string? Name { get; init; }
    public long Soft { get; init; }
    public long Hard { get; init; }
}

/// <summary>A <c>HostConfig.Mounts</c> entry (Engine API <c>Mount</c>).</summary>
public sealed record Mount
{
    public string? Target { get; init; }
    public string? Source { get; init; }
    /// <summary>"bind", "volume", "tmpfs", "npipe", "cluster".</summary>
    public string? Type { get; init; }
    public bool ReadOnly { get; init; }
    public string? Consistency { get; init; }
}

public sealed record NetworkingConfig
{
    public Dictionary<string, EndpointSettings?>? EndpointsConfig { get; init; }
}

public sealed record EndpointSettings
{
    public List<string>? Links { get; init; }
    public List<string>? Aliases { get; init; }
    public string? NetworkID { get; init; }
    public string? EndpointID { get; init; }
    public string? Gateway { get; init; }
    public string? IPAddress { get; init; }
    public int IPPrefixLen { get; init; }
    public string? IPv6Gateway { get; init; }
    public string? GlobalIPv6Address { get; init; }
    public int GlobalIPv6PrefixLen { get; init; }
    public string? MacAddress { get; init; }
    public Dictionary<string, string>? DriverOpts { get; init; }
}

/// <summary>Body of <c>POST /containers/create</c>: a <see cref="ContainerConfig"/> plus HostConfig and NetworkingConfig.</summary>
public sealed record ContainerCreateRequest
{
    public string? Hostname { get; init; }
    public string? Domainname { get; init; }
    public string? User { get; init; }
    public bool AttachStdin { get; init; }
    public bool AttachStdout { get; init; }
    public bool AttachStderr { get; init; }
    public Dictionary<string, EmptyObject>? ExposedPorts { get; init; }
    public bool Tty { get; init; }
    public bool OpenStdin { get; init; }
    public bool StdinOnce { get; init; }
    public List<string>? Env { get; init; }
    public List<string>? Cmd { get; init; }
    public HealthConfig? Healthcheck { get; init; }
    public bool? ArgsEscaped { get; init; }
    public string? Image { get; init; }
    public Dictionary<string, EmptyObject>? Volumes { get; init; }
    public string? WorkingDir { get; init; }
    public List<string>? Entrypoint { get; init; }
    public bool? NetworkDisabled { get; init; }
    public string? MacAddress { get; init; }
    public List<string>? OnBuild { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    public string? StopSignal { get; init; }
    public int? StopTimeout { get; init; }
    public List<string>? Shell { get; init; }
    public HostConfig? HostConfig { get; init; }
    public NetworkingConfig? NetworkingConfig { get; init; }

    /// <summary>The portable part of the request.</summary>
    public ContainerConfig ToConfig() => new()
    {
        Hostname = Hostname,
        Domainname = Domainname,
        User = User,
        AttachStdin = AttachStdin,
        AttachStdout = AttachStdout,
        AttachStderr = AttachStderr,
        ExposedPorts = ExposedPorts,
        Tty = Tty,
        OpenStdin = OpenStdin,
        StdinOnce = StdinOnce,
        Env = Env,
        Cmd = Cmd,
        Healthcheck = Healthcheck,
        ArgsEscaped = ArgsEscaped,
        Image = Image,
        Volumes = Volumes,
        WorkingDir = WorkingDir,
        Entrypoint = Entrypoint,
        NetworkDisabled = NetworkDisabled,
        MacAddress = MacAddress,
        OnBuild = OnBuild,
        Labels = Labels,
        StopSignal = StopSignal,
        StopTimeout = StopTimeout,
        Shell = Shell,
    };
}

public sealed record ContainerCreateResponse
{
    public required string Id { get; init; }
    public List<string> Warnings { get; init; } = [];
}

/// <summary>An entry of <c>GET /containers/json</c> (Engine API <c>ContainerSummary</c>).</summary>
public sealed record ContainerSummary
{
    public required string Id { get; init; }
    /// <summary>Names with a leading "/".</summary>
    public List<string> Names { get; init; } = [];
    public string Image { get; init; } = "";
    public string ImageID { get; init; } = "";
    public string Command { get; init; } = "";
    /// <summary>Unix seconds.</summary>
    public long Created { get; init; }
    public List<PortSummary> Ports { get; init; } = [];
    public long? SizeRw { get; init; }
    public long? SizeRootFs { get; init; }
    public Dictionary<string, string> Labels { get; init; } = [];
    /// <summary>"created", "running", "paused", "restarting", "removing", "exited", "dead".</summary>
    public string State { get; init; } = "";
    /// <summary>Human text the CLI prints verbatim, e.g. "Up 3 seconds", "Exited (0) 2 minutes ago".</summary>
    public string Status { get; init; } = "";
    public SummaryHostConfig HostConfig { get; init; } = new();
    public SummaryNetworkSettings NetworkSettings { get; init; } = new();
    public List<MountPoint> Mounts { get; init; } = [];
}

public sealed record PortSummary
{
    public string? IP { get; init; }
    public int PrivatePort { get; init; }
    public int? PublicPort { get; init; }
    public string Type { get; init; } = "tcp";
}

public sealed record SummaryHostConfig
{
    public string NetworkMode { get; init; } = "none";
}

public sealed record SummaryNetworkSettings
{
    public Dictionary<string, EndpointSettings> Networks { get; init; } = [];
}

public sealed record MountPoint
{
    public string? Type { get; init; }
    public string? Name { get; init; }
    public string? Source { get; init; }
    public string? Destination { get; init; }
    public string? Driver { get; init; }
    public string? Mode { get; init; }
    public bool RW { get; init; }
    public string? Propagation { get; init; }
}

/// <summary><c>State</c> of <c>GET /containers/{id}/json</c>. Times are RFC 3339 with nanoseconds; never-set ones are "0001-01-01T00:00:00Z".</summary>
public sealed record ContainerState
{
    public string Status { get; init; } = "created";
    public bool Running { get; init; }
    public bool Paused { get; init; }
    public bool Restarting { get; init; }
    public bool OOMKilled { get; init; }
    public bool Dead { get; init; }
    public int Pid { get; init; }
    public int ExitCode { get; init; }
    public string Error { get; init; } = "";
    public string StartedAt { get; init; } = "0001-01-01T00:00:00Z";
    public string FinishedAt { get; init; } = "0001-01-01T00:00:00Z";
    public HealthState? Health { get; init; }
}

public sealed record HealthState
{
    public string Status { get; init; } = "none";
    public int FailingStreak { get; init; }
    public List<HealthLogEntry> Log { get; init; } = [];
}

public sealed record HealthLogEntry
{
    public string Start { get; init; } = "";
    public string End { get; init; } = "";
    public int ExitCode { get; init; }
    public string Output { get; init; } = "";
}

public sealed record GraphDriverData
{
    public string Name { get; init; } = "overlay2";
    public Dictionary<string, string> Data { get; init; } = [];
}

/// <summary>Body of <c>GET /containers/{id}/json</c> (Engine API <c>ContainerInspectResponse</c>).</summary>
public sealed record ContainerInspectResponse
{
    public required string Id { get; init; }
    public string Created { get; init; } = "";
    public string Path { get; init; } = "";
    public List<string> Args { get; init; } = [];
    public ContainerState State { get; init; } = new();
    public string Image { get; init; } = "";
    public string ResolvConfPath { get; init; } = "";
    public string HostnamePath { get; init; } = "";
    public string HostsPath { get; init; } = "";
    public string LogPath { get; init; } = "";
    public string Name { get; init; } = "";
    public int RestartCount { get; init; }
    public string Driver { get; init; } = "overlay2";
    public string Platform { get; init; } = "linux";
    public string MountLabel { get; init; } = "";
    public string ProcessLabel { get; init; } = "";
    public string AppArmorProfile { get; init; } = "";
    public List<string>? ExecIDs { get; init; }
    public HostConfig HostConfig { get; init; } = new();
    public GraphDriverData GraphDriver { get; init; } = new();
    public long? SizeRw { get; init; }
    public long? SizeRootFs { get; init; }
    public List<MountPoint> Mounts { get; init; } = [];
    public ContainerConfig Config { get; init; } = new();
    public NetworkSettings NetworkSettings { get; init; } = new();
}

public sealed record NetworkSettings
{
    public string Bridge { get; init; } = "";
    public string SandboxID { get; init; } = "";
    public bool HairpinMode { get; init; }
    public string LinkLocalIPv6Address { get; init; } = "";
    public int LinkLocalIPv6PrefixLen { get; init; }
    public Dictionary<string, List<PortBinding>?> Ports { get; init; } = [];
    public string SandboxKey { get; init; } = "";
    public string EndpointID { get; init; } = "";
    public string Gateway { get; init; } = "";
    public string GlobalIPv6Address { get; init; } = "";
    public int GlobalIPv6PrefixLen { get; init; }
    public string IPAddress { get; init; } = "";
    public int IPPrefixLen { get; init; }
    public string IPv6Gateway { get; init; } = "";
    public string MacAddress { get; init; } = "";
    public Dictionary<string, EndpointSettings> Networks { get; init; } = [];
}

/// <summary>Body of <c>POST /containers/{id}/wait</c>. <c>Error</c> is null on a normal exit.</summary>
public sealed record ContainerWaitResponse
{
    public long StatusCode { get; init; }
    public WaitError? Error { get; init; }
}

public sealed record WaitError
{
    public string? Message { get; init; }
}

/// <summary>Body of <c>GET /containers/{id}/top</c>.</summary>
public sealed record ContainerTopResponse
{
    public List<string> Titles { get; init; } = [];
    public List<List<string>> Processes { get; init; } = [];
}

public sealed record ContainerPruneResponse
{
    public List<string>? ContainersDeleted { get; init; }
    public long SpaceReclaimed { get; init; }
}

/// <summary>Body of <c>POST /containers/{id}/exec</c> (Engine API <c>ExecConfig</c>).</summary>
public sealed record ExecConfig
{
    public string? User { get; init; }
    public bool Privileged { get; init; }
    public bool Tty { get; init; }
    public string? ConsoleSize { get; init; }
    public bool AttachStdin { get; init; }
    public bool AttachStdout { get; init; }
    public bool AttachStderr { get; init; }
    public bool Detach { get; init; }
    public string? DetachKeys { get; init; }
    public List<string>? Env { get; init; }
    public string? WorkingDir { get; init; }
    public List<string>? Cmd { get; init; }
}

/// <summary>Body of <c>POST /exec/{id}/start</c>. Keys match case-insensitively (Docker.DotNet.Enhanced sends "TTY").</summary>
public sealed record ExecStartConfig
{
    public bool Detach { get; init; }
    public bool Tty { get; init; }
    public List<int>? ConsoleSize { get; init; }
}

/// <summary>Body of <c>GET /exec/{id}/json</c>.</summary>
public sealed record ExecInspectResponse
{
    public required string ID { get; init; }
    public bool Running { get; init; }
    public int? ExitCode { get; init; }
    public ProcessConfig ProcessConfig { get; init; } = new();
    public bool OpenStdin { get; init; }
    public bool OpenStderr { get; init; }
    public bool OpenStdout { get; init; }
    public bool CanRemove { get; init; }
    public string ContainerID { get; init; } = "";
    public string DetachKeys { get; init; } = "";
    public int Pid { get; init; }
}

public sealed record ProcessConfig
{
    public bool privileged { get; init; }
    public string user { get; init; } = "";
    public bool tty { get; init; }
    public string entrypoint { get; init; } = "";
    public List<string> arguments { get; init; } = [];
}

/// <summary>Body of <c>POST /exec</c> create and of <c>POST /commit</c>.</summary>
public sealed record IdResponse
{
    public required string Id { get; init; }
}

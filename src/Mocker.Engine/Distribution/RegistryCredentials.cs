using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mocker.Engine.Distribution;

/// <summary>
/// A user name and secret for one registry (Docker's types.AuthConfig reduced to what the token flow needs). A user name
/// of "&lt;token&gt;" (<see cref="RegistryClient.IdentityTokenUser"/>) marks an identity token, exchanged by OAuth2.
/// </summary>
public sealed record RegistryCredential(string Username, string Secret)
{
    /// <summary>Redacted: a credential that reaches a log or an exception message must not carry its secret.</summary>
    public override string ToString() => $"RegistryCredential {{ Username = {Username}, Secret = *** }}";
}

/// <summary>Looks up the credentials to present to a registry host ("host[:port]"; "docker.io" for Docker Hub).</summary>
public interface IRegistryCredentials
{
    /// <summary>The credential for <paramref name="registryHost"/>, or null for anonymous access.</summary>
    Task<RegistryCredential?> GetAsync(string registryHost, CancellationToken ct);
}

/// <summary>
/// Credentials from client config files, the way the docker CLI reads them (docker/cli config/configfile):
/// ~/.mocker/config.json, then ~/.docker/config.json. Per host: credHelpers[host] → docker-credential-&lt;helper&gt;,
/// else "auths"[host].auth (base64 "user:pass"), else credsStore → docker-credential-&lt;store&gt;. Docker Hub is
/// looked up as "https://index.docker.io/v1/". The helper protocol (docker-credential-helpers client.Get): run
/// "docker-credential-X get", write the server URL on stdin, read {"Username","Secret"} from stdout; a non-zero exit
/// whose output says "credentials not found" means anonymous. Secrets never reach the log.
/// </summary>
public sealed class DockerConfigCredentials(IReadOnlyList<string> configPaths) : IRegistryCredentials
{
    private const string HubKey = "https://index.docker.io/v1/";

    /// <summary>The default files under <paramref name="home"/> (default: $HOME).</summary>
    public static DockerConfigCredentials FromHome(string? home = null)
    {
        home ??= Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return new DockerConfigCredentials([Path.Combine(home, ".mocker", "config.json"), Path.Combine(home, ".docker", "config.json")]);
    }

    public async Task<RegistryCredential?> GetAsync(string registryHost, CancellationToken ct)
    {
        var keys = registryHost is "docker.io" or "index.docker.io" or "registry-1.docker.io"
            ? new[] { HubKey, "index.docker.io", "docker.io", "registry-1.docker.io" }
            : [registryHost, "https://" + registryHost, "http://" + registryHost, "https://" + registryHost + "/v1/", "https://" + registryHost + "/v2/"];
        foreach (var path in configPaths)
        {
            if (!File.Exists(path))
            {
                continue;
            }
            ClientConfigFile? file;
            await using (var fs = File.OpenRead(path))
            {
                file = await JsonSerializer.DeserializeAsync(fs, DistributionJsonContext.Default.ClientConfigFile, ct).ConfigureAwait(false);
            }
            if (file is null)
            {
                continue;
            }
            foreach (var key in keys)
            {
                if (file.CredHelpers is { } helpers && helpers.TryGetValue(key, out var helper))
                {
                    return await FromHelperAsync(helper, keys[0], ct).ConfigureAwait(false);
                }
            }
            foreach (var key in keys)
            {
                if (file.Auths is { } auths && auths.TryGetValue(key, out var entry) && Decode(entry) is { } cred)
                {
                    return cred;
                }
            }
            if (!string.IsNullOrEmpty(file.CredsStore))
            {
                return await FromHelperAsync(file.CredsStore, keys[0], ct).ConfigureAwait(false);
            }
        }
        return null;
    }

    private static RegistryCredential? Decode(ClientAuthEntry entry)
    {
        if (!string.IsNullOrEmpty(entry.Auth))
        {
            string text;
            try
            {
                text = Encoding.UTF8.GetString(Convert.FromBase64String(entry.Auth));
            }
            catch (FormatException)
            {
                return null;
            }
            var colon = text.IndexOf(':');
            return colon > 0 ? new RegistryCredential(text[..colon], text[(colon + 1)..]) : null;
        }
        if (!string.IsNullOrEmpty(entry.IdentityToken))
        {
            return new RegistryCredential(RegistryClient.IdentityTokenUser, entry.IdentityToken);
        }
        return !string.IsNullOrEmpty(entry.Username) && entry.Password is not null ? new RegistryCredential(entry.Username, entry.Password) : null;
    }

    private static async Task<RegistryCredential?> FromHelperAsync(string helper, string serverUrl, CancellationToken ct)
    {
        var psi = new ProcessStartInfo("docker-credential-" + helper, "get")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var proc = Process.Start(psi) ?? throw new InvalidOperationException("cannot start docker-credential-" + helper);
        await proc.StandardInput.WriteAsync(serverUrl).ConfigureAwait(false);
        proc.StandardInput.Close();
        var stdout = proc.StandardOutput.ReadToEndAsync(ct);
        var stderr = proc.StandardError.ReadToEndAsync(ct);
        await proc.WaitForExitAsync(ct).ConfigureAwait(false);
        var output = await stdout.ConfigureAwait(false);
        await stderr.ConfigureAwait(false);
        if (proc.ExitCode != 0)
        {
            if (output.Contains("credentials not found", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }
            // The helper's output may echo secrets; report only the exit code.
            throw new Errors.MockerException(Errors.ErrorKind.Internal, $"error getting credentials - docker-credential-{helper} exited with status {proc.ExitCode}");
        }
        var reply = JsonSerializer.Deserialize(output, DistributionJsonContext.Default.CredentialHelperReply);
        if (reply is null || string.IsNullOrEmpty(reply.Secret))
        {
            return null;
        }
        return new RegistryCredential(string.IsNullOrEmpty(reply.Username) ? RegistryClient.IdentityTokenUser : reply.Username, reply.Secret);
    }
}

/// <summary>The parts of docker/cli's config.json that carry credentials.</summary>
internal sealed record ClientConfigFile
{
    [JsonPropertyName("auths")] public Dictionary<string, ClientAuthEntry>? Auths { get; init; }
    [JsonPropertyName("credsStore")] public string? CredsStore { get; init; }
    [JsonPropertyName("credHelpers")] public Dictionary<string, string>? CredHelpers { get; init; }
}

internal sealed record ClientAuthEntry
{
    [JsonPropertyName("auth")] public string? Auth { get; init; }
    [JsonPropertyName("username")] public string? Username { get; init; }
    [JsonPropertyName("password")] public string? Password { get; init; }
    [JsonPropertyName("identitytoken")] public string? IdentityToken { get; init; }
}

internal sealed record CredentialHelperReply
{
    [JsonPropertyName("ServerURL")] public string? ServerUrl { get; init; }
    [JsonPropertyName("Username")] public string? Username { get; init; }
    [JsonPropertyName("Secret")] public string? Secret { get; init; }
}

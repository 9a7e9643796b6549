using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mocker.Engine.Distribution;

/// <summary>
/// The <c>X-Registry-Auth</c> header of <c>POST /images/create</c> and <c>POST /images/{name}/push</c> (Engine API
/// "Authentication"): base64url (padding optional) of a JSON AuthConfig {"username","password","auth","serveraddress",
/// "identitytoken"}. The docker CLI sends "e30=" ({}) when it has nothing, which means: use the daemon's own lookup.
/// </summary>
public static class RegistryAuthHeader
{
    /// <summary>The credential carried by the header, or null when it is absent, empty or carries none. Malformed input is treated as absent, as dockerd does.</summary>
    public static RegistryCredential? Decode(string? header)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            return null;
        }
        var text = header.Trim().Replace('-', '+').Replace('_', '/');
        text = text.PadRight(text.Length + (4 - text.Length % 4) % 4, '=');
        AuthConfigHeader? config;
        try
        {
            config = JsonSerializer.Deserialize(Convert.FromBase64String(text), AuthHeaderJsonContext.Default.AuthConfigHeader);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return null;
        }
        if (config is null)
        {
            return null;
        }
        if (!string.IsNullOrEmpty(config.IdentityToken))
        {
            return new RegistryCredential(RegistryClient.IdentityTokenUser, config.IdentityToken);
        }
        if (!string.IsNullOrEmpty(config.Username) && config.Password is not null)
        {
            return new RegistryCredential(config.Username, config.Password);
        }
        if (!string.IsNullOrEmpty(config.Auth))
        {
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(config.Auth));
                var colon = pair.IndexOf(':');
                return colon > 0 ? new RegistryCredential(pair[..colon], pair[(colon + 1)..]) : null;
            }
            catch (FormatException)
            {
                return null;
            }
        }
        return null;
    }
}

/// <summary>Always answers with one credential: the one a client sent with its request.</summary>
internal sealed class FixedCredentials(RegistryCredential credential) : IRegistryCredentials
{
    public Task<RegistryCredential?> GetAsync(string registryHost, CancellationToken ct) => Task.FromResult<RegistryCredential?>(credential);
}

internal sealed record AuthConfigHeader
{
    [JsonPropertyName("username")] public string? Username { get; init; }
    [JsonPropertyName("password")] public string? Password { get; init; }
    [JsonPropertyName("auth")] public string? Auth { get; init; }
    [JsonPropertyName("serveraddress")] public string? ServerAddress { get; init; }
    [JsonPropertyName("identitytoken")] public string? IdentityToken { get; init; }
}

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(AuthConfigHeader))]
internal sealed partial class AuthHeaderJsonContext : JsonSerializerContext;

using Mocker.Api;
using Mocker.Engine.Content;
using Mocker.Engine.Images;

namespace Mocker.Engine.Distribution;

/// <summary>Registry pull and push (<c>POST /images/create?fromImage=</c>, <c>POST /images/{name}/push</c>); see <see cref="DistributionService"/>.</summary>
public interface IDistributionService
{
    Task<ImageRecord> PullAsync(string reference, string? platform, IProgress<JsonMessage> progress, CancellationToken ct);

    Task<ImageRecord> PullAsync(string reference, string? platform, RegistryCredential? credential, IProgress<JsonMessage> progress, CancellationToken ct);

    Task PushAsync(string reference, IProgress<JsonMessage> progress, CancellationToken ct);

    Task PushAsync(string reference, RegistryCredential? credential, IProgress<JsonMessage> progress, CancellationToken ct);

    Task LoginAsync(string serverAddress, RegistryCredential credential, CancellationToken ct);
}

/// <summary>Image archives (<c>GET /images/get</c>, <c>POST /images/load</c>); see <see cref="ImageArchive"/>.</summary>
public interface IImageArchive
{
    Task SaveAsync(IReadOnlyList<string> names, Stream output, CancellationToken ct);

    Task SaveAsync(IReadOnlyList<string> names, Stream output, ArchiveFormat format, CancellationToken ct);

    Task<IReadOnlyList<Digest>> LoadAsync(Stream input, bool quiet, IProgress<JsonMessage> progress, CancellationToken ct);
}

using Mocker.Api;
using Mocker.Engine.Content;
using Mocker.Engine.Distribution;
using Mocker.Engine.Images;

namespace Mocker.Engine.Events;

/// <summary>Publishes image "pull" and "push" events (Actor.ID and name: the familiar reference, as moby does) once the operation succeeded.</summary>
public sealed class EventingDistribution(IDistributionService inner, EventBus events) : IDistributionService
{
    public Task<ImageRecord> PullAsync(string reference, string? platform, IProgress<JsonMessage> progress, CancellationToken ct) =>
        PullAsync(reference, platform, null, progress, ct);

    public async Task<ImageRecord> PullAsync(string reference, string? platform, RegistryCredential? credential, IProgress<JsonMessage> progress, CancellationToken ct)
    {
        var image = await inner.PullAsync(reference, platform, credential, progress, ct).ConfigureAwait(false);
        Publish(events, "pull", reference);
        return image;
    }

    public Task PushAsync(string reference, IProgress<JsonMessage> progress, CancellationToken ct) => PushAsync(reference, null, progress, ct);

    public async Task PushAsync(string reference, RegistryCredential? credential, IProgress<JsonMessage> progress, CancellationToken ct)
    {
        await inner.PushAsync(reference, credential, progress, ct).ConfigureAwait(false);
        Publish(events, "push", reference);
    }

    public Task LoginAsync(string serverAddress, RegistryCredential credential, CancellationToken ct) => inner.LoginAsync(serverAddress, credential, ct);

    private static void Publish(EventBus events, string action, string reference)
    {
        var name = Reference.TryParse(reference, out var r, out _) ? r.FamiliarString() : reference;
        events.Publish("image", action, name, new Dictionary<string, string> { ["name"] = name });
    }
}

/// <summary>Publishes image "save" (per name saved) and "load" (per image loaded) events once the archive operation succeeded.</summary>
public sealed class EventingImageArchive(IImageArchive inner, IImageService images, EventBus events) : IImageArchive
{
    public Task SaveAsync(IReadOnlyList<string> names, Stream output, CancellationToken ct) => SaveAsync(names, output, ArchiveFormat.Docker, ct);

    public async Task SaveAsync(IReadOnlyList<string> names, Stream output, ArchiveFormat format, CancellationToken ct)
    {
        await inner.SaveAsync(names, output, format, ct).ConfigureAwait(false);
        foreach (var name in names)
        {
            var id = (await images.InspectAsync(name, ct).ConfigureAwait(false)).Id;
            events.Publish("image", "save", id, new Dictionary<string, string> { ["name"] = name });
        }
    }

    public async Task<IReadOnlyList<Digest>> LoadAsync(Stream input, bool quiet, IProgress<JsonMessage> progress, CancellationToken ct)
    {
        var loaded = await inner.LoadAsync(input, quiet, progress, ct).ConfigureAwait(false);
        foreach (var d in loaded)
        {
            events.Publish("image", "load", d.ToString(), new Dictionary<string, string> { ["name"] = d.ToString() });
        }
        return loaded;
    }
}

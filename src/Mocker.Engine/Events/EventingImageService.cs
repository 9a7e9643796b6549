using Mocker.Api;
using Mocker.Engine.Images;

namespace Mocker.Engine.Events;

/// <summary>
/// Publishes Docker's image events (tag, untag, delete, import) for the operations of an <see cref="IImageService"/>
/// once they succeeded. Actor.ID is the image ID "sha256:…", attribute "name" the reference concerned (moby daemon/images).
/// </summary>
public sealed class EventingImageService(IImageService inner, EventBus events) : IImageService
{
    public Task<IReadOnlyList<ImageSummary>> ListAsync(ImageListOptions options, CancellationToken ct) => inner.ListAsync(options, ct);

    public Task<ImageInspectResponse> InspectAsync(string name, CancellationToken ct) => inner.InspectAsync(name, ct);

    public async Task TagAsync(string source, string repository, string? tag, CancellationToken ct)
    {
        await inner.TagAsync(source, repository, tag, ct).ConfigureAwait(false);
        var id = (await inner.InspectAsync(source, ct).ConfigureAwait(false)).Id;
        var name = Reference.Parse(string.IsNullOrEmpty(tag) ? repository : repository + ":" + tag).FamiliarString();
        Publish("tag", id, name);
    }

    public async Task<IReadOnlyList<ImageDeleteResponseItem>> RemoveAsync(string name, bool force, bool noPrune, Func<string, ImageUser?> imageUser, CancellationToken ct)
    {
        var id = (await inner.InspectAsync(name, ct).ConfigureAwait(false)).Id;
        var items = await inner.RemoveAsync(name, force, noPrune, imageUser, ct).ConfigureAwait(false);
        foreach (var item in items)
        {
            if (item.Untagged is { } untagged)
            {
                Publish("untag", id, untagged);
            }
            if (item.Deleted is { } deleted)
            {
                Publish("delete", deleted, deleted == id ? name : deleted);
            }
        }
        return items;
    }

    public Task<IReadOnlyList<ImageHistoryItem>> HistoryAsync(string name, CancellationToken ct) => inner.HistoryAsync(name, ct);

    public Task<ImagePruneResponse> PruneAsync(IReadOnlyDictionary<string, IReadOnlyList<string>> filters, Func<string, ImageUser?> imageUser, CancellationToken ct) =>
        inner.PruneAsync(filters, imageUser, ct);

    public async Task<string> ImportAsync(Stream tarball, ImportOptions options, IProgress<JsonMessage>? progress, CancellationToken ct)
    {
        var id = await inner.ImportAsync(tarball, options, progress, ct).ConfigureAwait(false);
        Publish("import", id, id);
        return id;
    }

    public Task<string> BootstrapAsync(string name, string? tag, IProgress<JsonMessage>? progress, CancellationToken ct) =>
        inner.BootstrapAsync(name, tag, progress, ct);

    private void Publish(string action, string id, string name) =>
        events.Publish("image", action, id, new Dictionary<string, string> { ["name"] = name });
}

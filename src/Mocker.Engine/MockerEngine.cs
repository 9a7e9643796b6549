using Microsoft.Extensions.Logging;
using Mocker.Engine.Build;
using Mocker.Engine.Containers;
using Mocker.Engine.Content;
using Mocker.Engine.Distribution;
using Mocker.Engine.Events;
using Mocker.Engine.Images;
using Mocker.Engine.Runtime;
using Mocker.Engine.Snapshots;
using Mocker.Engine.State;

namespace Mocker.Engine;

/// <summary>
/// The composition root of the engine: opens the metadata database and stores under <see cref="EngineOptions.DataRoot"/>,
/// removes what an interrupted operation left behind (ingests, unreferenced snapshot directories), and reconciles
/// containers with conmon and runc, so a daemon killed at any instant comes back consistent.
/// </summary>
public sealed class MockerEngine : IMockerEngine
{
    private readonly ContainerService _containers;
    private readonly DistributionService _distribution;

    private MockerEngine(EngineOptions options, ContainerService containers, IImageService images, IBuildService builder,
        DistributionService distribution, IImageArchive archives, IContainerImages containerImages, EventBus events)
    {
        Events = events;
        ContainerArchive = new ContainerArchive(containers);
        Options = options;
        _containers = containers;
        Images = images;
        Builder = builder;
        _distribution = distribution;
        Distribution = new EventingDistribution(distribution, events);
        Archives = archives;
        ContainerImages = containerImages;
    }

    public EngineOptions Options { get; }
    public IContainerService Containers => _containers;
    public IImageService Images { get; }
    public IBuildService Builder { get; }
    public IDistributionService Distribution { get; }
    public IImageArchive Archives { get; }
    public IContainerImages ContainerImages { get; }
    public EventBus Events { get; }
    public IContainerArchive ContainerArchive { get; }

    /// <summary>Opens (creating if needed) the engine state for <paramref name="options"/>. Throws MockerException on an unusable data root.</summary>
    public static async Task<IMockerEngine> OpenAsync(EngineOptions options, ILoggerFactory loggerFactory, CancellationToken ct)
    {
        foreach (var dir in new[] { options.DataRoot, options.ExecRoot, options.ContainersRoot, options.TmpRoot })
        {
            Directory.CreateDirectory(dir);
        }
        var db = new MetadataDb(options.MetadataDbPath);
        var content = new LocalContentStore(options);
        await content.CleanupIngestsAsync(ct).ConfigureAwait(false);
        var snapshotter = new OverlaySnapshotter(options, db);
        var applier = new LayerApplier();
        var differ = new LayerDiffer();
        var unpacker = new LayerUnpacker(snapshotter, applier);
        var imageStore = new ImageStore(db);
        var images = new ImageService(options, content, imageStore, snapshotter, unpacker, ConfigChanges.Apply, loggerFactory.CreateLogger<ImageService>());
        var events = new EventBus();
        var containers = new ContainerService(options, db, imageStore, snapshotter, loggerFactory, events);
        var runner = new ProcessRunner(options);
        var builder = new Builder(options, db, content, imageStore, snapshotter, differ, runner, loggerFactory.CreateLogger<Builder>());
        var distribution = new DistributionService(options, content, imageStore, snapshotter, unpacker, DockerConfigCredentials.FromHome(), loggerFactory.CreateLogger<DistributionService>());
        var archives = new ImageArchive(options, content, imageStore, snapshotter, unpacker, loggerFactory.CreateLogger<ImageArchive>());
        var containerImages = new ContainerImages(containers, content, imageStore, differ, unpacker, ConfigChanges.Apply, loggerFactory.CreateLogger<ContainerImages>());
        await containers.RecoverAsync(ct).ConfigureAwait(false);
        await unpacker.CleanupAsync(ct).ConfigureAwait(false);
        await snapshotter.CleanupAsync(ct).ConfigureAwait(false);
        return new MockerEngine(options, containers, new EventingImageService(images, events), builder, distribution,
            new EventingImageArchive(archives, images, events), containerImages, events);
    }

    public ValueTask DisposeAsync()
    {
        _containers.Dispose();
        _distribution.Dispose();
        return ValueTask.CompletedTask;
    }
}

using Mocker.Engine.Build;
using Mocker.Engine.Containers;
using Mocker.Engine.Distribution;
using Mocker.Engine.Events;
using Mocker.Engine.Images;

namespace Mocker.Engine;

/// <summary>The engine as the daemon sees it: the composition of the subsystems, opened once per data root.</summary>
public interface IMockerEngine : IAsyncDisposable
{
    EngineOptions Options { get; }
    IContainerService Containers { get; }
    IImageService Images { get; }
    IBuildService Builder { get; }

    /// <summary>Registry pull and push.</summary>
    IDistributionService Distribution { get; }

    /// <summary>docker save / docker load archives.</summary>
    IImageArchive Archives { get; }

    /// <summary>docker commit / docker export.</summary>
    IContainerImages ContainerImages { get; }

    /// <summary>The event bus behind <c>GET /events</c>.</summary>
    EventBus Events { get; }

    /// <summary>docker cp (archive API) and docker diff.</summary>
    IContainerArchive ContainerArchive { get; }
}

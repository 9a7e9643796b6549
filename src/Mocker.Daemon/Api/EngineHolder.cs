using Mocker.Engine;

namespace Mocker.Daemon.Api;

/// <summary>
/// The engine, set once after it has been opened (the listeners are configured before that, so routes and the
/// connection middleware capture this holder rather than the engine).
/// </summary>
internal sealed class EngineHolder
{
    private IMockerEngine? _engine;

    public IMockerEngine Engine
    {
        get => _engine ?? throw new InvalidOperationException("the engine is not open yet");
        set => _engine = value;
    }
}

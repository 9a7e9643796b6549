using Xunit;

[assembly: CollectionBehavior(MaxParallelThreads = 2)]
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace Mocker.Integration.Tests.Infrastructure;

/// <summary>
/// The daemon shared by every test of <see cref="DaemonCollection"/>: one mockerd on temporary roots with the busybox
/// image bootstrapped once. Tests that kill a daemon start their own <see cref="DaemonInstance"/> instead.
/// </summary>
public sealed class DaemonFixture : IAsyncLifetime
{
    private DaemonInstance? _daemon;

    public DaemonInstance Daemon => _daemon ?? throw new InvalidOperationException("the daemon fixture is not initialised");

    public async Task InitializeAsync()
    {
        _daemon = await DaemonInstance.StartNewAsync();
        try
        {
            await _daemon.BootstrapBusyboxAsync();
        }
        catch
        {
            await _daemon.DisposeAsync();
            _daemon = null;
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }
    }
}

/// <summary>Tests sharing one daemon run one after another in this collection.</summary>
[CollectionDefinition(Name)]
public sealed class DaemonCollection : ICollectionFixture<DaemonFixture>
{
    public const string Name = "shared mockerd";
}

/// <summary>Names unique to one test run, so leftovers of one test never collide with another.</summary>
public static class Names
{
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..10]}";
}

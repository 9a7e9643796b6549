using System.Text;
using Mocker.Engine.Containers;
using Mocker.Engine.Errors;
using Mocker.Engine.Runtime;
using Mocker.Engine.Tests.Containers.Fixtures;
using Xunit;

namespace Mocker.Engine.Tests.Containers;

/// <summary>The builder's runner: runc run in a throwaway bundle over a real overlay snapshot.</summary>
public sealed class ProcessRunnerTests : IAsyncLifetime
{
    private readonly TestEnvironment _env = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _env.DisposeAsync().AsTask();

    [Fact]
    public async Task RunsStreamsOutputAndCleansUp()
    {
        var mounts = await _env.Snapshotter.PrepareAsync("build1", "base", default);
        var runner = new ProcessRunner(_env.Options);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var code = await runner.RunAsync(new RunSpec
        {
            RootfsMounts = mounts,
            Args = ["sh", "-c", "echo out; echo err >&2; echo made > /tmp/file; id -u; exit 2"],
            User = "nobody",
            WorkingDir = "/work",
        }, c =>
        {
            (c.Stream == StdStream.Stderr ? stderr : stdout).Append(Encoding.UTF8.GetString(c.Data.Span));
            return ValueTask.CompletedTask;
        }, default);
        Assert.Equal(2, code);
        Assert.Equal("out\n65534\n", stdout.ToString());
        Assert.Equal("err\n", stderr.ToString());
        Assert.True(File.Exists(Path.Combine(await _env.Snapshotter.GetChangesDirAsync("build1", default), "tmp", "file")));
        Assert.Empty(Directory.GetDirectories(Path.Combine(_env.Options.ExecRoot, "run")));

        var ex = await Assert.ThrowsAsync<MockerException>(() => runner.RunAsync(new RunSpec { RootfsMounts = mounts, Args = ["nosuchcmd"] }, _ => ValueTask.CompletedTask, default));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("executable file not found", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetDirectories(Path.Combine(_env.Options.ExecRoot, "run")));
    }
}

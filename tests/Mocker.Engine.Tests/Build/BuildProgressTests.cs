using Mocker.Api;
using Mocker.Engine.Build;
using Xunit;

namespace Mocker.Engine.Tests.Build;

public class BuildProgressTests
{
    private sealed class Collect : IProgress<JsonMessage>
    {
        public List<JsonMessage> Messages { get; } = [];
        public void Report(JsonMessage value) => Messages.Add(value);
    }

    [Fact]
    public async Task SplitUtf8SequencesAreJoinedAcrossChunks()
    {
        var sink = new Collect();
        var write = new StageOutput(new BuildProgress(sink, quiet: false)).OutputWriter();
        var bytes = "héllo\n"u8.ToArray();
        await write(bytes.AsMemory(0, 2));
        await write(bytes.AsMemory(2));
        Assert.Equal("héllo\n", string.Concat(sink.Messages.Select(m => m.stream)));
    }

    [Fact]
    public void QuietReportsOnlyTheFinalId()
    {
        var sink = new Collect();
        var p = new BuildProgress(sink, quiet: true);
        p.Stream("Step 1/1 : FROM scratch");
        p.Aux("sha256:abc");
        p.Final("sha256:abc");
        var m = Assert.Single(sink.Messages);
        Assert.Equal("sha256:abc\n", m.stream);
    }

    [Fact]
    public void NormalModeReportsStreamsAndAux()
    {
        var sink = new Collect();
        var p = new BuildProgress(sink, quiet: false);
        p.Stream(" ---> Using cache\n");
        p.Aux("sha256:abc");
        p.Final("sha256:abc");
        Assert.Equal(2, sink.Messages.Count);
        Assert.Equal("sha256:abc", sink.Messages[1].aux!.ID);
    }

    [Fact]
    public void StageOutputHandsOverWholeLinesInOrder()
    {
        var sink = new Collect();
        var p = new BuildProgress(sink, quiet: false);
        var a = new StageOutput(p);
        var b = new StageOutput(p);
        a.Stream("a1 part");
        b.Stream("b1\nb2 ");
        a.Stream(" end\na2");
        b.Stream("x\n");
        a.Flush();
        Assert.Equal(["b1\n", "a1 part end\n", "b2 x\n", "a2"], sink.Messages.Select(m => m.stream!).ToArray());
    }
}

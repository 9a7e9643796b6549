using System.Text;
using Mocker.Api;

namespace Mocker.Engine.Build;

/// <summary>
/// Docker's legacy-builder progress stream (engine-api-trace.md §1.10): "Step i/n : …", " ---&gt; id", RUN output as
/// {"stream":…}. In quiet mode nothing but the final image ID is reported. Thread-safe: stages building in parallel
/// report through their own <see cref="StageOutput"/>, which hands over whole lines only.
/// </summary>
internal sealed class BuildProgress(IProgress<JsonMessage> sink, bool quiet)
{
    private readonly Lock _lock = new();

    public bool Quiet => quiet;

    public void Stream(string text)
    {
        if (!quiet && text.Length > 0)
        {
            lock (_lock)
            {
                sink.Report(new JsonMessage { stream = text });
            }
        }
    }

    public void Aux(string imageId)
    {
        if (!quiet)
        {
            lock (_lock)
            {
                sink.Report(new JsonMessage { aux = new AuxId { ID = imageId } });
            }
        }
    }

    /// <summary>The final message: in quiet mode the bare ID, else nothing more.</summary>
    public void Final(string imageId)
    {
        if (quiet)
        {
            lock (_lock)
            {
                sink.Report(new JsonMessage { stream = imageId + "\n" });
            }
        }
    }
}

/// <summary>
/// One stage's view of the progress stream: text is held until a line is complete, so lines of stages running in
/// parallel interleave whole and each stage's lines stay in order. <see cref="Flush"/> hands over a trailing partial line.
/// </summary>
internal sealed class StageOutput(BuildProgress progress)
{
    private readonly StringBuilder _pending = new();
    private readonly Lock _lock = new();

    public void Stream(string text)
    {
        lock (_lock)
        {
            _pending.Append(text);
            var end = _pending.ToString().LastIndexOf('\n');
            if (end < 0)
            {
                return;
            }
            var lines = _pending.ToString(0, end + 1);
            _pending.Remove(0, end + 1);
            progress.Stream(lines);
        }
    }

    public void Flush()
    {
        lock (_lock)
        {
            progress.Stream(_pending.ToString());
            _pending.Clear();
        }
    }

    /// <summary>A UTF-8 decoder that keeps split multi-byte sequences across output chunks.</summary>
    public Func<ReadOnlyMemory<byte>, ValueTask> OutputWriter()
    {
        var decoder = Encoding.UTF8.GetDecoder();
        return data =>
        {
            var chars = new char[Encoding.UTF8.GetMaxCharCount(data.Length)];
            var n = decoder.GetChars(data.Span, chars, flush: false);
            Stream(new string(chars, 0, n));
            return ValueTask.CompletedTask;
        };
    }
}

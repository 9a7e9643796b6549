using System.Text;
using Mocker.Api;

namespace Mocker.Engine.Build;

/// <summary>
/// Docker's legacy-builder progress stream (engine-api-trace.md §1.10): "Step i/n : …", " ---&gt; id", RUN output as
/// {"stream":…}. In quiet mode nothing but the final image ID is reported.
/// </summary>
internal sealed class BuildProgress(IProgress<JsonMessage> sink, bool quiet)
{
    public bool Quiet => quiet;

    public void Stream(string text)
    {
        if (!quiet && text.Length > 0)
        {
            sink.Report(new JsonMessage { stream = text });
        }
    }

    public void Aux(string imageId)
    {
        if (!quiet)
        {
            sink.Report(new JsonMessage { aux = new AuxId { ID = imageId } });
        }
    }

    /// <summary>The final message: in quiet mode the bare ID, else nothing more.</summary>
    public void Final(string imageId)
    {
        if (quiet)
        {
            sink.Report(new JsonMessage { stream = imageId + "\n" });
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

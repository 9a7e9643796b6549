using System.IO.Compression;
using System.IO.Pipelines;
using Mocker.Engine.Content;
using Mocker.Engine.Images;

namespace Mocker.Engine.Snapshots;

/// <summary>Turns a snapshot's changes into a layer blob (build steps, commit).</summary>
internal static class LayerBlobs
{
    /// <summary>
    /// Diffs <paramref name="upperDir"/> into a gzip layer written to the content store in one pass: the differ hashes
    /// the uncompressed tar (the diffID) while the store hashes the compressed bytes (the blob digest).
    /// </summary>
    public static async Task<(Descriptor Blob, LayerDigest Layer)> DiffToBlobAsync(ILayerDiffer differ, IContentStore content, string upperDir, CancellationToken ct)
    {
        var pipe = new Pipe();
        var produce = Task.Run(async () =>
        {
            try
            {
                LayerDigest d;
                await using (var gz = new GZipStream(pipe.Writer.AsStream(leaveOpen: true), CompressionLevel.Fastest, leaveOpen: false))
                {
                    d = await differ.DiffAsync(upperDir, gz, ct).ConfigureAwait(false);
                }
                await pipe.Writer.CompleteAsync().ConfigureAwait(false);
                return d;
            }
            catch (Exception e)
            {
                await pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
                throw;
            }
        }, ct);
        Descriptor blob;
        await using (var reader = pipe.Reader.AsStream())
        {
            blob = await content.WriteAsync(reader, MediaTypes.OciLayerGzip, null, ct).ConfigureAwait(false);
        }
        return (blob, await produce.ConfigureAwait(false));
    }
}

using System.Buffers;
using Mocker.Engine.Errors;
using Mocker.Engine.Images;

namespace Mocker.Engine.Content;

/// <summary>
/// <see cref="IContentStore"/> on the local filesystem (containerd plugins/content/local): blobs at
/// &lt;ContentRoot&gt;/blobs/sha256/&lt;hex&gt;, in-flight writes at &lt;ContentRoot&gt;/ingest/&lt;random&gt;.
/// A blob is renamed into place only after fsync and digest verification, so readers never see partial blobs.
/// </summary>
public sealed class LocalContentStore : IContentStore
{
    private const int BufferSize = 1 << 17;
    private readonly string _blobs;
    private readonly string _ingest;

    public LocalContentStore(EngineOptions options)
    {
        _blobs = Path.Combine(options.ContentRoot, "blobs", "sha256");
        _ingest = Path.Combine(options.ContentRoot, "ingest");
        Directory.CreateDirectory(_blobs);
        Directory.CreateDirectory(_ingest);
    }

    /// <summary>Path of a blob's file (it may not exist).</summary>
    public string BlobPath(Digest digest) => Path.Combine(_blobs, digest.Hex);

    public bool Exists(Digest digest) => File.Exists(BlobPath(digest));

    public long? SizeOf(Digest digest)
    {
        var fi = new FileInfo(BlobPath(digest));
        return fi.Exists ? fi.Length : null;
    }

    public Stream OpenRead(Digest digest)
    {
        try
        {
            return new FileStream(BlobPath(digest), FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (FileNotFoundException)
        {
            throw new MockerException(ErrorKind.NotFound, $"content digest {digest}: not found");
        }
    }

    public async Task<Descriptor> WriteAsync(Stream content, string mediaType, Digest? expected, CancellationToken ct)
    {
        var ingestPath = Path.Combine(_ingest, Guid.NewGuid().ToString("N"));
        try
        {
            Digest digest;
            long size;
            await using (var file = new FileStream(ingestPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            await using (var hashing = new HashingStream(file))
            {
                var buf = ArrayPool<byte>.Shared.Rent(BufferSize);
                try
                {
                    int n;
                    while ((n = await content.ReadAsync(buf.AsMemory(), ct).ConfigureAwait(false)) > 0)
                    {
                        await hashing.WriteAsync(buf.AsMemory(0, n), ct).ConfigureAwait(false);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buf);
                }
                digest = hashing.Digest();
                size = hashing.BytesSeen;
                if (expected is { } want && want != digest)
                {
                    throw MockerException.InvalidArgument($"unexpected commit digest {digest}, expected {want}: failed precondition");
                }
                file.Flush(flushToDisk: true);
            }
            if (!Exists(digest))
            {
                File.Move(ingestPath, BlobPath(digest), overwrite: true);
                Native.Libc.FsyncDirectory(_blobs);
            }
            return new Descriptor { MediaType = mediaType, Digest = digest, Size = size };
        }
        finally
        {
            File.Delete(ingestPath);
        }
    }

    public Task<Descriptor> WriteAsync(ReadOnlyMemory<byte> content, string mediaType, CancellationToken ct)
    {
        var digest = Digest.Compute(content.Span);
        var stream = new MemoryStream(content.ToArray(), writable: false);
        return Exists(digest)
            ? Task.FromResult(new Descriptor { MediaType = mediaType, Digest = digest, Size = content.Length })
            : WriteAsync(stream, mediaType, digest, ct);
    }

    public Task DeleteAsync(Digest digest, CancellationToken ct)
    {
        File.Delete(BlobPath(digest));
        return Task.CompletedTask;
    }

    public IEnumerable<Digest> List()
    {
        foreach (var path in Directory.EnumerateFiles(_blobs))
        {
            if (Digest.TryParse(Digest.Sha256Prefix + Path.GetFileName(path), out var d))
            {
                yield return d;
            }
        }
    }

    public Task CleanupIngestsAsync(CancellationToken ct)
    {
        foreach (var path in Directory.EnumerateFileSystemEntries(_ingest))
        {
            ct.ThrowIfCancellationRequested();
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            else
            {
                File.Delete(path);
            }
        }
        return Task.CompletedTask;
    }
}

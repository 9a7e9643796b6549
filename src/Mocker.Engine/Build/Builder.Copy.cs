using System.Security.Cryptography;
using Mocker.Engine.Build.Instructions;
using Mocker.Engine.Snapshots;

namespace Mocker.Engine.Build;

public sealed partial class Builder
{
    private sealed partial class BuildRun
    {
        /// <summary>
        /// COPY and ADD (dockerfile-reference "ADD", "COPY"): sources from the context, an earlier stage or an image
        /// (--from), here-documents (a file named after the delimiter, mode 0644), and for ADD http(s) URLs (downloaded,
        /// mode 0600, Last-Modified as mtime, never extracted, optional --checksum) and local tar archives (extracted).
        /// --exclude drops matching paths, --parents keeps each source's parent directories under the destination,
        /// --link builds the layer independently of the parent (see <see cref="LinkedCopyAsync"/>).
        /// </summary>
        private async Task CopyStepAsync(StageState s, CopyInstruction copy, CancellationToken ct)
        {
            var verb = copy.IsAdd ? "ADD" : "COPY";
            var urls = new List<Uri>();
            foreach (var src in copy.Sources)
            {
                if (src.StartsWith("git@", StringComparison.Ordinal) || (src.EndsWith(".git", StringComparison.Ordinal) && src.Contains("://", StringComparison.Ordinal)))
                {
                    throw At(copy, $"{verb} failed: git sources are not supported: {src}");
                }
                if (IsUrl(src))
                {
                    if (!copy.IsAdd)
                    {
                        throw At(copy, $"COPY failed: source can't be a URL for COPY: {src}");
                    }
                    urls.Add(Uri.TryCreate(src, UriKind.Absolute, out var u) ? u : throw At(copy, $"ADD failed: invalid URL {src}"));
                }
            }
            if (copy.Checksum is not null && (urls.Count != 1 || copy.Sources.Count != 1))
            {
                throw At(copy, "ADD failed: checksum can't be specified for non-HTTP(S) sources");
            }
            var cfg = s.Image.Container;
            var dest = copy.Dest;
            var destIsDir = dest.EndsWith('/') || dest is "." or ".." || copy.Parents;
            if (!dest.StartsWith('/'))
            {
                dest = ConfigApplier.ResolveWorkdir(cfg.WorkingDir, dest) + (destIsDir ? "/" : "");
            }
            var sourceCount = copy.Sources.Count + copy.Heredocs.Count;
            if (sourceCount > 1 && !destIsDir)
            {
                throw At(copy, $"When using {verb} with more than one source file, the destination must be a directory and end with a /");
            }
            UnixFileMode? mode = null;
            if (copy.Chmod is not null)
            {
                try
                {
                    mode = (UnixFileMode)Convert.ToInt32(copy.Chmod, 8);
                }
                catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
                {
                    throw At(copy, $"invalid chmod parameter: {copy.Chmod}");
                }
            }
            var excludes = new PathPatterns(copy.Excludes);
            Func<string, bool>? excluded = excludes.IsEmpty ? null : excludes.Matches;

            var source = copy.From is null ? null : await OpenFromAsync(s, copy, copy.From, verb, ct).ConfigureAwait(false);
            var sourceRoot = source?.Root ?? contextDir;
            try
            {
                var matched = new List<CopySource>();
                foreach (var src in copy.Sources.Where(x => !IsUrl(x)))
                {
                    List<CopySource> found;
                    try
                    {
                        found = FileCopier.Expand(sourceRoot, src);
                    }
                    catch (FormatException e)
                    {
                        throw At(copy, $"{verb} failed: {src}: {e.Message}");
                    }
                    found.RemoveAll(f => excluded is not null && excluded(f.Rel));
                    if (copy.Parents)
                    {
                        // rsync's "/./" pivot: only the directories after it are kept under the destination.
                        var pivot = PivotDepth(src);
                        found = [.. found.Select(f => f with { Rel = string.Join('/', f.Rel.Split('/').Skip(pivot)) })];
                    }
                    if (found.Count == 0)
                    {
                        if (PathMatch.HasMeta(src) || excluded is not null)
                        {
                            continue;
                        }
                        throw copy.From is null
                            ? At(copy, $"{verb} failed: file not found in build context or excluded by .dockerignore: stat {src.TrimStart('/')}: file does not exist (context root: {contextDir})")
                            : At(copy, $"{verb} failed: stat {src}: file does not exist in stage or image {copy.From}");
                    }
                    matched.AddRange(found);
                }
                var generated = new List<CopySource>();
                foreach (var h in copy.Heredocs)
                {
                    var file = await WriteScratchFileAsync(h.Name, h.Content, (UnixFileMode)0b110_100_100, ct).ConfigureAwait(false);
                    generated.Add(new CopySource(h.Name, file, false));
                }
                foreach (var url in urls)
                {
                    generated.Add(await DownloadAsync(copy, url, ct).ConfigureAwait(false));
                }
                if (matched.Count + generated.Count == 0)
                {
                    throw At(copy, $"{verb} failed: no source files were specified");
                }
                if (matched.Count + generated.Count > 1 && !destIsDir)
                {
                    throw At(copy, $"When using {verb} with more than one source file, the destination must be a directory and end with a /");
                }
                var checksum = copy.From is null
                    ? await FileCopier.ChecksumAsync([.. matched, .. generated], ct, excluded).ConfigureAwait(false)
                    : source!.Identity + ":" + await FileCopier.ChecksumAsync(generated, ct).ConfigureAwait(false);
                var kind = matched.Count + generated.Count > 1 ? "multi" : (matched.Count == 1 && matched[0].IsDir) ? "dir" : "file";
                var createdBy = $"/bin/sh -c #(nop) {verb} {(copy.Chown is null ? "" : "--chown=" + copy.Chown + " ")}{(copy.Chmod is null ? "" : "--chmod=" + copy.Chmod + " ")}{kind}:{checksum} in {dest} ";
                List<string> keyParts = ["copy", createdBy, string.Join('\n', copy.Sources), copy.From ?? "", string.Join('\n', copy.Excludes), copy.Parents ? "parents" : ""];
                async Task CopyInto(string rootfs, (int Uid, int Gid) owner)
                {
                    var attrs = new FileCopier.Attributes(owner.Uid, owner.Gid, mode);
                    foreach (var m in matched)
                    {
                        var target = copy.Parents ? ParentsDest(dest, m) : dest;
                        if (copy.IsAdd && !m.IsDir && SafeTarExtractor.LooksLikeArchive(m.FullPath))
                        {
                            var dir = FileCopier.MakeDirs(rootfs, target, attrs);
                            await using var fs = File.OpenRead(m.FullPath);
                            await SafeTarExtractor.ExtractAsync(fs, dir, preserveOwner: true, ct).ConfigureAwait(false);
                            continue;
                        }
                        await FileCopier.CopyAsync(m, rootfs, target, destIsDir, attrs, ct, excluded).ConfigureAwait(false);
                    }
                    foreach (var g in generated)
                    {
                        // Generated files keep their own mode (heredoc 0644, download 0600) unless --chmod says otherwise.
                        await FileCopier.CopyAsync(g, rootfs, dest, destIsDir, attrs, ct).ConfigureAwait(false);
                    }
                }
                if (copy.Link && NumericOwner(copy.Chown) is { } linkOwner)
                {
                    await LinkedCopyAsync(s, cfg, createdBy, [.. keyParts, dest], rootfs => CopyInto(rootfs, linkOwner), ct).ConfigureAwait(false);
                    return;
                }
                var key = BuildCache.ComputeKey(s.Image.ImageId?.ToString(), [.. keyParts, Serialize(cfg)]);
                if (await TryCacheAsync(s, key, ct).ConfigureAwait(false))
                {
                    return;
                }
                var cid = ContainerLine(s);
                var layer = await MutateAsync(s.Image.TopChainId,
                    rootfs => CopyInto(rootfs, copy.Chown is null ? (0, 0) : FileCopier.ResolveOwner(rootfs, copy.Chown)), ct).ConfigureAwait(false);
                s.Out.Stream($"Removing intermediate container {cid}\n");
                s.Image = await CommitAsync(s, cfg, createdBy, layer, ct).ConfigureAwait(false);
                await StoreCacheAsync(s, key, ct).ConfigureAwait(false);
            }
            finally
            {
                if (source is not null)
                {
                    await source.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        /// <summary>
        /// COPY --link (dockerfile-reference "COPY --link"): the files are copied onto an empty filesystem, so the layer
        /// and its cache key (<paramref name="linkKeyParts"/>: sources, their checksums, the resolved destination) do
        /// not depend on the parent at all; the layer, cached as a one-layer image, is then stacked on the parent's
        /// snapshot and reused as the same blob. Should the layer not apply onto this parent (a symlink where it has a
        /// directory), the copy is made onto the parent directly, which gives the same files.
        /// </summary>
        private async Task LinkedCopyAsync(StageState s, Api.ContainerConfig cfg, string createdBy, List<string> linkKeyParts, Func<string, Task> copyInto, CancellationToken ct)
        {
            var linkKey = BuildCache.ComputeKey(null, ["copy-link", .. linkKeyParts]);
            ImageState? linked = null;
            if (!opts.NoCache && await b._cache.LookupAsync(linkKey, ct).ConfigureAwait(false) is { } linkedId
                && await b._images.FindAsync(linkedId, ct).ConfigureAwait(false) is { } rec
                && rec.TopChainId is not null && await b._snapshotter.StatAsync(rec.TopChainId, ct).ConfigureAwait(false) is not null)
            {
                linked = await LoadAsync(rec, ct).ConfigureAwait(false);
            }
            var key = BuildCache.ComputeKey(s.Image.ImageId?.ToString(), ["copy-linked", linkKey, linked?.ImageId?.ToString() ?? "", Serialize(cfg)]);
            if (linked is not null && await TryCacheAsync(s, key, ct).ConfigureAwait(false))
            {
                return;
            }
            var cid = ContainerLine(s);
            if (linked is null)
            {
                var own = await MutateAsync(null, copyInto, ct).ConfigureAwait(false);
                var empty = new StageState(s.Def, new ImageState(new Images.ImageConfig { Config = new Api.ContainerConfig(), History = [] }, [], null, null, 0), s.Out, 0);
                linked = await CommitAsync(empty, new Api.ContainerConfig(), createdBy, own, ct).ConfigureAwait(false);
                await b._cache.StoreAsync(linkKey, linked.ImageId!.Value.ToString(), ct).ConfigureAwait(false);
                key = BuildCache.ComputeKey(s.Image.ImageId?.ToString(), ["copy-linked", linkKey, linked.ImageId!.Value.ToString(), Serialize(cfg)]);
            }
            NewLayer? layer = null;
            if (linked.Layers.Count == 1)
            {
                var blob = linked.Layers[0];
                var diffId = linked.Config.RootFs.DiffIds[0];
                var parent = s.Image.TopChainId;
                var chain = Snapshots.ILayerUnpacker.ChainId(parent, diffId);
                if (await b._snapshotter.StatAsync(chain, ct).ConfigureAwait(false) is null && !await StackAsync(parent, chain, blob, ct).ConfigureAwait(false))
                {
                    layer = await MutateAsync(parent, copyInto, ct).ConfigureAwait(false);
                }
                else
                {
                    layer = new NewLayer(blob, diffId, chain, linked.Size);
                }
            }
            s.Out.Stream($"Removing intermediate container {cid}\n");
            s.Image = await CommitAsync(s, cfg, createdBy, layer, ct).ConfigureAwait(false);
            await StoreCacheAsync(s, key, ct).ConfigureAwait(false);
        }

        /// <summary>
        /// Extracts layer <paramref name="blob"/> onto a new active snapshot of <paramref name="parent"/> and commits it as
        /// <paramref name="chain"/>. Returns false (nothing left behind) when the layer cannot be applied there.
        /// </summary>
        private async Task<bool> StackAsync(string? parent, string chain, Images.Descriptor blob, CancellationToken ct)
        {
            var active = "build-" + RandomHex(16);
            var rootfs = Path.Combine(workDir, "rootfs-" + RandomHex(6));
            var mounts = await b._snapshotter.PrepareAsync(active, parent, ct).ConfigureAwait(false);
            try
            {
                MountHelper.MountAll(mounts, rootfs);
                try
                {
                    await using var stream = b._content.OpenRead(blob.Digest);
                    await SafeTarExtractor.ExtractAsync(stream, rootfs, preserveOwner: true, ct).ConfigureAwait(false);
                }
                finally
                {
                    MountHelper.Unmount(rootfs);
                }
                try
                {
                    await b._snapshotter.CommitAsync(chain, active, ct).ConfigureAwait(false);
                }
                catch (Errors.MockerException e) when (e.Kind == Errors.ErrorKind.Conflict)
                {
                    // A stage building in parallel stacked the same layer on the same parent first.
                    await b._snapshotter.RemoveAsync(active, CancellationToken.None).ConfigureAwait(false);
                }
                return true;
            }
            catch (Errors.MockerException) when (!ct.IsCancellationRequested)
            {
                await b._snapshotter.RemoveAsync(active, CancellationToken.None).ConfigureAwait(false);
                return false;
            }
            catch
            {
                await b._snapshotter.RemoveAsync(active, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>The --chown of a --link copy when it needs no /etc/passwd of the parent ("uid" or "uid:gid"; none = 0:0), else null.</summary>
        private static (int Uid, int Gid)? NumericOwner(string? chown)
        {
            if (chown is null)
            {
                return (0, 0);
            }
            var parts = chown.Split(':');
            if (parts.Length > 2 || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var uid))
            {
                return null;
            }
            var gid = uid;
            if (parts.Length == 2 && !int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out gid))
            {
                return null;
            }
            return (uid, gid);
        }

        private static bool IsUrl(string src) =>
            src.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || src.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

        /// <summary>The number of leading path components before a "/./" pivot of a COPY --parents source (0 without one).</summary>
        private static int PivotDepth(string src)
        {
            var trimmed = src.StartsWith("./", StringComparison.Ordinal) ? src[2..] : src.TrimStart('/');
            var at = trimmed.IndexOf("/./", StringComparison.Ordinal);
            return at < 0 ? 0 : trimmed[..at].Split('/', StringSplitOptions.RemoveEmptyEntries).Count(c => c != ".");
        }

        /// <summary>COPY --parents: the source's path relative to the source root (or pivot) is kept under the destination.</summary>
        private static string ParentsDest(string dest, CopySource m)
        {
            if (m.IsDir)
            {
                return dest.TrimEnd('/') + "/" + m.Rel + "/";
            }
            var slash = m.Rel.LastIndexOf('/');
            return slash < 0 ? dest : dest.TrimEnd('/') + "/" + m.Rel[..slash] + "/";
        }

        /// <summary>Writes a file named <paramref name="name"/> into a fresh directory under the work dir and returns its path.</summary>
        private async Task<string> WriteScratchFileAsync(string name, string content, UnixFileMode mode, CancellationToken ct)
        {
            var dir = Path.Combine(workDir, "gen-" + RandomHex(6));
            Directory.CreateDirectory(dir);
            var file = Path.Combine(dir, name);
            await File.WriteAllTextAsync(file, content, ct).ConfigureAwait(false);
            File.SetUnixFileMode(file, mode);
            return file;
        }

        /// <summary>
        /// Downloads an ADD URL (dockerfile-reference "Adding files from a URL"): the file name is the last segment of
        /// the URL path, the mode 0600, the mtime the Last-Modified header when present; --checksum=sha256:… is verified.
        /// </summary>
        private async Task<CopySource> DownloadAsync(CopyInstruction copy, Uri url, CancellationToken ct)
        {
            var name = Uri.UnescapeDataString(url.AbsolutePath.TrimEnd('/').Split('/')[^1]);
            if (name.Length == 0 || name is "." or "..")
            {
                throw At(copy, $"ADD failed: cannot determine a file name from the URL {url}");
            }
            var dir = Path.Combine(workDir, "url-" + RandomHex(6));
            Directory.CreateDirectory(dir);
            var file = Path.Combine(dir, name);
            DateTimeOffset? lastModified;
            string digest;
            try
            {
                using var response = await b._http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    throw At(copy, $"ADD failed: GET {url}: {(int)response.StatusCode} {response.ReasonPhrase}");
                }
                lastModified = response.Content.Headers.LastModified;
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                await using (var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false))
                await using (var fs = new FileStream(file, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = (UnixFileMode)0b110_000_000 }))
                {
                    var buffer = new byte[81920];
                    int n;
                    while ((n = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                    {
                        sha.AppendData(buffer, 0, n);
                        await fs.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                    }
                }
                digest = "sha256:" + Convert.ToHexStringLower(sha.GetHashAndReset());
            }
            catch (HttpRequestException e)
            {
                throw At(copy, $"ADD failed: GET {url}: {e.Message}");
            }
            if (copy.Checksum is not null && !string.Equals(copy.Checksum, digest, StringComparison.OrdinalIgnoreCase))
            {
                throw At(copy, $"ADD failed: digest mismatch {copy.Checksum}: {digest}");
            }
            File.SetUnixFileMode(file, (UnixFileMode)0b110_000_000);
            if (lastModified is { } lm)
            {
                File.SetLastWriteTimeUtc(file, lm.UtcDateTime);
            }
            return new CopySource(name, file, false);
        }
    }

    /// <summary>One client for ADD URLs (connection reuse across steps); per-request cancellation comes from the build.</summary>
    private readonly HttpClient _http = new(new SocketsHttpHandler { AutomaticDecompression = System.Net.DecompressionMethods.None })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };
}

using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Mocker.Engine.Build.Instructions;
using Mocker.Engine.Build.Parser;
using Mocker.Engine.Build.Shell;
using Mocker.Engine.Runtime;
using Mocker.Engine.Snapshots;

namespace Mocker.Engine.Build;

public sealed partial class Builder
{
    /// <summary>Per cache-mount id locks for sharing=locked and sharing=private (one per daemon).</summary>
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _cacheLocks = new(StringComparer.Ordinal);

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex SafeCacheIdRegex();

    /// <summary>
    /// The host directory of a cache mount: DataRoot/buildcache/&lt;id&gt;, the id itself when it is a plain file name,
    /// else "sha256-" and its hash (ids are often paths such as "/root/.cache").
    /// </summary>
    internal string CacheMountDir(string id) =>
        Path.Combine(_options.DataRoot, "buildcache", SafeCacheIdRegex().IsMatch(id) && id is not ("." or "..")
            ? id
            : "sha256-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id))));

    private sealed partial class BuildRun
    {
        private async Task RunStepAsync(StageState s, RunInstruction run, CancellationToken ct)
        {
            var cfg = s.Image.Container;
            var (argv, script) = RunSteps.Command(run, cfg.Shell is { Count: > 0 } ? cfg.Shell : ConfigApplier.DefaultShell);
            var argsInUse = ArgsInUse(s);
            var createdBy = (argsInUse.Count > 0 ? $"|{argsInUse.Count} {string.Join(' ', argsInUse)} " : "") + string.Join(' ', argv);
            var env = new List<string>(cfg.Env ?? []);
            var envLookup = ShellLex.Lookup(env);
            foreach (var (k, v) in s.Args.OrderBy(a => a.Key, StringComparer.Ordinal))
            {
                if (v is not null && envLookup(k) is null)
                {
                    env.Add(k + "=" + v);
                }
            }
            foreach (var p in ProxyArgs)
            {
                if (!s.Args.ContainsKey(p) && opts.BuildArgs.TryGetValue(p, out var pv) && (pv ?? Environment.GetEnvironmentVariable(p)) is { } proxy)
                {
                    env.Add(p + "=" + proxy);
                }
            }
            // RUN --network=host|none overrides the build's network (BuildKit); "default" means the build's setting.
            var requested = run.Network is null or "" or "default" ? opts.NetworkMode : run.Network;
            var network = requested is null or "" or "default" ? "host" : requested;
            if (network is not ("host" or "none"))
            {
                throw At(run, $"network mode \"{network}\" is not supported for RUN: use host or none");
            }

            var releases = new List<Func<Task>>();
            try
            {
                var extra = new List<OciMount>();
                var keyParts = new List<string> { "run", createdBy, Serialize(cfg), network, script?.Content ?? "" };
                if (script is not null)
                {
                    var file = await WriteScratchFileAsync(script.Name, script.Content, (UnixFileMode)0b111_101_101, ct).ConfigureAwait(false);
                    extra.Add(new OciMount("/dev/pipes/" + script.Name, "bind", file, ["rbind", "ro"]));
                }
                var targets = new List<string>();
                foreach (var m in run.Mounts)
                {
                    var target = m.Target.Length == 0 ? "" : ConfigApplier.ResolveWorkdir(cfg.WorkingDir, m.Target);
                    if (m.Type == "secret" && m.Env is not null && opts.Secrets.TryGetValue(m.Id!, out var secretValue))
                    {
                        env.Add(m.Env + "=" + System.Text.Encoding.UTF8.GetString(secretValue));
                    }
                    var prepared = await PrepareMountAsync(s, run, m, target, releases, ct).ConfigureAwait(false);
                    keyParts.Add(prepared.KeyPart);
                    if (prepared.Mount is not null)
                    {
                        extra.Add(prepared.Mount);
                        targets.Add(target);
                    }
                }
                var key = BuildCache.ComputeKey(s.Image.ImageId?.ToString(), keyParts);
                if (await TryCacheAsync(s, key, ct).ConfigureAwait(false))
                {
                    return;
                }
                var cid = ContainerLine(s);
                var active = "build-" + RandomHex(16);
                var parent = s.Image.TopChainId;
                var mounts = await b._snapshotter.PrepareAsync(active, parent, ct).ConfigureAwait(false);
                NewLayer? layer;
                try
                {
                    var spec = new RunSpec
                    {
                        RootfsMounts = mounts,
                        Args = argv,
                        Env = env,
                        WorkingDir = string.IsNullOrEmpty(cfg.WorkingDir) ? "/" : cfg.WorkingDir,
                        User = cfg.User ?? "",
                        NetworkMode = network,
                        ExtraMounts = extra,
                    };
                    var write = s.Out.OutputWriter();
                    var code = await b._runner.RunAsync(spec, chunk => write(chunk.Data), ct).ConfigureAwait(false);
                    if (code != 0)
                    {
                        throw new BuildException($"The command '{string.Join(' ', argv)}' returned a non-zero code: {code}", code);
                    }
                    // The runtime creates missing mount points in the rootfs; they are not part of the step's result.
                    var upper = await b._snapshotter.GetChangesDirAsync(active, ct).ConfigureAwait(false);
                    RunSteps.RemoveMountStubs(upper, RunSteps.LowerDirs(mounts), targets);
                    layer = await CommitLayerAsync(active, parent, ct).ConfigureAwait(false);
                }
                catch
                {
                    await b._snapshotter.RemoveAsync(active, CancellationToken.None).ConfigureAwait(false);
                    throw;
                }
                s.Out.Stream($"Removing intermediate container {cid}\n");
                s.Image = await CommitAsync(s, cfg, createdBy, layer, ct).ConfigureAwait(false);
                await StoreCacheAsync(s, key, ct).ConfigureAwait(false);
            }
            finally
            {
                for (var i = releases.Count - 1; i >= 0; i--)
                {
                    await releases[i]().ConfigureAwait(false);
                }
            }
        }

        /// <summary>
        /// Turns one <c>--mount</c> into the OCI mount given to the runtime and the part of the cache key it contributes
        /// (bind: the source's content checksum or the source image; cache and tmpfs: their options only, never the
        /// contents). <paramref name="releases"/> collects the undo actions (views, overlays, locks).
        /// </summary>
        private async Task<(OciMount? Mount, string KeyPart)> PrepareMountAsync(StageState s, RunInstruction run, RunMount m, string target, List<Func<Task>> releases, CancellationToken ct)
        {
            switch (m.Type)
            {
                case "bind":
                    {
                        string root;
                        string identity;
                        if (m.From is null)
                        {
                            root = contextDir;
                            identity = "context";
                        }
                        else
                        {
                            var view = await OpenFromAsync(s, run, m.From, "RUN --mount", ct).ConfigureAwait(false);
                            releases.Add(async () => await view.DisposeAsync().ConfigureAwait(false));
                            root = view.Root;
                            identity = view.Identity;
                        }
                        var rel = SafeTarExtractor.CleanRelative(m.Source ?? "/") ?? "";
                        var full = rel.Length == 0 ? root : FileCopier.ResolveInScope(root, rel);
                        if (!Path.Exists(full))
                        {
                            throw At(run, $"RUN --mount: failed to compute cache key: \"/{rel}\" not found in {(m.From is null ? "the build context" : m.From)}");
                        }
                        var isDir = Directory.Exists(full);
                        var keyPart = $"bind\0{target}\0{rel}\0{m.ReadWrite}\0" + (m.From is null
                            ? await FileCopier.ChecksumAsync([new CopySource(rel, full, isDir)], ct).ConfigureAwait(false)
                            : identity);
                        if (!m.ReadWrite)
                        {
                            return (new OciMount(target, "bind", full, ["rbind", "ro"]), keyPart);
                        }
                        // rw: writes land in a throwaway copy (BuildKit discards them): an overlay for a directory, a copy for a file.
                        var scratch = Path.Combine(workDir, "bind-" + RandomHex(6));
                        Directory.CreateDirectory(scratch);
                        if (!isDir)
                        {
                            var copy = Path.Combine(scratch, Path.GetFileName(full));
                            File.Copy(full, copy);
                            return (new OciMount(target, "bind", copy, ["rbind", "rw"]), keyPart);
                        }
                        var merged = Path.Combine(scratch, "merged");
                        Directory.CreateDirectory(Path.Combine(scratch, "upper"));
                        Directory.CreateDirectory(Path.Combine(scratch, "work"));
                        MountHelper.MountAll([new Mount("overlay", "overlay",
                        [$"lowerdir={full}", $"upperdir={Path.Combine(scratch, "upper")}", $"workdir={Path.Combine(scratch, "work")}"])], merged);
                        releases.Add(() =>
                        {
                            MountHelper.Unmount(merged);
                            return Task.CompletedTask;
                        });
                        return (new OciMount(target, "bind", merged, ["rbind", "rw"]), keyPart);
                    }
                case "cache":
                    {
                        if (m.Source is not null && m.From is null)
                        {
                            throw At(run, "RUN --mount=type=cache: source= names a path in from=, which is missing");
                        }
                        var id = m.Id ?? target;
                        var dir = b.CacheMountDir(id);
                        if (!Directory.Exists(dir))
                        {
                            Directory.CreateDirectory(Path.GetDirectoryName(dir)!);
                            var tmp = dir + ".tmp-" + RandomHex(4);
                            Directory.CreateDirectory(tmp);
                            File.SetUnixFileMode(tmp, (UnixFileMode)(m.Mode ?? 0b111_101_101));
                            FileCopier.Lchown(tmp, m.Uid, m.Gid);
                            if (m.From is not null)
                            {
                                // A new cache starts as a copy of from= (at source=), BuildKit's "base of the cache mount".
                                await using var view = await OpenFromAsync(s, run, m.From, "RUN --mount", ct).ConfigureAwait(false);
                                var rel = SafeTarExtractor.CleanRelative(m.Source ?? "/") ?? "";
                                var seed = rel.Length == 0 ? view.Root : FileCopier.ResolveInScope(view.Root, rel);
                                if (!Directory.Exists(seed))
                                {
                                    Directory.Delete(tmp, recursive: true);
                                    throw At(run, $"RUN --mount=type=cache: \"/{rel}\" is not a directory in {m.From}");
                                }
                                await FileCopier.CopyAsync(new CopySource(rel, seed, true), tmp, "/", true, new FileCopier.Attributes(m.Uid, m.Gid, null), ct).ConfigureAwait(false);
                            }
                            try
                            {
                                Directory.Move(tmp, dir);
                            }
                            catch (IOException) when (Directory.Exists(dir))
                            {
                                // Another build created it first: theirs is as good as ours.
                                Directory.Delete(tmp);
                            }
                        }
                        var source = dir;
                        if (m.Sharing != "shared")
                        {
                            var gate = b._cacheLocks.GetOrAdd(id, _ => new SemaphoreSlim(1, 1));
                            if (m.Sharing == "locked")
                            {
                                await gate.WaitAsync(ct).ConfigureAwait(false);
                                releases.Add(() =>
                                {
                                    gate.Release();
                                    return Task.CompletedTask;
                                });
                            }
                            else if (await gate.WaitAsync(0, ct).ConfigureAwait(false))
                            {
                                releases.Add(() =>
                                {
                                    gate.Release();
                                    return Task.CompletedTask;
                                });
                            }
                            else
                            {
                                // private and busy: this step gets a fresh, unshared cache directory (BuildKit creates a new instance).
                                source = Path.Combine(workDir, "cache-" + RandomHex(6));
                                Directory.CreateDirectory(source);
                                FileCopier.Lchown(source, m.Uid, m.Gid);
                            }
                        }
                        return (new OciMount(target, "bind", source, ["rbind", m.ReadWrite ? "rw" : "ro"]), $"cache\0{target}\0{id}\0{m.Sharing}\0{m.ReadWrite}");
                    }
                case "tmpfs":
                    {
                        List<string> options = ["nosuid", "nodev", "mode=1777"];
                        if (m.Size > 0)
                        {
                            options.Add("size=" + m.Size.ToString(System.Globalization.CultureInfo.InvariantCulture));
                        }
                        return (new OciMount(target, "tmpfs", "tmpfs", options), $"tmpfs\0{target}\0{m.Size}");
                    }
                default:
                    {
                        // type=secret: the value is never part of the key; a missing optional secret is skipped (BuildKit).
                        var keyPart = $"secret\0{target}\0{m.Id}\0{m.Env}";
                        if (!opts.Secrets.TryGetValue(m.Id!, out var value))
                        {
                            return m.Required ? throw At(run, $"RUN --mount=type=secret: secret {m.Id} not found") : (null, keyPart);
                        }
                        if (target.Length == 0)
                        {
                            return (null, keyPart);
                        }
                        // On the exec root (a tmpfs), so the secret never touches persistent storage; removed after the step.
                        var dir = Path.Combine(b._options.ExecRoot, "build-secrets", RandomHex(12));
                        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                        releases.Add(() =>
                        {
                            Directory.Delete(dir, recursive: true);
                            return Task.CompletedTask;
                        });
                        var file = Path.Combine(dir, "secret");
                        await using (var fs = new FileStream(file, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
                        {
                            await fs.WriteAsync(value, ct).ConfigureAwait(false);
                        }
                        File.SetUnixFileMode(file, (UnixFileMode)(m.Mode ?? 0b100_000_000));
                        FileCopier.Lchown(file, m.Uid, m.Gid);
                        return (new OciMount(target, "bind", file, ["rbind", "ro"]), keyPart);
                    }
            }
        }
    }
}

/// <summary>The pure parts of a RUN step: the command line (with here-documents) and the cleanup of mount points.</summary>
internal static class RunSteps
{
    /// <summary>
    /// The argv of a RUN and, for a here-document starting with "#!", the script to mount at /dev/pipes/&lt;name&gt;
    /// (BuildKit dispatchRun): a RUN whose whole command is one heredoc runs its body with the shell (or as the
    /// script itself with a shebang); any other heredoc use hands the command line plus the heredoc lines to the
    /// shell, which performs the redirections itself (quoting and <c>&lt;&lt;-</c> as POSIX says).
    /// </summary>
    public static (List<string> Argv, Heredoc? Script) Command(RunInstruction run, IReadOnlyList<string> shell)
    {
        if (!run.PrependShell)
        {
            return ([.. run.Command], null);
        }
        var heredocs = run.Node.Heredocs;
        if (heredocs.Count == 0)
        {
            return ([.. shell, run.Command[0]], null);
        }
        if (heredocs.Count == 1 && run.Command[0].Trim() == heredocs[0].Marker)
        {
            var h = heredocs[0];
            if (h.Content.StartsWith("#!", StringComparison.Ordinal))
            {
                return (["/dev/pipes/" + h.Name], h);
            }
            return ([.. shell, h.Content], null);
        }
        return ([.. shell, run.Command[0] + "\n" + string.Concat(heredocs.Select(h => h.Raw))], null);
    }

    /// <summary>The lower directories of an overlay rootfs mount (empty for a bind of a base snapshot).</summary>
    public static List<string> LowerDirs(IReadOnlyList<Mount> mounts) =>
        [.. mounts.Where(m => m.Type == "overlay")
            .SelectMany(m => m.Options)
            .Where(o => o.StartsWith("lowerdir=", StringComparison.Ordinal))
            .SelectMany(o => o["lowerdir=".Length..].Split(':', StringSplitOptions.RemoveEmptyEntries))];

    /// <summary>
    /// Deletes, from the upper directory, the empty directories or files that exist only because they were mount
    /// points (and their parents made for them), unless a lower layer has them.
    /// </summary>
    public static void RemoveMountStubs(string upper, IReadOnlyList<string> lowers, IEnumerable<string> targets)
    {
        foreach (var target in targets)
        {
            var rel = target.Trim('/');
            while (rel.Length > 0)
            {
                if (lowers.Any(l => Exists(Path.Combine(l, rel))))
                {
                    break;
                }
                var path = Path.Combine(upper, rel);
                var info = new FileInfo(path);
                if (info.LinkTarget is not null)
                {
                    break;
                }
                if (Directory.Exists(path) && !Directory.EnumerateFileSystemEntries(path).Any())
                {
                    Directory.Delete(path);
                }
                else if (info.Exists && info.Length == 0)
                {
                    info.Delete();
                }
                else
                {
                    break;
                }
                var slash = rel.LastIndexOf('/');
                rel = slash < 0 ? "" : rel[..slash];
            }
        }

        static bool Exists(string p) => Path.Exists(p) || new FileInfo(p).LinkTarget is not null;
    }
}

using System.Globalization;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Mocker.Api;
using Mocker.Engine.Build.Instructions;
using Mocker.Engine.Build.Parser;
using Mocker.Engine.Build.Shell;
using Mocker.Engine.Content;
using Mocker.Engine.Errors;
using Mocker.Engine.Images;
using Mocker.Engine.Runtime;
using Mocker.Engine.Snapshots;
using Mocker.Engine.State;

namespace Mocker.Engine.Build;

/// <summary>
/// The Mockerfile builder (Docker's legacy builder semantics, BuildKit's structure): extracts the context, parses the
/// Mockerfile, builds the stages the target needs (independent stages in parallel, each stage's progress lines in
/// order). Every step commits an untagged intermediate image (config + manifest + layers) and records it in build_cache
/// so a rebuild with the same inputs reuses it ("---&gt; Using cache"). RUN runs through <see cref="IProcessRunner"/> on
/// an active snapshot whose upper directory becomes a gzip layer, with its --mount bind/cache/tmpfs mounts passed as
/// extra OCI mounts (cache directories persist under DataRoot/buildcache/&lt;id&gt;; mount points never reach the layer);
/// COPY/ADD write into a mounted active snapshot (Builder.Copy.cs), RUN lives in Builder.Run.cs.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class Builder(
    EngineOptions options,
    MetadataDb db,
    IContentStore content,
    IImageStore images,
    ISnapshotter snapshotter,
    ILayerDiffer differ,
    IProcessRunner runner,
    ILogger<Builder> logger) : IBuildService
{
    private const string DefaultPathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>Docker's predefined ARGs: usable without an ARG line, never reported as unused, kept out of history.</summary>
    private static readonly HashSet<string> ProxyArgs =
    [
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
        "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
    ];

    private readonly EngineOptions _options = options;
    private readonly BuildCache _cache = new(db);
    private readonly IContentStore _content = content;
    private readonly IImageStore _images = images;
    private readonly ISnapshotter _snapshotter = snapshotter;
    private readonly ILayerDiffer _differ = differ;
    private readonly IProcessRunner _runner = runner;

    // A prune never removes a cache directory under a running build: both sides take this lock.
    private readonly object _cacheUse = new();
    private int _activeBuilds;

    /// <inheritdoc />
    public Task<(IReadOnlyList<string> Deleted, long SpaceReclaimed)> PruneCacheAsync(CancellationToken ct)
    {
        lock (_cacheUse)
        {
            if (_activeBuilds > 0)
            {
                throw MockerException.Conflict("a build is in progress; prune the build cache when it has finished");
            }
            var root = Path.Combine(_options.DataRoot, "buildcache");
            var deleted = new List<string>();
            long freed = 0;
            if (Directory.Exists(root))
            {
                foreach (var dir in new DirectoryInfo(root).EnumerateDirectories())
                {
                    ct.ThrowIfCancellationRequested();
                    freed += dir.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).Sum(f => f.Length);
                    dir.Delete(recursive: true);
                    deleted.Add(dir.Name);
                }
            }
            return Task.FromResult<(IReadOnlyList<string>, long)>((deleted, freed));
        }
    }

    /// <inheritdoc />
    public async Task<string> BuildAsync(Stream contextTar, BuildOptions buildOptions, IProgress<JsonMessage> progress, CancellationToken ct)
    {
        lock (_cacheUse)
        {
            _activeBuilds++;
        }
        try
        {
            return await BuildCoreAsync(contextTar, buildOptions, progress, ct).ConfigureAwait(false);
        }
        finally
        {
            lock (_cacheUse)
            {
                _activeBuilds--;
            }
        }
    }

    private async Task<string> BuildCoreAsync(Stream contextTar, BuildOptions buildOptions, IProgress<JsonMessage> progress, CancellationToken ct)
    {
        var work = Path.Combine(_options.TmpRoot, "build-" + RandomHex(8));
        Directory.CreateDirectory(work);
        try
        {
            var contextDir = Path.Combine(work, "context");
            await SafeTarExtractor.ExtractAsync(contextTar, contextDir, preserveOwner: false, ct).ConfigureAwait(false);
            var run = new BuildRun(this, buildOptions, new BuildProgress(progress, buildOptions.Quiet), contextDir, work);
            return await run.ExecuteAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                // Belt and braces: a recursive delete must never descend into a still-mounted rootfs.
                foreach (var dir in Directory.EnumerateDirectories(work))
                {
                    MountHelper.Unmount(dir);
                }
                Directory.Delete(work, recursive: true);
            }
            catch (IOException e)
            {
                logger.LogWarning(e, "cannot remove build directory {Dir}", work);
            }
        }
    }

    /// <summary>Normalises a -t value to the store's reference form ("docker.io/library/name:tag"). Throws InvalidArgument for a malformed name.</summary>
    private static string NormaliseReference(string tag) => Reference.Parse(tag).WithDefaultTag().ToString();

    /// <summary>The reference as Docker prints it after "Successfully tagged" (familiar name with tag).</summary>
    private static string FamiliarReference(string tag) =>
        Reference.TryParse(tag, out var r, out _) ? r.WithDefaultTag().FamiliarString() : tag;

    private static string RandomHex(int bytes) => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));

    private static string Now() => DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);

    /// <summary>The image a stage has reached: config, manifest layers, snapshot and (once committed) the image ID.</summary>
    private sealed record ImageState(ImageConfig Config, IReadOnlyList<Descriptor> Layers, string? TopChainId, Digest? ImageId, long Size)
    {
        public ContainerConfig Container => Config.Config ?? new ContainerConfig();
    }

    /// <summary>A layer produced by a step: its blob descriptor, diffID, chainID and uncompressed size.</summary>
    private sealed record NewLayer(Descriptor Blob, Digest DiffId, string ChainId, long Size);

    /// <summary>Per-stage mutable build state (moby dispatchState), its progress output and its next step number.</summary>
    private sealed class StageState(StageDef def, ImageState image, StageOutput output, int firstStep)
    {
        public StageDef Def { get; } = def;
        public ImageState Image { get; set; } = image;
        public StageOutput Out { get; } = output;
        public int NextStep { get; set; } = firstStep;
        public bool CmdSet { get; set; }
        public Dictionary<string, string?> Args { get; } = new(StringComparer.Ordinal);
    }

    private sealed partial class BuildRun(Builder b, BuildOptions opts, BuildProgress progress, string contextDir, string workDir)
    {
        private readonly HashSet<string> _consumedArgs = new(StringComparer.Ordinal);
        private readonly Lock _argsLock = new();
        private Dictionary<int, Task<StageState>> _stageTasks = [];
        private string _fileName = "Mockerfile";
        private List<StageDef> _stages = [];
        private int _total;

        public async Task<string> ExecuteAsync(CancellationToken ct)
        {
            // Tags are validated before any step runs, so a bad -t never costs a build.
            var references = opts.Tags.Select(NormaliseReference).ToList();
            var text = ReadMockerfile();
            var parsed = DockerfileParser.Parse(text, _fileName);
            foreach (var w in parsed.Warnings)
            {
                progress.Stream("[Warning] " + w + "\n");
            }
            var lex = new ShellLex(parsed.EscapeToken);
            var plan = BuildPlan.Create(parsed, _fileName, opts.Target, opts.BuildArgs);
            var target = plan.Stages[plan.TargetIndex];
            if (opts.Labels.Count > 0)
            {
                // moby buildLabelOptions: --label becomes a LABEL instruction appended to the target stage.
                var text2 = "LABEL " + string.Join(' ', opts.Labels.OrderBy(l => l.Key, StringComparer.Ordinal)
                    .Select(l => JsonSerializer.Serialize(l.Key, ApiJsonContext.Default.String) + "=" + JsonSerializer.Serialize(l.Value, ApiJsonContext.Default.String)));
                var node = new Node { Keyword = "label", Original = text2, Args = [.. opts.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).SelectMany(l => new[] { l.Key, l.Value })] };
                target = target with { Instructions = [.. target.Instructions, new LabelInstruction(node, [.. opts.Labels.OrderBy(l => l.Key, StringComparer.Ordinal)])] };
            }
            var stages = plan.Stages.Select(s => s.Index == plan.TargetIndex ? target : s).ToList();
            _stages = stages;
            _total = plan.GlobalArgs.Count + plan.NeededStages.Sum(i => 1 + stages[i].Instructions.Count);

            var globalArgs = new Dictionary<string, string?>(StringComparer.Ordinal);
            var step = 0;
            foreach (var ga in plan.GlobalArgs)
            {
                progress.Stream($"Step {++step}/{_total} : {OneLine(ga)}\n");
                ArgInstruction expanded;
                try
                {
                    expanded = (ArgInstruction)ga.Expand(lex, k => globalArgs.GetValueOrDefault(k));
                }
                catch (FormatException e)
                {
                    throw At(ga, e.Message);
                }
                foreach (var (k, v) in expanded.Args)
                {
                    globalArgs[k] = ArgValue(k, v);
                }
            }

            var last = await BuildStagesAsync(plan, stages, globalArgs, lex, step, ct).ConfigureAwait(false);
            var final = last.Image;
            if (final.ImageId is null)
            {
                // FROM scratch with nothing else: commit the empty image so there is something to tag.
                final = await CommitAsync(last, last.Image.Container, "", null, ct).ConfigureAwait(false);
            }
            var unused = opts.BuildArgs.Keys.Where(k => !_consumedArgs.Contains(k) && !ProxyArgs.Contains(k)).Order(StringComparer.Ordinal).ToList();
            if (unused.Count > 0)
            {
                progress.Stream($"[Warning] One or more build-args [{string.Join(' ', unused)}] were not consumed\n");
            }
            var id = final.ImageId!.Value;
            foreach (var reference in references)
            {
                await b._images.TagAsync(id, reference, ct).ConfigureAwait(false);
            }
            progress.Aux(id.ToString());
            progress.Stream($"Successfully built {id.Short}\n");
            foreach (var tag in opts.Tags)
            {
                progress.Stream($"Successfully tagged {FamiliarReference(tag)}\n");
            }
            progress.Final(id.ToString());
            return id.ToString();
        }

        private string ReadMockerfile()
        {
            string rel;
            if (!string.IsNullOrEmpty(opts.Dockerfile))
            {
                rel = SafeTarExtractor.CleanRelative(opts.Dockerfile) ?? throw new BuildException($"Cannot locate specified Dockerfile: {opts.Dockerfile}");
            }
            else
            {
                rel = File.Exists(Path.Combine(contextDir, "Mockerfile")) ? "Mockerfile" : "Dockerfile";
            }
            var path = FileCopier.ResolveInScope(contextDir, rel);
            if (!File.Exists(path))
            {
                throw new BuildException($"Cannot locate specified Dockerfile: {opts.Dockerfile ?? rel}");
            }
            _fileName = Path.GetFileName(rel);
            return File.ReadAllText(path);
        }

        /// <summary>
        /// Builds the needed stages, each as soon as the stages it depends on (FROM, COPY --from, RUN --mount from=) are
        /// done, so independent stages run in parallel; step numbers are fixed up front in file order. The first failure
        /// cancels the other stages and is rethrown. Returns the target stage.
        /// </summary>
        private async Task<StageState> BuildStagesAsync(BuildPlan plan, List<StageDef> stages, Dictionary<string, string?> globalArgs, ShellLex lex, int firstStep, CancellationToken ct)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var sources = plan.NeededStages.ToDictionary(i => i, _ => new TaskCompletionSource<StageState>(TaskCreationOptions.RunContinuationsAsynchronously));
            _stageTasks = sources.ToDictionary(kv => kv.Key, kv => kv.Value.Task);
            var runs = new List<Task>();
            var step = firstStep;
            foreach (var index in plan.NeededStages)
            {
                var first = step + 1;
                step += 1 + stages[index].Instructions.Count;
                var tcs = sources[index];
                runs.Add(Task.Run(async () =>
                {
                    var output = new StageOutput(progress);
                    try
                    {
                        tcs.SetResult(await BuildStageAsync(stages, stages[index], globalArgs, lex, output, first, cts.Token).ConfigureAwait(false));
                    }
                    catch (Exception e)
                    {
                        tcs.TrySetException(e);
                        await cts.CancelAsync().ConfigureAwait(false);
                    }
                    finally
                    {
                        output.Flush();
                    }
                }, CancellationToken.None));
            }
            await Task.WhenAll(runs).ConfigureAwait(false);
            // The root cause is the failure that is not a cancellation caused by another stage's failure.
            var failed = plan.NeededStages.Select(i => _stageTasks[i]).Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).ToList();
            if (failed.Count > 0)
            {
                var cause = failed.FirstOrDefault(e => e is not OperationCanceledException) ?? failed[0];
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(cause);
            }
            return await _stageTasks[plan.TargetIndex].ConfigureAwait(false);
        }

        /// <summary>The finished state of stage <paramref name="index"/> (waiting for it), or null when it is not being built.</summary>
        private async Task<StageState?> StageResultAsync(int index) =>
            _stageTasks.TryGetValue(index, out var t) ? await t.ConfigureAwait(false) : null;

        private string? ArgValue(string name, string? declaredDefault)
        {
            if (opts.BuildArgs.TryGetValue(name, out var given))
            {
                lock (_argsLock)
                {
                    _consumedArgs.Add(name);
                }
                return given ?? Environment.GetEnvironmentVariable(name) ?? declaredDefault;
            }
            return declaredDefault;
        }

        private static string OneLine(Instruction ins) => ins.Node.Original.Replace("\n", " ", StringComparison.Ordinal);

        private void StepHeader(StageState s, Instruction ins) =>
            s.Out.Stream($"Step {s.NextStep++}/{_total} : {OneLine(ins)}\n");

        private BuildException At(Instruction ins, string message) => new($"{_fileName}:{ins.Node.StartLine}: {message}");

        private async Task<StageState> BuildStageAsync(List<StageDef> stages, StageDef def, Dictionary<string, string?> globalArgs, ShellLex lex, StageOutput output, int firstStep, CancellationToken ct)
        {
            output.Stream($"Step {firstStep}/{_total} : {OneLine(def.From)}\n");
            FromInstruction from;
            try
            {
                from = (FromInstruction)def.From.Expand(lex, k => globalArgs.GetValueOrDefault(k));
            }
            catch (FormatException e)
            {
                throw At(def.From, e.Message);
            }
            StageState state;
            if (BuildPlan.FindStage(stages, from.BaseName, def.Index) is { } baseIndex && await StageResultAsync(baseIndex).ConfigureAwait(false) is { } baseStage)
            {
                state = new StageState(def, baseStage.Image, output, firstStep + 1);
            }
            else if (from.BaseName.Equals("scratch", StringComparison.OrdinalIgnoreCase))
            {
                var cfg = new ImageConfig { Config = new ContainerConfig { Env = [DefaultPathEnv] }, History = [] };
                state = new StageState(def, new ImageState(cfg, [], null, null, 0), output, firstStep + 1);
            }
            else
            {
                var record = await b._images.FindAsync(from.BaseName, ct).ConfigureAwait(false)
                    ?? throw At(def.From, $"failed to resolve image \"{from.BaseName}\": No such image: {FamiliarReference(from.BaseName)} (no registry access; use mocker image bootstrap, load or import)");
                state = new StageState(def, await LoadAsync(record, ct).ConfigureAwait(false), output, firstStep + 1);
            }
            if (state.Image.ImageId is { } baseId)
            {
                output.Stream($" ---> {baseId.Short}\n");
            }
            await RunTriggersAsync(state, globalArgs, lex, ct).ConfigureAwait(false);
            // Global ARGs are visible in a stage only after "ARG NAME" re-declares them.
            foreach (var ins in def.Instructions)
            {
                StepHeader(state, ins);
                try
                {
                    await DispatchAsync(state, ins, globalArgs, lex, ct).ConfigureAwait(false);
                }
                catch (FormatException e)
                {
                    throw At(ins, e.Message);
                }
            }
            return state;
        }

        /// <summary>
        /// Runs the base image's ONBUILD triggers right after FROM, as Docker's legacy builder does ("# Executing N build
        /// triggers"); the triggers do not carry over into the new image.
        /// </summary>
        private async Task RunTriggersAsync(StageState state, Dictionary<string, string?> globalArgs, ShellLex lex, CancellationToken ct)
        {
            var triggers = state.Image.Container.OnBuild;
            if (triggers is not { Count: > 0 })
            {
                return;
            }
            state.Out.Stream($"# Executing {triggers.Count} build trigger{(triggers.Count == 1 ? "" : "s")}\n");
            state.Image = state.Image with { Config = state.Image.Config with { Config = state.Image.Container with { OnBuild = null } } };
            var line = state.Def.From.Node.StartLine;
            foreach (var trigger in triggers)
            {
                var node = DockerfileParser.ParseLine(trigger, lex.EscapeToken, _fileName, line, line, trigger);
                var ins = InstructionParser.Parse(node, _fileName);
                try
                {
                    await DispatchAsync(state, ins, globalArgs, lex, ct).ConfigureAwait(false);
                }
                catch (FormatException e)
                {
                    throw At(ins, $"ONBUILD trigger \"{trigger}\": {e.Message}");
                }
            }
        }

        private Func<string, string?> Env(StageState s)
        {
            var env = ShellLex.Lookup(s.Image.Container.Env ?? []);
            return k => env(k) ?? s.Args.GetValueOrDefault(k);
        }

        private async Task DispatchAsync(StageState s, Instruction raw, Dictionary<string, string?> globalArgs, ShellLex lex, CancellationToken ct)
        {
            var ins = raw.Expand(lex, Env(s));
            switch (ins)
            {
                case ArgInstruction arg:
                    foreach (var (k, v) in arg.Args)
                    {
                        var value = ArgValue(k, v ?? globalArgs.GetValueOrDefault(k));
                        s.Args[k] = value;
                        lock (_argsLock)
                        {
                            _consumedArgs.Add(k);
                        }
                    }
                    await MetadataStepAsync(s, ins, s.Image.Container, "ARG " + string.Join(' ', arg.Args.Select(a => a.Value is null ? a.Key : a.Key + "=" + a.Value)), ct).ConfigureAwait(false);
                    break;
                case MaintainerInstruction m:
                    await MetadataStepAsync(s, ins, s.Image.Container, "MAINTAINER " + m.Maintainer, ct, author: m.Maintainer).ConfigureAwait(false);
                    break;
                case RunInstruction run:
                    await RunStepAsync(s, run, ct).ConfigureAwait(false);
                    break;
                case CopyInstruction copy:
                    await CopyStepAsync(s, copy, ct).ConfigureAwait(false);
                    break;
                case WorkdirInstruction w:
                    await WorkdirStepAsync(s, w, ct).ConfigureAwait(false);
                    break;
                default:
                    var cfg = ConfigApplier.Apply(s.Image.Container, ins) ?? throw At(ins, $"unsupported instruction {ins.Name}");
                    if (ins is CmdInstruction)
                    {
                        s.CmdSet = true;
                    }
                    if (ins is EntrypointInstruction && !s.CmdSet)
                    {
                        cfg = cfg with { Cmd = null };
                    }
                    await MetadataStepAsync(s, ins, cfg, Describe(ins, cfg), ct).ConfigureAwait(false);
                    break;
            }
        }

        private static string Describe(Instruction ins, ContainerConfig cfg) => ins switch
        {
            EnvInstruction e => "ENV " + string.Join(' ', e.Pairs.Select(p => p.Key + "=" + p.Value)),
            LabelInstruction l => "LABEL " + string.Join(' ', l.Pairs.Select(p => p.Key + "=" + p.Value)),
            CmdInstruction => "CMD " + JsonSerializer.Serialize(cfg.Cmd ?? [], ApiJsonContext.Default.ListString),
            EntrypointInstruction => "ENTRYPOINT " + JsonSerializer.Serialize(cfg.Entrypoint ?? [], ApiJsonContext.Default.ListString),
            ShellInstruction sh => "SHELL " + JsonSerializer.Serialize(sh.Shell.ToList(), ApiJsonContext.Default.ListString),
            ExposeInstruction x => "EXPOSE " + string.Join(' ', x.Ports),
            VolumeInstruction v => "VOLUME " + JsonSerializer.Serialize(v.Paths.ToList(), ApiJsonContext.Default.ListString),
            UserInstruction u => "USER " + u.User,
            StopsignalInstruction st => "STOPSIGNAL " + st.Signal,
            OnbuildInstruction o => "ONBUILD " + o.Expression,
            HealthcheckInstruction h => "HEALTHCHECK " + JsonSerializer.Serialize(h.Health.Test ?? [], ApiJsonContext.Default.ListString),
            _ => ins.Node.Original,
        };

        /// <summary>Keys of the build args a step can see (Docker: ARGs in scope with a value; proxies excluded).</summary>
        private static List<string> ArgsInUse(StageState s) =>
            [.. s.Args.Where(a => a.Value is not null && !ProxyArgs.Contains(a.Key)).OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => a.Key + "=" + a.Value)];

        private async Task MetadataStepAsync(StageState s, Instruction ins, ContainerConfig cfg, string description, CancellationToken ct, string? author = null)
        {
            var createdBy = "/bin/sh -c #(nop)  " + description;
            var key = BuildCache.ComputeKey(s.Image.ImageId?.ToString(), ["meta", createdBy, Serialize(cfg), author ?? ""]);
            if (await TryCacheAsync(s, key, ct).ConfigureAwait(false))
            {
                return;
            }
            var cid = ContainerLine(s);
            s.Out.Stream($"Removing intermediate container {cid}\n");
            s.Image = await CommitAsync(s, cfg, createdBy, null, ct, author).ConfigureAwait(false);
            await StoreCacheAsync(s, key, ct).ConfigureAwait(false);
        }

        private static string ContainerLine(StageState s)
        {
            var cid = RandomHex(6);
            s.Out.Stream($" ---> Running in {cid}\n");
            return cid;
        }

        private async Task<bool> TryCacheAsync(StageState s, string key, CancellationToken ct)
        {
            if (opts.NoCache || await b._cache.LookupAsync(key, ct).ConfigureAwait(false) is not { } id)
            {
                return false;
            }
            var record = await b._images.FindAsync(id, ct).ConfigureAwait(false);
            if (record is null || (record.TopChainId is not null && await b._snapshotter.StatAsync(record.TopChainId, ct).ConfigureAwait(false) is null))
            {
                return false;
            }
            s.Image = await LoadAsync(record, ct).ConfigureAwait(false);
            s.Out.Stream(" ---> Using cache\n");
            s.Out.Stream($" ---> {record.Id.Short}\n");
            return true;
        }

        private async Task StoreCacheAsync(StageState s, string key, CancellationToken ct)
        {
            await b._cache.StoreAsync(key, s.Image.ImageId!.Value.ToString(), ct).ConfigureAwait(false);
            s.Out.Stream($" ---> {s.Image.ImageId!.Value.Short}\n");
        }

        private async Task WorkdirStepAsync(StageState s, WorkdirInstruction w, CancellationToken ct)
        {
            var cfg = ConfigApplier.Apply(s.Image.Container, w)!;
            var createdBy = "/bin/sh -c #(nop) WORKDIR " + cfg.WorkingDir;
            var key = BuildCache.ComputeKey(s.Image.ImageId?.ToString(), ["workdir", createdBy, Serialize(cfg)]);
            if (await TryCacheAsync(s, key, ct).ConfigureAwait(false))
            {
                return;
            }
            var cid = ContainerLine(s);
            // Docker's legacy builder creates the directory owned by root; no layer when it already exists.
            var layer = await MutateAsync(s.Image.TopChainId, rootfs =>
            {
                FileCopier.MakeDirs(rootfs, cfg.WorkingDir!, new FileCopier.Attributes(0, 0, null));
                return Task.CompletedTask;
            }, ct).ConfigureAwait(false);
            s.Out.Stream($"Removing intermediate container {cid}\n");
            s.Image = await CommitAsync(s, cfg, createdBy, layer, ct).ConfigureAwait(false);
            await StoreCacheAsync(s, key, ct).ConfigureAwait(false);
        }

        /// <summary>A read-only view of an earlier stage's or an image's filesystem (COPY --from, RUN --mount from=).</summary>
        private sealed class SourceView(string root, string identity, Func<Task> release) : IAsyncDisposable
        {
            public string Root => root;
            public string Identity => identity;
            public async ValueTask DisposeAsync() => await release().ConfigureAwait(false);
        }

        /// <summary>Mounts the filesystem that <paramref name="from"/> (stage name, index or image) names under the work dir.</summary>
        private async Task<SourceView> OpenFromAsync(StageState s, Instruction ins, string from, string verb, CancellationToken ct)
        {
            ImageState image;
            var stageIndex = BuildPlan.FindStage(_stages, from, s.Def.Index);
            if (stageIndex is { } si && await StageResultAsync(si).ConfigureAwait(false) is { } st)
            {
                image = st.Image;
            }
            else
            {
                var rec = await b._images.FindAsync(from, ct).ConfigureAwait(false)
                    ?? throw At(ins, $"{verb} --from: failed to resolve image \"{from}\": No such image: {FamiliarReference(from)} (no registry access; use mocker image bootstrap, load or import)");
                image = await LoadAsync(rec, ct).ConfigureAwait(false);
            }
            var viewMount = Path.Combine(workDir, "from-" + RandomHex(6));
            Directory.CreateDirectory(viewMount);
            string? viewKey = null;
            async Task Release()
            {
                MountHelper.Unmount(viewMount);
                if (viewKey is not null)
                {
                    await b._snapshotter.RemoveAsync(viewKey, CancellationToken.None).ConfigureAwait(false);
                }
            }
            try
            {
                if (image.TopChainId is not null)
                {
                    viewKey = "build-view-" + RandomHex(16);
                    var vm = await b._snapshotter.ViewAsync(viewKey, image.TopChainId, ct).ConfigureAwait(false);
                    MountHelper.MountAll(vm, viewMount);
                }
            }
            catch
            {
                await Release().ConfigureAwait(false);
                throw;
            }
            return new SourceView(viewMount, image.ImageId?.ToString() ?? "scratch", Release);
        }

        /// <summary>
        /// Prepares an active snapshot on <paramref name="parent"/>, mounts it, lets <paramref name="mutate"/> change
        /// the rootfs, unmounts, and commits the changes as a layer (null when nothing changed).
        /// </summary>
        private async Task<NewLayer?> MutateAsync(string? parent, Func<string, Task> mutate, CancellationToken ct)
        {
            var active = "build-" + RandomHex(16);
            var rootfs = Path.Combine(workDir, "rootfs-" + RandomHex(6));
            var mounts = await b._snapshotter.PrepareAsync(active, parent, ct).ConfigureAwait(false);
            try
            {
                MountHelper.MountAll(mounts, rootfs);
                try
                {
                    await mutate(rootfs).ConfigureAwait(false);
                }
                finally
                {
                    MountHelper.Unmount(rootfs);
                }
                return await CommitLayerAsync(active, parent, ct).ConfigureAwait(false);
            }
            catch
            {
                await b._snapshotter.RemoveAsync(active, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>
        /// Diffs the active snapshot's upper directory into a gzip blob (diffID from the uncompressed stream, blob digest
        /// from the compressed one, one pass through a pipe) and commits the snapshot under its chainID, or drops it when
        /// that chainID exists. Returns null (snapshot removed) when nothing changed.
        /// </summary>
        private async Task<NewLayer?> CommitLayerAsync(string active, string? parent, CancellationToken ct)
        {
            var upper = await b._snapshotter.GetChangesDirAsync(active, ct).ConfigureAwait(false);
            if (!Directory.EnumerateFileSystemEntries(upper).Any())
            {
                await b._snapshotter.RemoveAsync(active, ct).ConfigureAwait(false);
                return null;
            }
            var (blob, digest) = await LayerBlobs.DiffToBlobAsync(b._differ, b._content, upper, ct).ConfigureAwait(false);
            var chain = ILayerUnpacker.ChainId(parent, digest.DiffId);
            if (await b._snapshotter.StatAsync(chain, ct).ConfigureAwait(false) is not null)
            {
                await b._snapshotter.RemoveAsync(active, ct).ConfigureAwait(false);
            }
            else
            {
                try
                {
                    await b._snapshotter.CommitAsync(chain, active, ct).ConfigureAwait(false);
                }
                catch (MockerException e) when (e.Kind == ErrorKind.Conflict)
                {
                    // A stage building in parallel committed the identical layer first (same COPY in two stages).
                    await b._snapshotter.RemoveAsync(active, CancellationToken.None).ConfigureAwait(false);
                }
            }
            return new NewLayer(blob, digest.DiffId, chain, digest.UncompressedSize);
        }

        /// <summary>Writes the step's config and manifest blobs and records an untagged intermediate image.</summary>
        private async Task<ImageState> CommitAsync(StageState s, ContainerConfig cfg, string createdBy, NewLayer? layer, CancellationToken ct, string? author = null)
        {
            var parent = s.Image;
            var now = Now();
            var history = new List<HistoryEntry>(parent.Config.History ?? []);
            if (createdBy.Length > 0)
            {
                history.Add(new HistoryEntry { Created = now, CreatedBy = createdBy, EmptyLayer = layer is null });
            }
            var diffIds = new List<Digest>(parent.Config.RootFs.DiffIds);
            var layers = new List<Descriptor>(parent.Layers);
            if (layer is not null)
            {
                diffIds.Add(layer.DiffId);
                layers.Add(layer.Blob);
            }
            var config = parent.Config with
            {
                Created = now,
                Author = author ?? parent.Config.Author,
                Config = cfg,
                RootFs = new ImageRootFs { DiffIds = diffIds },
                History = history,
            };
            var (configDesc, manifestDesc) = await ImageBlobs.WriteAsync(b._content, config, layers, ct).ConfigureAwait(false);
            var record = new ImageRecord
            {
                Id = configDesc.Digest,
                ManifestDigest = manifestDesc.Digest,
                Config = config,
                TopChainId = layer?.ChainId ?? parent.TopChainId,
                Size = parent.Size + (layer?.Size ?? 0),
                CreatedAt = DateTimeOffset.UtcNow,
                Parent = parent.ImageId,
            };
            await b._images.PutAsync(record, [], ct).ConfigureAwait(false);
            return new ImageState(config, layers, record.TopChainId, record.Id, record.Size);
        }

        private async Task<ImageState> LoadAsync(ImageRecord record, CancellationToken ct)
        {
            ImageManifest manifest;
            await using (var ms = b._content.OpenRead(record.ManifestDigest))
            {
                manifest = await JsonSerializer.DeserializeAsync(ms, OciJsonContext.Default.ImageManifest, ct).ConfigureAwait(false)
                    ?? throw new MockerException(ErrorKind.Internal, $"manifest {record.ManifestDigest} of image {record.Id} is empty");
            }
            return new ImageState(record.Config, manifest.Layers, record.TopChainId, record.Id, record.Size);
        }

        private static string Serialize(ContainerConfig cfg) => JsonSerializer.Serialize(cfg, ApiJsonContext.Default.ContainerConfig);
    }
}

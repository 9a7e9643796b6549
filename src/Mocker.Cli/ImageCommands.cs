using System.CommandLine;
using System.Globalization;
using Mocker.Api;
using Mocker.Client;

namespace Mocker.Cli;

/// <summary>Image verbs: images, rmi, tag, import, bootstrap, build, history, prune.</summary>
internal static class ImageCommands
{
    private static readonly Dictionary<string, string> ImageHeaders = new()
    {
        ["ID"] = "IMAGE ID",
        ["Repository"] = "REPOSITORY",
        ["Tag"] = "TAG",
        ["Digest"] = "DIGEST",
        ["CreatedSince"] = "CREATED",
        ["CreatedAt"] = "CREATED AT",
        ["Size"] = "SIZE",
        ["Containers"] = "CONTAINERS",
        ["SharedSize"] = "SHARED SIZE",
        ["UniqueSize"] = "UNIQUE SIZE",
        ["VirtualSize"] = "SIZE",
    };

    public static Command Images(string name = "images", params string[] aliases)
    {
        var all = new Option<bool>("--all", "-a") { Description = "Show all images (default hides intermediate images)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only show image IDs" };
        var filter = new Option<string[]>("--filter", "-f") { Description = "Filter output based on conditions provided" };
        var format = new Option<string?>("--format") { Description = "Format output using a custom template: 'table', 'json' or a Go template" };
        var noTrunc = new Option<bool>("--no-trunc") { Description = "Don't truncate output" };
        var digests = new Option<bool>("--digests") { Description = "Show digests" };
        var repo = new Argument<string?>("REPOSITORY") { Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command(name, "List images") { all, quiet, filter, format, noTrunc, digests, repo };
        foreach (var a in aliases) cmd.Aliases.Add(a);
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var filters = Cli.Filters(pr.GetValue(filter)) ?? [];
            if (pr.GetValue(repo) is { Length: > 0 } r) filters["reference"] = [r];
            var list = await c.Images.ListAsync(pr.GetValue(all), filters, ct).ConfigureAwait(false);
            var trunc = !pr.GetValue(noTrunc);
            if (pr.GetValue(quiet))
            {
                Cli.Out(string.Concat(list.Select(i => (trunc ? Units.ShortId(i.Id) : i.Id) + "\n").Distinct()));
                return 0;
            }
            var rows = new List<SortedDictionary<string, string>>();
            foreach (var image in list)
            {
                var tags = (image.RepoTags ?? []).Where(t => t != "<none>:<none>").ToList();
                if (tags.Count == 0) rows.Add(ImageRow(image, "<none>", "<none>", trunc));
                foreach (var t in tags)
                {
                    var (repository, tag) = SplitTag(t);
                    rows.Add(ImageRow(image, repository, tag, trunc));
                }
            }
            var table = pr.GetValue(digests)
                ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
            Output.Render(pr.GetValue(format), table, rows, ImageHeaders);
            return 0;
        }));
        return cmd;
    }

    private static SortedDictionary<string, string> ImageRow(ImageSummary i, string repository, string tag, bool trunc)
    {
        var digest = (i.RepoDigests ?? []).Select(d => d.Split('@')).FirstOrDefault(d => d.Length == 2 && d[0] == repository)?[1] ?? "<none>";
        return new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["ID"] = trunc ? Units.ShortId(i.Id) : i.Id,
            ["Repository"] = repository,
            ["Tag"] = tag,
            ["Digest"] = digest,
            ["CreatedSince"] = Units.Ago(i.Created),
            ["CreatedAt"] = DateTimeOffset.FromUnixTimeSeconds(i.Created).ToString("yyyy-MM-dd HH:mm:ss +0000 'UTC'", CultureInfo.InvariantCulture),
            ["Size"] = Units.HumanSize(i.Size),
            ["VirtualSize"] = Units.HumanSize(i.VirtualSize != 0 ? i.VirtualSize : i.Size),
            ["SharedSize"] = i.SharedSize < 0 ? "N/A" : Units.HumanSize(i.SharedSize),
            ["UniqueSize"] = i.SharedSize < 0 ? "N/A" : Units.HumanSize(i.Size - i.SharedSize),
            ["Containers"] = i.Containers < 0 ? "N/A" : i.Containers.ToString(CultureInfo.InvariantCulture),
        };
    }

    /// <summary>Splits "repo:tag" at the last colon after the last slash ("localhost:5000/a" has no tag → "latest" is not implied).</summary>
    public static (string Repository, string Tag) SplitTag(string reference)
    {
        var slash = reference.LastIndexOf('/');
        var colon = reference.LastIndexOf(':');
        return colon > slash ? (reference[..colon], reference[(colon + 1)..]) : (reference, "<none>");
    }

    /// <summary>
    /// The docker CLI's reference normalisation for <c>tag</c> (engine-api-trace.md §1.9): "bb" → "docker.io/library/bb",
    /// "me/bb" → "docker.io/me/bb"; a first component with '.', ':' or "localhost" is a registry and kept.
    /// </summary>
    public static string NormalizeRepository(string repository)
    {
        var slash = repository.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0) return "docker.io/library/" + repository;
        var first = repository[..slash];
        if (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost") return repository;
        return "docker.io/" + repository;
    }

    public static Command Remove(string name = "rmi", params string[] aliases)
    {
        var force = new Option<bool>("--force", "-f") { Description = "Force removal of the image" };
        var noPrune = new Option<bool>("--no-prune") { Description = "Do not delete untagged parents" };
        var images = new Argument<string[]>("IMAGE") { Arity = ArgumentArity.OneOrMore };
        var cmd = new Command(name, "Remove one or more images") { force, noPrune, images };
        foreach (var a in aliases) cmd.Aliases.Add(a);
        cmd.SetAction((pr, ct) => Cli.Run(pr, c => Cli.ForEach(pr.GetValue(images)!, async t =>
        {
            var deleted = await c.Images.RemoveAsync(t, pr.GetValue(force), pr.GetValue(noPrune), ct).ConfigureAwait(false);
            Cli.Out(string.Concat(deleted.Select(d => d.Untagged is not null ? $"Untagged: {d.Untagged}\n" : $"Deleted: {d.Deleted}\n")));
        })));
        return cmd;
    }

    public static Command Tag(string name = "tag")
    {
        var source = new Argument<string>("SOURCE_IMAGE");
        var target = new Argument<string>("TARGET_IMAGE");
        var cmd = new Command(name, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE") { source, target };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var (repository, tag) = SplitTag(pr.GetValue(target)!);
            if (repository.Length == 0 || repository.Any(char.IsUpper))
                throw new UsageException($"invalid reference format: repository name ({repository}) must be lowercase");
            await c.Images.TagAsync(pr.GetValue(source)!, NormalizeRepository(repository), tag == "<none>" ? "latest" : tag, ct).ConfigureAwait(false);
            return 0;
        }));
        return cmd;
    }

    public static Command History(string name = "history")
    {
        var noTrunc = new Option<bool>("--no-trunc") { Description = "Don't truncate output" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only show image IDs" };
        var human = new Option<bool>("--human", "-H") { Description = "Print sizes and dates in human readable format", DefaultValueFactory = _ => true };
        var format = new Option<string?>("--format") { Description = "Format output using a custom template" };
        var image = new Argument<string>("IMAGE");
        var cmd = new Command(name, "Show the history of an image") { noTrunc, quiet, human, format, image };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var items = await c.Images.HistoryAsync(pr.GetValue(image)!, ct).ConfigureAwait(false);
            var trunc = !pr.GetValue(noTrunc);
            if (pr.GetValue(quiet))
            {
                Cli.Out(string.Concat(items.Select(h => (trunc && h.Id != "<missing>" ? Units.ShortId(h.Id) : h.Id) + "\n")));
                return 0;
            }
            var isHuman = pr.GetValue(human);
            var rows = items.Select(h =>
            {
                var createdBy = h.CreatedBy.Replace('\t', ' ');
                var created = DateTimeOffset.FromUnixTimeSeconds(h.Created);
                return new SortedDictionary<string, string>(StringComparer.Ordinal)
                {
                    ["ID"] = trunc && h.Id != "<missing>" ? Units.ShortId(h.Id) : h.Id,
                    ["CreatedSince"] = isHuman ? Units.Ago(h.Created) : created.ToString("yyyy-MM-dd'T'HH:mm:ssK", CultureInfo.InvariantCulture),
                    ["CreatedAt"] = created.ToString("yyyy-MM-dd'T'HH:mm:ssK", CultureInfo.InvariantCulture),
                    ["CreatedBy"] = trunc ? Units.Ellipsis(createdBy, 45) : createdBy,
                    ["Size"] = isHuman ? Units.HumanSize(h.Size) : h.Size.ToString(CultureInfo.InvariantCulture),
                    ["Comment"] = h.Comment,
                };
            }).ToList();
            Output.Render(pr.GetValue(format), "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", rows, new Dictionary<string, string>
            {
                ["ID"] = "IMAGE",
                ["CreatedSince"] = "CREATED",
                ["CreatedAt"] = "CREATED AT",
                ["CreatedBy"] = "CREATED BY",
                ["Size"] = "SIZE",
                ["Comment"] = "COMMENT",
            });
            return 0;
        }));
        return cmd;
    }

    public static Command Import(string name = "import")
    {
        var change = new Option<string[]>("--change", "-c") { Description = "Apply Dockerfile instruction to the created image" };
        var message = new Option<string?>("--message", "-m") { Description = "Set commit message for imported image" };
        var file = new Argument<string>("file|-");
        var reference = new Argument<string?>("REPOSITORY[:TAG]") { Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command(name, "Import the contents from a tarball to create a filesystem image") { change, message, file, reference };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var source = pr.GetValue(file)!;
            if (source.StartsWith("http://", StringComparison.Ordinal) || source.StartsWith("https://", StringComparison.Ordinal))
                throw new UsageException("importing from a URL is not supported");
            Stream input = source == "-" ? Cli.OpenStdin() : File.OpenRead(source);
            await using (input.ConfigureAwait(false))
            {
                var messages = c.Images.ImportAsync(input, pr.GetValue(reference), pr.GetValue(change), pr.GetValue(message), ct);
                return await new ProgressRenderer(Terminal.IsTerminal(1)).RenderAllAsync(messages).ConfigureAwait(false);
            }
        }));
        return cmd;
    }

    public static Command Bootstrap()
    {
        var image = new Argument<string>("NAME[:TAG]");
        var cmd = new Command("bootstrap", "Create a base image from the host's binaries (e.g. busybox)") { image };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var (repository, tag) = SplitTag(pr.GetValue(image)!);
            var messages = c.Images.BootstrapAsync(repository, tag == "<none>" ? null : tag, ct);
            return await new ProgressRenderer(Terminal.IsTerminal(1)).RenderAllAsync(messages).ConfigureAwait(false);
        }));
        return cmd;
    }

    public static Command Build(string name = "build")
    {
        var tags = new Option<string[]>("--tag", "-t") { Description = "Name and optionally a tag in the \"name:tag\" format" };
        var file = new Option<string?>("--file", "-f") { Description = "Name of the Dockerfile (default: \"PATH/Dockerfile\")" };
        var buildArgs = new Option<string[]>("--build-arg") { Description = "Set build-time variables" };
        var noCache = new Option<bool>("--no-cache") { Description = "Do not use cache when building the image" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Suppress the build output and print image ID on success" };
        var labels = new Option<string[]>("--label") { Description = "Set metadata for an image" };
        var target = new Option<string?>("--target") { Description = "Set the target build stage to build" };
        var pull = new Option<bool>("--pull") { Description = "Always attempt to pull a newer version of the image" };
        var context = new Argument<string>("PATH");
        var cmd = new Command(name, "Build an image from a Dockerfile") { tags, file, buildArgs, noCache, quiet, labels, target, pull, context };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var args = new Dictionary<string, string>();
            foreach (var a in pr.GetValue(buildArgs) ?? [])
            {
                var eq = a.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0) args[a[..eq]] = a[(eq + 1)..];
                else if (Environment.GetEnvironmentVariable(a) is { } v) args[a] = v;
            }
            var contextDir = pr.GetValue(context)!;
            string? tempDir = null;
            var dockerfile = pr.GetValue(file);
            if (contextDir == "-")
            {
                // "build -": the Dockerfile comes on stdin and the context is empty (§1.10).
                tempDir = Directory.CreateTempSubdirectory("mocker-build-").FullName;
                await using (var fs = File.Create(Path.Combine(tempDir, "Dockerfile")))
                    await Cli.OpenStdin().CopyToAsync(fs, ct).ConfigureAwait(false);
                contextDir = tempDir;
                dockerfile = null;
            }
            else if (!Directory.Exists(contextDir))
            {
                throw new UsageException($"unable to prepare context: path \"{contextDir}\" not found");
            }
            else if (dockerfile is null)
            {
                // Mocker's own name wins when the context has no Dockerfile.
                if (!File.Exists(Path.Combine(contextDir, "Dockerfile")) && File.Exists(Path.Combine(contextDir, "Mockerfile")))
                    dockerfile = Path.Combine(contextDir, "Mockerfile");
            }
            else if (dockerfile != "-" && !Path.IsPathRooted(dockerfile) && !File.Exists(dockerfile) && File.Exists(Path.Combine(contextDir, dockerfile)))
            {
                dockerfile = Path.Combine(contextDir, dockerfile);
            }
            try
            {
                var options = new BuildOptions
                {
                    Tags = pr.GetValue(tags) ?? [],
                    Dockerfile = dockerfile,
                    BuildArgs = args,
                    Labels = RunOptions.ParseLabels(pr.GetValue(labels) ?? []),
                    NoCache = pr.GetValue(noCache),
                    Quiet = pr.GetValue(quiet),
                    Pull = pr.GetValue(pull),
                    Target = pr.GetValue(target),
                };
                var renderer = new ProgressRenderer(Terminal.IsTerminal(1));
                return await renderer.RenderAllAsync(c.Images.BuildAsync(contextDir, options, ct)).ConfigureAwait(false);
            }
            finally
            {
                if (tempDir is not null) Directory.Delete(tempDir, recursive: true);
            }
        }));
        return cmd;
    }

    public static Command Prune()
    {
        var all = new Option<bool>("--all", "-a") { Description = "Remove all unused images, not just dangling ones" };
        var force = new Option<bool>("--force", "-f") { Description = "Do not prompt for confirmation" };
        var filter = new Option<string[]>("--filter") { Description = "Provide filter values (e.g. \"until=<timestamp>\")" };
        var cmd = new Command("prune", "Remove unused images") { all, force, filter };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var isAll = pr.GetValue(all);
            var warning = isAll ? "WARNING! This will remove all images without at least one container associated to them."
                : "WARNING! This will remove all dangling images.";
            if (!pr.GetValue(force) && !Cli.Confirm(warning)) return 0;
            var (report, reclaimed) = await PruneImagesAsync(c, isAll, Cli.Filters(pr.GetValue(filter)), ct).ConfigureAwait(false);
            Cli.Out(report + "Total reclaimed space: " + Units.HumanSize(reclaimed) + "\n");
            return 0;
        }));
        return cmd;
    }

    /// <summary>Runs an image prune (<c>dangling=true</c> unless <paramref name="all"/>): docker's "Deleted Images:" report and the bytes freed.</summary>
    public static async Task<(string Report, long Reclaimed)> PruneImagesAsync(MockerClient c, bool all, Dictionary<string, IReadOnlyList<string>>? filters, CancellationToken ct)
    {
        filters ??= [];
        filters["dangling"] = [all ? "false" : "true"];
        var r = await c.Images.PruneAsync(filters, ct).ConfigureAwait(false);
        var text = "";
        if (r.ImagesDeleted is { Count: > 0 } deleted)
            text = "Deleted Images:\n" + string.Concat(deleted.Select(d => d.Untagged is not null ? $"untagged: {d.Untagged}\n" : $"deleted: {d.Deleted}\n")) + "\n";
        return (text, r.SpaceReclaimed);
    }
}

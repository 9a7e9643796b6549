using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Mocker.Api;
using Mocker.Engine.Build;
using Mocker.Engine.Content;
using Mocker.Engine.Images;
using Mocker.Engine.Runtime;
using Mocker.Engine.Snapshots;
using Mocker.Engine.State;
using Xunit;

namespace Mocker.Engine.Tests.Build;

/// <summary>
/// The builder on the real stack: SQLite metadata, content store, overlay snapshots, runc through ProcessRunner, and a
/// busybox image bootstrapped from /bin/busybox. Each test owns a temporary data root and removes it (mounts first).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BuilderEndToEndTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mocker-build-e2e-" + Guid.NewGuid().ToString("N"));
    private readonly EngineOptions _options;
    private readonly ImageStore _images;
    private readonly OverlaySnapshotter _snapshotter;
    private readonly LocalContentStore _content;
    private readonly ImageService _imageService;
    private readonly Builder _builder;

    public BuilderEndToEndTests()
    {
        Directory.CreateDirectory(_dir);
        _options = new EngineOptions { DataRoot = Path.Combine(_dir, "data"), ExecRoot = Path.Combine(_dir, "exec") };
        var db = new MetadataDb(_options.MetadataDbPath);
        _content = new LocalContentStore(_options);
        _images = new ImageStore(db);
        _snapshotter = new OverlaySnapshotter(_options, db);
        var unpacker = new LayerUnpacker(_snapshotter, new LayerApplier());
        _imageService = new ImageService(_options, _content, _images, _snapshotter, unpacker, ConfigChanges.Apply, NullLogger<ImageService>.Instance);
        _builder = new Builder(_options, db, _content, _images, _snapshotter, new LayerDiffer(), new ProcessRunner(_options), NullLogger<Builder>.Instance);
    }

    public void Dispose()
    {
        // Unmount whatever is still mounted under the root, deepest first, then delete it.
        var mounts = File.ReadAllLines("/proc/self/mountinfo")
            .Select(l => l.Split(' ')[4].Replace("\\040", " ", StringComparison.Ordinal))
            .Where(p => p.StartsWith(_dir, StringComparison.Ordinal))
            .OrderByDescending(p => p.Length);
        foreach (var m in mounts)
        {
            MountHelper.Unmount(m);
        }
        Directory.Delete(_dir, recursive: true);
    }

    private sealed class Collect : IProgress<JsonMessage>
    {
        private readonly Lock _lock = new();
        public List<JsonMessage> Messages { get; } = [];
        public void Report(JsonMessage value)
        {
            lock (_lock)
            {
                Messages.Add(value);
            }
        }
        public string Text => string.Concat(Messages.Select(m => m.stream));
    }

    private sealed record Result(string Id, string Output, ImageRecord Image);

    private async Task<Result> BuildAsync(IReadOnlyDictionary<string, string> files, BuildOptions? options = null)
    {
        if ((await _images.FindAsync("busybox", default)) is null)
        {
            await _imageService.BootstrapAsync("busybox", null, null, default);
        }
        var context = Path.Combine(_dir, "ctx-" + Guid.NewGuid().ToString("N"));
        foreach (var (name, text) in files)
        {
            var path = Path.Combine(context, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, text);
            File.SetLastWriteTimeUtc(path, new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc));
        }
        var tar = new MemoryStream();
        await TarFile.CreateFromDirectoryAsync(context, tar, includeBaseDirectory: false);
        tar.Position = 0;
        var progress = new Collect();
        var id = await _builder.BuildAsync(tar, options ?? new BuildOptions(), progress, default);
        return new Result(id, progress.Text, await _images.GetAsync(id, default));
    }

    /// <summary>Mounts the image's filesystem read-only and runs <paramref name="check"/> on it.</summary>
    private async Task InspectFsAsync(ImageRecord image, Action<string> check)
    {
        var key = "test-view-" + Guid.NewGuid().ToString("N");
        var target = Path.Combine(_dir, "view-" + Guid.NewGuid().ToString("N"));
        var mounts = await _snapshotter.ViewAsync(key, image.TopChainId!, default);
        MountHelper.MountAll(mounts, target);
        try
        {
            check(target);
        }
        finally
        {
            MountHelper.Unmount(target);
            await _snapshotter.RemoveAsync(key, default);
        }
    }

    /// <summary>The entry names of the image's last layer (gzip tar).</summary>
    private async Task<List<string>> LastLayerEntriesAsync(ImageRecord image)
    {
        ImageManifest manifest;
        await using (var m = _content.OpenRead(image.ManifestDigest))
        {
            manifest = (await JsonSerializer.DeserializeAsync(m, OciJsonContext.Default.ImageManifest))!;
        }
        await using var blob = _content.OpenRead(manifest.Layers[^1].Digest);
        await using var gz = new GZipStream(blob, CompressionMode.Decompress);
        using var reader = new TarReader(gz);
        var names = new List<string>();
        while (await reader.GetNextEntryAsync() is { } e)
        {
            names.Add(e.Name);
        }
        return names;
    }

    private static string Owner(string path)
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%u:%g", path]) { RedirectStandardOutput = true })!;
        var owner = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return owner;
    }

    private static int Count(string text, string needle) => (text.Length - text.Replace(needle, "", StringComparison.Ordinal).Length) / needle.Length;

    private static readonly Dictionary<string, string> Basic = new()
    {
        ["Mockerfile"] = """
            FROM busybox
            ARG GREETING=hello
            ENV APP=/app
            WORKDIR /app
            COPY --chown=1000:1001 --chmod=750 hello.txt ./
            COPY dir/ /data/
            RUN echo "$GREETING from run" && echo made > made.txt && ln -s /app/made.txt link && mkdir -p /gone && echo x > /gone/f
            RUN rm /gone/f
            USER 1000
            EXPOSE 8080/tcp 53/udp
            LABEL a=b "c d"=e
            CMD ["sh"]
            """,
        ["hello.txt"] = "hi there\n",
        ["dir/x"] = "x content\n",
        ["dir/sub/y"] = "y content\n",
    };

    [Fact]
    public async Task EachInstructionShapesConfigAndFilesystem()
    {
        var r = await BuildAsync(Basic);
        Assert.Contains("hello from run\n", r.Output, StringComparison.Ordinal);
        Assert.Contains("Step 12/12 : CMD [\"sh\"]", r.Output, StringComparison.Ordinal);
        var c = r.Image.Config.Config!;
        Assert.Contains("APP=/app", c.Env!);
        Assert.Equal("/app", c.WorkingDir);
        Assert.Equal("1000", c.User);
        Assert.Equal(["53/udp", "8080/tcp"], c.ExposedPorts!.Keys.Order(StringComparer.Ordinal).ToArray());
        Assert.Equal("b", c.Labels!["a"]);
        Assert.Equal("e", c.Labels["c d"]);
        Assert.Equal(["sh"], c.Cmd);
        var history = r.Image.Config.History!;
        Assert.True(history[^1].EmptyLayer);
        Assert.Contains(history, h => h.CreatedBy!.Contains("rm /gone/f", StringComparison.Ordinal) && !h.EmptyLayer);

        await InspectFsAsync(r.Image, root =>
        {
            var hello = Path.Combine(root, "app/hello.txt");
            Assert.Equal("hi there\n", File.ReadAllText(hello));
            Assert.Equal((UnixFileMode)Convert.ToInt32("750", 8), File.GetUnixFileMode(hello));
            Assert.Equal("1000:1001", Owner(hello));
            Assert.Equal("y content\n", File.ReadAllText(Path.Combine(root, "data/sub/y")));
            Assert.Equal("made\n", File.ReadAllText(Path.Combine(root, "app/made.txt")));
            Assert.Equal("/app/made.txt", new FileInfo(Path.Combine(root, "app/link")).LinkTarget);
            Assert.True(Directory.Exists(Path.Combine(root, "gone")));
            Assert.False(File.Exists(Path.Combine(root, "gone/f")));
        });
        Assert.Contains("gone/.wh.f", await LastLayerEntriesAsync(r.Image));
    }

    [Fact]
    public async Task RebuildIsFullyCachedAndAChangedFileInvalidatesFromItsStep()
    {
        var first = await BuildAsync(Basic);
        var again = await BuildAsync(Basic);
        Assert.Equal(first.Id, again.Id);
        Assert.Equal(11, Count(again.Output, " ---> Using cache\n"));
        Assert.DoesNotContain("hello from run", again.Output, StringComparison.Ordinal);

        var changed = new Dictionary<string, string>(Basic) { ["dir/sub/y"] = "changed\n" };
        var third = await BuildAsync(changed);
        Assert.NotEqual(first.Id, third.Id);
        // ARG, ENV, WORKDIR and the first COPY are cached; COPY dir/ and everything after it runs again.
        Assert.Equal(4, Count(third.Output, " ---> Using cache\n"));
        var copyDir = third.Output.IndexOf("COPY dir/ /data/", StringComparison.Ordinal);
        Assert.DoesNotContain("Using cache", third.Output[copyDir..], StringComparison.Ordinal);
        Assert.Contains("hello from run", third.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailingRunReportsItsExitCode()
    {
        var e = await Assert.ThrowsAsync<BuildException>(() => BuildAsync(new Dictionary<string, string> { ["Mockerfile"] = "FROM busybox\nRUN echo before && exit 7\n" }));
        Assert.Equal(7, e.Code);
        Assert.Equal("The command '/bin/sh -c echo before && exit 7' returned a non-zero code: 7", e.Message);
    }

    [Fact]
    public async Task HeredocsRunAndCreateFiles()
    {
        var r = await BuildAsync(new Dictionary<string, string>
        {
            ["Mockerfile"] = """
                FROM busybox
                ARG WHO=world
                RUN <<EOF
                echo "script says $WHO"
                echo one > /one
                EOF
                RUN cat <<A > /a && cat <<'B' > /b
                a=$WHO
                A
                b=$WHO
                B
                RUN <<EOT
                #!/bin/sh
                echo "shebang $0" > /shebang
                EOT
                COPY <<EOF /greeting
                hello $WHO
                EOF
                COPY <<-"EOF" /raw/
                	not $WHO
                	EOF
                """,
        });
        Assert.Contains("script says world\n", r.Output, StringComparison.Ordinal);
        await InspectFsAsync(r.Image, root =>
        {
            Assert.Equal("one\n", File.ReadAllText(Path.Combine(root, "one")));
            Assert.Equal("a=world\n", File.ReadAllText(Path.Combine(root, "a")));
            Assert.Equal("b=$WHO\n", File.ReadAllText(Path.Combine(root, "b")));
            Assert.Equal("shebang /dev/pipes/EOT\n", File.ReadAllText(Path.Combine(root, "shebang")));
            Assert.Equal("hello world\n", File.ReadAllText(Path.Combine(root, "greeting")));
            Assert.Equal((UnixFileMode)Convert.ToInt32("644", 8), File.GetUnixFileMode(Path.Combine(root, "greeting")));
            Assert.Equal("not $WHO\n", File.ReadAllText(Path.Combine(root, "raw/EOF")));
            Assert.False(Path.Exists(Path.Combine(root, "dev/pipes")));
        });
    }

    [Fact]
    public async Task CacheMountPersistsAcrossBuildsAndStaysOutOfTheLayer()
    {
        var files = new Dictionary<string, string>
        {
            ["Mockerfile"] = "FROM busybox\nRUN --mount=type=cache,target=/var/cache/app,id=e2e echo x >> /var/cache/app/n && wc -l < /var/cache/app/n > /count\n",
        };
        var first = await BuildAsync(files);
        var second = await BuildAsync(files, new BuildOptions { NoCache = true });
        await InspectFsAsync(first.Image, root => Assert.Equal("1", File.ReadAllText(Path.Combine(root, "count")).Trim()));
        await InspectFsAsync(second.Image, root =>
        {
            Assert.Equal("2", File.ReadAllText(Path.Combine(root, "count")).Trim());
            Assert.False(Path.Exists(Path.Combine(root, "var/cache")));
        });
        Assert.True(File.Exists(Path.Combine(_options.DataRoot, "buildcache", "e2e", "n")));
        Assert.DoesNotContain(await LastLayerEntriesAsync(second.Image), n => n.Contains("cache", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BindAndTmpfsMountsAreVisibleOnlyDuringTheRun()
    {
        var r = await BuildAsync(new Dictionary<string, string>
        {
            ["Mockerfile"] = """
                FROM busybox AS staged
                RUN echo staged > /s && mkdir /seed && echo seeded > /seed/s
                FROM busybox
                RUN --mount=type=bind,from=staged,source=/s,target=/mnt/file cat /mnt/file > /fromstage
                RUN --mount=type=cache,id=seeded,from=staged,source=/seed,target=/mnt/cache cat /mnt/cache/s > /fromcache
                RUN --mount=type=bind,source=dir,target=/mnt/ctx --mount=type=tmpfs,target=/scratch,size=1m cat /mnt/ctx/x > /copied && echo t > /scratch/t && ! touch /mnt/ctx/new 2>/dev/null
                RUN --mount=type=bind,source=dir,target=/mnt/rw,rw touch /mnt/rw/new && ls /mnt/rw > /listing
                """,
            ["dir/x"] = "from context\n",
        });
        await InspectFsAsync(r.Image, root =>
        {
            Assert.Equal("from context\n", File.ReadAllText(Path.Combine(root, "copied")));
            Assert.Equal("staged\n", File.ReadAllText(Path.Combine(root, "fromstage")));
            Assert.Equal("seeded\n", File.ReadAllText(Path.Combine(root, "fromcache")));
            Assert.Contains("new", File.ReadAllText(Path.Combine(root, "listing")), StringComparison.Ordinal);
            Assert.False(Path.Exists(Path.Combine(root, "mnt")));
            Assert.False(Path.Exists(Path.Combine(root, "scratch")));
        });
    }

    [Fact]
    public async Task SecretsReachOnlyTheRunThatAsksAndNeverALayer()
    {
        var files = new Dictionary<string, string>
        {
            ["Mockerfile"] = """
                FROM busybox
                RUN --mount=type=secret,id=tok --mount=type=secret,id=tok,env=TOKEN,target=/etc/tok cat /run/secrets/tok /etc/tok > /seen && echo "$TOKEN" >> /seen && stat -c %a /run/secrets/tok >> /seen
                RUN --mount=type=secret,id=absent test ! -e /run/secrets/absent && echo "[$TOKEN]" > /later
                """,
        };
        var secrets = new Dictionary<string, byte[]> { ["tok"] = "s3cret"u8.ToArray() };
        var r = await BuildAsync(files, new BuildOptions { Secrets = secrets });
        await InspectFsAsync(r.Image, root =>
        {
            Assert.Equal("s3crets3crets3cret\n400\n", File.ReadAllText(Path.Combine(root, "seen")));
            Assert.Equal("[]\n", File.ReadAllText(Path.Combine(root, "later")));
            Assert.False(Path.Exists(Path.Combine(root, "run/secrets")));
            Assert.False(Path.Exists(Path.Combine(root, "etc/tok")));
        });
        Assert.DoesNotContain(r.Image.Config.History!, h => h.CreatedBy!.Contains("s3cret", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(_options.ExecRoot, "build-secrets")) && Directory.EnumerateFileSystemEntries(Path.Combine(_options.ExecRoot, "build-secrets")).Any());
        var e = await Assert.ThrowsAsync<BuildException>(() => BuildAsync(new Dictionary<string, string>
        {
            ["Mockerfile"] = "FROM busybox\nRUN --mount=type=secret,id=missing,required=true true\n",
        }));
        Assert.Equal("Mockerfile:2: RUN --mount=type=secret: secret missing not found", e.Message);
    }

    [Fact]
    public async Task IndependentStagesBuildAndFeedTheFinalStage()
    {
        var r = await BuildAsync(new Dictionary<string, string>
        {
            ["Mockerfile"] = """
                FROM busybox AS a
                RUN echo from-a > /a
                FROM busybox AS b
                RUN echo from-b > /b
                FROM busybox AS unused
                RUN exit 1
                FROM busybox
                COPY --from=a /a /out/
                COPY --from=b /b /out/
                """,
        });
        Assert.DoesNotContain("exit 1", r.Output, StringComparison.Ordinal);
        foreach (var line in r.Output.Split('\n').Where(l => l.StartsWith("Step", StringComparison.Ordinal)))
        {
            Assert.Matches(@"^Step \d+/7 : ", line);
        }
        await InspectFsAsync(r.Image, root =>
        {
            Assert.Equal("from-a\n", File.ReadAllText(Path.Combine(root, "out/a")));
            Assert.Equal("from-b\n", File.ReadAllText(Path.Combine(root, "out/b")));
        });
    }

    [Fact]
    public async Task IndependentStagesRunAtTheSameTime()
    {
        // Each stage waits (at most 20 s) for the other's marker in a shared cache mount: only a parallel build finishes.
        static string Stage(string me, string other) =>
            $"FROM busybox AS {me}\nRUN --mount=type=cache,id=rendezvous,target=/s touch /s/{me} && i=0 && while [ ! -e /s/{other} ]; do i=$((i+1)); [ $i -gt 200 ] && exit 3; sleep 0.1; done\n";
        var r = await BuildAsync(new Dictionary<string, string>
        {
            ["Mockerfile"] = Stage("a", "b") + Stage("b", "a") + "FROM busybox\nCOPY --from=a /etc/passwd /a\nCOPY --from=b /etc/passwd /b\n",
        });
        var lines = r.Output.Split('\n');
        Assert.All(lines.Where(l => l.StartsWith("Step", StringComparison.Ordinal)), l => Assert.Matches(@"^Step \d+/7 : (FROM|RUN|COPY) ", l));
    }

    [Fact]
    public async Task CopyLinkReusesTheSameLayerOnADifferentParent()
    {
        var first = await BuildAsync(new Dictionary<string, string>
        {
            ["Mockerfile"] = "FROM busybox\nCOPY --link --chown=7 a.txt /linked/\n",
            ["a.txt"] = "linked content\n",
        });
        var second = await BuildAsync(new Dictionary<string, string>
        {
            ["Mockerfile"] = "FROM busybox\nRUN echo other > /other\nCOPY --link --chown=7 a.txt /linked/\n",
            ["a.txt"] = "linked content\n",
        });
        Assert.Equal(first.Image.Config.RootFs.DiffIds[^1], second.Image.Config.RootFs.DiffIds[^1]);
        await InspectFsAsync(second.Image, root =>
        {
            Assert.Equal("linked content\n", File.ReadAllText(Path.Combine(root, "linked/a.txt")));
            Assert.Equal("7:7", Owner(Path.Combine(root, "linked/a.txt")));
            Assert.Equal("other\n", File.ReadAllText(Path.Combine(root, "other")));
            Assert.True(File.Exists(Path.Combine(root, "bin/busybox")));
        });
    }

    [Fact]
    public async Task ParallelStagesMakingTheSameLayerShareIt()
    {
        var r = await BuildAsync(new Dictionary<string, string>
        {
            ["Mockerfile"] = """
                FROM busybox AS one
                COPY same.txt /same.txt
                FROM busybox AS two
                COPY same.txt /same.txt
                FROM busybox AS three
                COPY --link same.txt /same.txt
                FROM busybox AS four
                COPY --link same.txt /same.txt
                FROM busybox
                COPY --from=one /same.txt /1
                COPY --from=two /same.txt /2
                COPY --from=three /same.txt /3
                COPY --from=four /same.txt /4
                """,
            ["same.txt"] = "same\n",
        });
        await InspectFsAsync(r.Image, root =>
        {
            foreach (var n in new[] { "1", "2", "3", "4" })
            {
                Assert.Equal("same\n", File.ReadAllText(Path.Combine(root, n)));
            }
        });
    }

    [Fact]
    public async Task CopyExcludeAndParents()
    {
        var r = await BuildAsync(new Dictionary<string, string>
        {
            ["Mockerfile"] = "FROM busybox\nCOPY --exclude=*.md --exclude=**/skip src/ /e/\nCOPY --parents src/one/1.txt src/two/ /p/\n"
                + "COPY --parents ./src/./two/*.txt /pivot/\nCOPY --parents src/**/*.txt /deep/\n",
            ["src/keep.txt"] = "k",
            ["src/notes.md"] = "n",
            ["src/one/1.txt"] = "1",
            ["src/two/2.txt"] = "2",
            ["src/two/skip"] = "s",
        });
        await InspectFsAsync(r.Image, root =>
        {
            Assert.True(File.Exists(Path.Combine(root, "e/keep.txt")));
            Assert.False(File.Exists(Path.Combine(root, "e/notes.md")));
            Assert.False(File.Exists(Path.Combine(root, "e/two/skip")));
            Assert.True(File.Exists(Path.Combine(root, "e/two/2.txt")));
            Assert.Equal("1", File.ReadAllText(Path.Combine(root, "p/src/one/1.txt")));
            Assert.Equal("2", File.ReadAllText(Path.Combine(root, "p/src/two/2.txt")));
            Assert.Equal("2", File.ReadAllText(Path.Combine(root, "pivot/two/2.txt")));
            Assert.Equal(["deep/src/keep.txt", "deep/src/one/1.txt", "deep/src/two/2.txt"],
                Directory.EnumerateFiles(Path.Combine(root, "deep"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).Order(StringComparer.Ordinal).ToArray());
        });
    }

    [Fact]
    public async Task AddUrlDownloadsFromLoopbackAndVerifiesChecksum()
    {
        var body = "remote payload\n"u8.ToArray();
        var sha = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
        var lastModified = new DateTimeOffset(2023, 3, 4, 5, 6, 7, TimeSpan.Zero);
        using var server = new LoopbackServer(body, lastModified);
        var url = $"http://127.0.0.1:{server.Port}/files/remote.tar";
        var r = await BuildAsync(new Dictionary<string, string>
        {
            ["Mockerfile"] = $"FROM busybox\nADD --checksum={sha} {url} /dl/\nADD {url} /named\n",
        });
        await InspectFsAsync(r.Image, root =>
        {
            var file = Path.Combine(root, "dl/remote.tar");
            Assert.Equal(body, File.ReadAllBytes(file));
            Assert.Equal((UnixFileMode)Convert.ToInt32("600", 8), File.GetUnixFileMode(file));
            Assert.Equal(lastModified.UtcDateTime, File.GetLastWriteTimeUtc(file));
            Assert.Equal(body, File.ReadAllBytes(Path.Combine(root, "named")));
        });
        var bad = "sha256:" + new string('0', 64);
        var e = await Assert.ThrowsAsync<BuildException>(() => BuildAsync(new Dictionary<string, string>
        {
            ["Mockerfile"] = $"FROM busybox\nADD --checksum={bad} {url} /dl/\n",
        }));
        Assert.Equal($"Mockerfile:2: ADD failed: digest mismatch {bad}: {sha}", e.Message);
    }

    [Fact]
    public async Task DoublingArgChainFailsWithFileAndLine()
    {
        var sb = new StringBuilder("FROM busybox\nARG A0=0123456789abcdef\n");
        for (var i = 1; i < 40; i++)
        {
            sb.Append($"ARG A{i}=${{A{i - 1}}}${{A{i - 1}}}\n");
        }
        var e = await Assert.ThrowsAsync<BuildException>(() => BuildAsync(new Dictionary<string, string> { ["Mockerfile"] = sb.ToString() }));
        Assert.Matches(@"^Mockerfile:\d+: variable expansion produces more than", e.Message);
    }

    /// <summary>A one-file HTTP/1.1 server on 127.0.0.1 (an ephemeral port) for ADD URL tests.</summary>
    private sealed class LoopbackServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public LoopbackServer(byte[] body, DateTimeOffset lastModified)
        {
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    await using var stream = client.GetStream();
                    var reader = new StreamReader(stream, Encoding.ASCII);
                    while (!string.IsNullOrEmpty(await reader.ReadLineAsync(_stop.Token)))
                    {
                    }
                    var head = $"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nLast-Modified: {lastModified:R}\r\nConnection: close\r\n\r\n";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(head), _stop.Token);
                    await stream.WriteAsync(body, _stop.Token);
                }
            });
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            try
            {
                _loop.Wait();
            }
            catch (AggregateException)
            {
                // The accept loop ends by cancellation.
            }
            _stop.Dispose();
        }
    }
}

using System.CommandLine;
using Mocker.Client;

namespace Mocker.Cli;

/// <summary>Registry and archive verbs: pull, push, save, load, login, logout, commit, export (engine-api-trace.md §1.11–§1.13, §1.17).</summary>
internal static class DistributionCommands
{
    public static Command Pull()
    {
        var platform = new Option<string?>("--platform") { Description = "Set platform if server is multi-platform capable" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Suppress verbose output" };
        var image = new Argument<string>("NAME[:TAG|@DIGEST]");
        var cmd = new Command("pull", "Download an image from a registry") { platform, quiet, image };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var reference = pr.GetValue(image)!;
            var auth = CredentialStore.Default().Get(ImageOperations.RegistryHost(reference));
            var messages = c.Images.PullAsync(reference, pr.GetValue(platform), auth, ct);
            if (pr.GetValue(quiet))
            {
                await foreach (var m in messages.ConfigureAwait(false))
                {
                    if (m.error is { } error)
                    {
                        Cli.ErrLine(error);
                        return 1;
                    }
                }
                Cli.OutLine(reference);
                return 0;
            }
            return await new ProgressRenderer(Terminal.IsTerminal(1)).RenderAllAsync(messages).ConfigureAwait(false);
        }));
        return cmd;
    }

    public static Command Push()
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Suppress verbose output" };
        var image = new Argument<string>("NAME[:TAG]");
        var cmd = new Command("push", "Upload an image to a registry") { quiet, image };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var reference = pr.GetValue(image)!;
            var auth = CredentialStore.Default().Get(ImageOperations.RegistryHost(reference));
            return await new ProgressRenderer(Terminal.IsTerminal(1)).RenderAllAsync(c.Images.PushAsync(reference, auth, ct)).ConfigureAwait(false);
        }));
        return cmd;
    }

    public static Command Save()
    {
        var output = new Option<string?>("--output", "-o") { Description = "Write to a file, instead of STDOUT" };
        var images = new Argument<string[]>("IMAGE") { Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("save", "Save one or more images to a tar archive (streamed to STDOUT by default)") { output, images };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var path = pr.GetValue(output);
            if (string.IsNullOrEmpty(path) && Terminal.IsTerminal(1))
                throw new UsageException("cowardly refusing to save to a terminal. Use the -o flag or redirect");
            await WriteAtomicallyAsync(path, s => c.Images.SaveAsync(pr.GetValue(images)!, s, ct)).ConfigureAwait(false);
            return 0;
        }));
        return cmd;
    }

    public static Command Load()
    {
        var input = new Option<string?>("--input", "-i") { Description = "Read from tar archive file, instead of STDIN" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Suppress the load output" };
        var cmd = new Command("load", "Load an image from a tar archive or STDIN") { input, quiet };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var path = pr.GetValue(input);
            if (string.IsNullOrEmpty(path) && Terminal.IsTerminal(0))
                throw new UsageException("requested load from stdin, but stdin is empty");
            Stream source = string.IsNullOrEmpty(path) ? Cli.OpenStdin() : File.OpenRead(path);
            await using (source.ConfigureAwait(false))
            {
                // As the docker CLI does: quiet whenever stdout is no terminal, so only "Loaded image" lines are printed.
                var messages = c.Images.LoadAsync(source, pr.GetValue(quiet) || !Terminal.IsTerminal(1), ct);
                return await new ProgressRenderer(Terminal.IsTerminal(1)).RenderAllAsync(messages).ConfigureAwait(false);
            }
        }));
        return cmd;
    }

    public static Command Login()
    {
        var user = new Option<string?>("--username", "-u") { Description = "Username" };
        var password = new Option<string?>("--password", "-p") { Description = "Password" };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Take the password from stdin" };
        var server = new Argument<string?>("SERVER") { Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("login", "Log in to a registry") { user, password, passwordStdin, server };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var host = ServerKey(pr.GetValue(server));
            var username = pr.GetValue(user);
            var secret = pr.GetValue(password);
            if (pr.GetValue(passwordStdin))
            {
                if (!string.IsNullOrEmpty(secret)) throw new UsageException("--password and --password-stdin are mutually exclusive");
                if (string.IsNullOrEmpty(username)) throw new UsageException("Must provide --username with --password-stdin");
                using var reader = new StreamReader(Cli.OpenStdin());
                secret = (await reader.ReadToEndAsync(ct).ConfigureAwait(false)).TrimEnd('\n', '\r');
            }
            if (string.IsNullOrEmpty(username))
            {
                Cli.Out("Username: ");
                username = Console.ReadLine()?.Trim();
            }
            if (string.IsNullOrEmpty(secret))
            {
                Cli.Out("Password: ");
                secret = Console.ReadLine();
            }
            if (string.IsNullOrEmpty(username) || string.IsNullOrEmpty(secret))
                throw new UsageException("Error: Cannot perform an interactive login from a non TTY device");
            var result = await c.System.AuthAsync(new RegistryAuth { Username = username, Password = secret, ServerAddress = host }, ct).ConfigureAwait(false);
            CredentialStore.Default().Store(host, username, secret);
            Cli.OutLine(result.Status ?? "Login Succeeded");
            return 0;
        }));
        return cmd;
    }

    public static Command Logout()
    {
        var server = new Argument<string?>("SERVER") { Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("logout", "Log out from a registry") { server };
        cmd.SetAction((pr, ct) =>
        {
            var host = ServerKey(pr.GetValue(server));
            if (CredentialStore.Default().Remove(host))
                Cli.OutLine("Removing login credentials for " + host);
            else
                Cli.OutLine("Not logged in to " + host);
            return Task.FromResult(0);
        });
        return cmd;
    }

    public static Command Commit()
    {
        var change = new Option<string[]>("--change", "-c") { Description = "Apply Dockerfile instruction to the created image" };
        var message = new Option<string?>("--message", "-m") { Description = "Commit message" };
        var author = new Option<string?>("--author", "-a") { Description = "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")" };
        var pause = new Option<bool>("--pause", "-p") { Description = "Pause container during commit", DefaultValueFactory = _ => true };
        var container = new Argument<string>("CONTAINER");
        var reference = new Argument<string?>("REPOSITORY[:TAG]") { Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("commit", "Create a new image from a container's changes") { change, message, author, pause, container, reference };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            string? repository = null, tag = null;
            if (pr.GetValue(reference) is { Length: > 0 } r)
            {
                var (name, t) = ImageOperations.SplitReference(r);
                repository = name;
                tag = t;
            }
            var id = await c.Containers.CommitAsync(pr.GetValue(container)!, repository, tag, pr.GetValue(message), pr.GetValue(author),
                pr.GetValue(change), pr.GetValue(pause), ct).ConfigureAwait(false);
            Cli.OutLine(id);
            return 0;
        }));
        return cmd;
    }

    public static Command Export()
    {
        var output = new Option<string?>("--output", "-o") { Description = "Write to a file, instead of STDOUT" };
        var container = new Argument<string>("CONTAINER");
        var cmd = new Command("export", "Export a container's filesystem as a tar archive") { output, container };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var path = pr.GetValue(output);
            if (string.IsNullOrEmpty(path) && Terminal.IsTerminal(1))
                throw new UsageException("cowardly refusing to save to a terminal. Use the -o flag or redirect");
            await WriteAtomicallyAsync(path, s => c.Containers.ExportAsync(pr.GetValue(container)!, s, ct)).ConfigureAwait(false);
            return 0;
        }));
        return cmd;
    }

    /// <summary>
    /// The pull <c>run</c> and <c>create</c> do for a missing image (docker's pull policy "missing"; "always" pulls first):
    /// prints "Unable to find image 'X' locally", renders the progress on stderr; returns the error text or null.
    /// </summary>
    public static async Task<string?> PullForRunAsync(MockerClient c, string image, string? platform, bool announce, CancellationToken ct)
    {
        if (announce) Cli.ErrLine($"Unable to find image '{image}' locally");
        var auth = CredentialStore.Default().Get(ImageOperations.RegistryHost(image));
        var renderer = new ProgressRenderer(Terminal.IsTerminal(2), toStderr: true);
        try
        {
            await foreach (var m in c.Images.PullAsync(image, platform, auth, ct).ConfigureAwait(false))
            {
                if (renderer.Render(m) is { } error) return error.Message;
            }
        }
        catch (MockerApiException e)
        {
            return e.Message;
        }
        return null;
    }

    /// <summary>"https://host:5000/v2/" → "host:5000"; none → Docker Hub's key.</summary>
    private static string ServerKey(string? server)
    {
        if (string.IsNullOrEmpty(server)) return "docker.io";
        var s = server;
        var scheme = s.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0) s = s[(scheme + 3)..];
        s = s.Split('/')[0];
        return s is "index.docker.io" or "registry-1.docker.io" ? "docker.io" : s;
    }

    /// <summary>Writes to stdout, or to a temporary file renamed over <paramref name="path"/> once complete (no half-written archive on failure).</summary>
    private static async Task WriteAtomicallyAsync(string? path, Func<Stream, Task> write)
    {
        if (string.IsNullOrEmpty(path))
        {
            await write(Cli.Stdout).ConfigureAwait(false);
            await Cli.Stdout.FlushAsync().ConfigureAwait(false);
            return;
        }
        var full = Path.GetFullPath(path);
        var tmp = Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + ".tmp-" + Environment.ProcessId);
        try
        {
            await using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await write(fs).ConfigureAwait(false);
                await fs.FlushAsync().ConfigureAwait(false);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            File.Delete(tmp);
        }
    }
}

using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Mocker.Api;
using Mocker.Client;

namespace Mocker.Cli;

/// <summary>version, info, inspect, system prune.</summary>
internal static class SystemCommands
{
    private const string ClientVersion = "0.1.0";

    public static Command Version()
    {
        var format = new Option<string?>("--format", "-f") { Description = "Format output using a custom template" };
        var cmd = new Command("version", "Show the Mocker version information") { format };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var sb = new StringBuilder();
            sb.Append("Client:\n");
            sb.Append(" Version:           ").Append(ClientVersion).Append('\n');
            string? apiVersion = null;
            try { apiVersion = await c.GetApiVersionAsync(ct).ConfigureAwait(false); }
            catch (MockerConnectionException) { }
            sb.Append(" API version:       ").Append(apiVersion ?? MockerClient.MaxApiVersion).Append('\n');
            sb.Append(" .NET version:      ").Append(Environment.Version).Append('\n');
            sb.Append(" OS/Arch:           linux/").Append(Arch()).Append('\n');
            if (apiVersion is null)
            {
                Cli.Out(sb.ToString());
                var v = await c.System.VersionAsync(ct).ConfigureAwait(false);
                return v is null ? 1 : 0;
            }
            var server = await c.System.VersionAsync(ct).ConfigureAwait(false);
            if (pr.GetValue(format) is { Length: > 0 } f)
            {
                Cli.OutLine(GoTemplate.Parse(f).Execute(JsonSerializer.SerializeToElement(server, Mocker.Api.ApiJsonContext.Default.VersionResponse)));
                return 0;
            }
            sb.Append('\n').Append("Server: ").Append(server.Platform.Name).Append('\n');
            sb.Append(" Engine:\n");
            sb.Append("  Version:          ").Append(server.Version).Append('\n');
            sb.Append("  API version:      ").Append(server.ApiVersion).Append(" (minimum version ").Append(server.MinAPIVersion).Append(")\n");
            sb.Append("  Git commit:       ").Append(server.GitCommit).Append('\n');
            sb.Append("  Built:            ").Append(server.BuildTime).Append('\n');
            sb.Append("  OS/Arch:          ").Append(server.Os).Append('/').Append(server.Arch).Append('\n');
            sb.Append("  Experimental:     ").Append(server.Experimental ? "true" : "false").Append('\n');
            foreach (var component in server.Components.Where(x => x.Name != "Engine"))
            {
                sb.Append(' ').Append(component.Name).Append(":\n");
                sb.Append("  Version:          ").Append(component.Version).Append('\n');
            }
            Cli.Out(sb.ToString());
            return 0;
        }));
        return cmd;
    }

    private static string Arch() => System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        _ => "amd64",
    };

    public static Command Info()
    {
        var format = new Option<string?>("--format", "-f") { Description = "Format output using a custom template" };
        var cmd = new Command("info", "Display system-wide information") { format };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var raw = await c.System.InfoAsync(ct).ConfigureAwait(false);
            if (pr.GetValue(format) is { Length: > 0 } f)
            {
                var template = f == "json" ? "{{json .}}" : f;
                Cli.OutLine(GoTemplate.Parse(template).Execute(JsonSerializer.SerializeToElement(raw, ApiJsonContext.Default.SystemInfo)));
                return 0;
            }
            var i = raw;
            var sb = new StringBuilder();
            sb.Append("Client:\n Context:    default\n Debug Mode: ").Append(pr.GetValue(Cli.Debug) ? "true" : "false").Append("\n\n");
            sb.Append("Server:\n");
            sb.Append(" Containers: ").Append(i.Containers).Append('\n');
            sb.Append("  Running: ").Append(i.ContainersRunning).Append('\n');
            sb.Append("  Paused: ").Append(i.ContainersPaused).Append('\n');
            sb.Append("  Stopped: ").Append(i.ContainersStopped).Append('\n');
            sb.Append(" Images: ").Append(i.Images).Append('\n');
            sb.Append(" Server Version: ").Append(i.ServerVersion).Append('\n');
            sb.Append(" Storage Driver: ").Append(i.Driver).Append('\n');
            foreach (var kv in i.DriverStatus.Where(d => d.Count == 2)) sb.Append("  ").Append(kv[0]).Append(": ").Append(kv[1]).Append('\n');
            sb.Append(" Logging Driver: ").Append(i.LoggingDriver).Append('\n');
            sb.Append(" Cgroup Driver: ").Append(i.CgroupDriver).Append('\n');
            sb.Append(" Cgroup Version: ").Append(i.CgroupVersion).Append('\n');
            sb.Append(" Plugins:\n  Volume: ").Append(string.Join(' ', i.Plugins.Volume)).Append("\n  Network: ").Append(string.Join(' ', i.Plugins.Network))
                .Append("\n  Log: ").Append(string.Join(' ', i.Plugins.Log)).Append('\n');
            sb.Append(" Swarm: ").Append(i.Swarm.LocalNodeState).Append('\n');
            sb.Append(" Runtimes: ").Append(string.Join(' ', i.Runtimes.Keys)).Append('\n');
            sb.Append(" Default Runtime: ").Append(i.DefaultRuntime).Append('\n');
            sb.Append(" Init Binary: ").Append(i.InitBinary).Append('\n');
            if (i.SecurityOptions.Count > 0)
            {
                sb.Append(" Security Options:\n");
                foreach (var s in i.SecurityOptions) sb.Append("  ").Append(s.Replace("name=", "", StringComparison.Ordinal)).Append('\n');
            }
            sb.Append(" Kernel Version: ").Append(i.KernelVersion).Append('\n');
            sb.Append(" Operating System: ").Append(i.OperatingSystem).Append('\n');
            sb.Append(" OSType: ").Append(i.OSType).Append('\n');
            sb.Append(" Architecture: ").Append(i.Architecture).Append('\n');
            sb.Append(" CPUs: ").Append(i.NCPU).Append('\n');
            sb.Append(" Total Memory: ").Append(BinarySize(i.MemTotal)).Append('\n');
            sb.Append(" Name: ").Append(i.Name).Append('\n');
            sb.Append(" ID: ").Append(i.ID).Append('\n');
            sb.Append(" Docker Root Dir: ").Append(i.DockerRootDir).Append('\n');
            sb.Append(" Debug Mode: ").Append(i.Debug ? "true" : "false").Append('\n');
            sb.Append(" Experimental: ").Append(i.ExperimentalBuild ? "true" : "false").Append('\n');
            sb.Append(" Live Restore Enabled: ").Append(i.LiveRestoreEnabled ? "true" : "false").Append('\n');
            Cli.Out(sb.ToString());
            foreach (var w in i.Warnings ?? []) Cli.ErrLine(w);
            return 0;
        }));
        return cmd;
    }

    /// <summary>go-units <c>BytesSize</c>: binary units with 4 significant digits, e.g. "7.763GiB".</summary>
    private static string BinarySize(long size)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double v = size;
        var i = 0;
        while (v >= 1024 && i < units.Length - 1) { v /= 1024; i++; }
        return v.ToString("G4", CultureInfo.InvariantCulture) + units[i];
    }

    public static Command Inspect()
    {
        var type = new Option<string?>("--type") { Description = "Return JSON for specified type (container, image)" };
        var format = new Option<string?>("--format", "-f") { Description = "Format output using a custom template" };
        var size = new Option<bool>("--size", "-s") { Description = "Display total file sizes if the type is container" };
        var names = new Argument<string[]>("NAME|ID") { Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("inspect", "Return low-level information on Mocker objects") { type, format, size, names };
        cmd.SetAction((pr, ct) => Cli.Run(pr, c => InspectAsync(c, pr.GetValue(names)!, pr.GetValue(type), pr.GetValue(format), pr.GetValue(size), ct)));
        return cmd;
    }

    /// <summary><c>image inspect</c>/<c>container inspect</c>: <c>inspect --type</c> fixed.</summary>
    public static Command TypedInspect(string kind)
    {
        var format = new Option<string?>("--format", "-f") { Description = "Format output using a custom template" };
        var size = new Option<bool>("--size", "-s") { Description = "Display total file sizes" };
        var names = new Argument<string[]>(kind.ToUpperInvariant()) { Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("inspect", $"Display detailed information on one or more {kind}s") { format, names };
        if (kind == "container") cmd.Options.Add(size);
        cmd.SetAction((pr, ct) => Cli.Run(pr, c => InspectAsync(c, pr.GetValue(names)!, kind, pr.GetValue(format), pr.GetValue(size), ct)));
        return cmd;
    }

    /// <summary>
    /// docker's inspect: each name tried as a container, then as an image (unless <paramref name="type"/> fixes it);
    /// found objects are printed together (indented JSON array, or the template per object); missing ones are reported
    /// as "Error: No such object: NAME" and make the exit code 1.
    /// </summary>
    private static async Task<int> InspectAsync(MockerClient c, string[] names, string? type, string? format, bool size, CancellationToken ct)
    {
        if (type is not (null or "" or "container" or "image"))
            throw new UsageException($"\"{type}\" is not a valid value for --type");
        GoTemplate? template = null;
        if (!string.IsNullOrEmpty(format) && format != "json")
        {
            try { template = GoTemplate.Parse(format.Replace("\\t", "\t", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal)); }
            catch (FormatException e) { throw new UsageException($"template parsing error: {e.Message}"); }
        }
        var found = new List<JsonElement>();
        var code = 0;
        var errors = new List<string>();
        foreach (var name in names)
        {
            JsonElement? element = null;
            if (type is null or "" or "container")
            {
                try { element = await c.Containers.InspectRawAsync(name, size, ct).ConfigureAwait(false); }
                catch (MockerNotFoundException) { }
            }
            if (element is null && type is null or "" or "image")
            {
                try { element = await c.Images.InspectRawAsync(name, ct).ConfigureAwait(false); }
                catch (MockerNotFoundException) { }
            }
            if (element is null)
            {
                errors.Add(type is null or "" ? $"Error: No such object: {name}" : $"Error: No such {type}: {name}");
                code = 1;
                continue;
            }
            found.Add(element.Value);
        }
        if (template is not null)
        {
            var sb = new StringBuilder();
            foreach (var e in found)
            {
                try { sb.Append(template.Execute(e)).Append('\n'); }
                catch (FormatException ex) { throw new UsageException($"template: {ex.Message}"); }
            }
            Cli.Out(sb.ToString());
        }
        else
        {
            Cli.OutLine(Output.IndentedArray(found));
        }
        foreach (var e in errors) Cli.ErrLine(e);
        return code;
    }

    public static Command SystemPrune()
    {
        var all = new Option<bool>("--all", "-a") { Description = "Remove all unused images not just dangling ones" };
        var force = new Option<bool>("--force", "-f") { Description = "Do not prompt for confirmation" };
        var filter = new Option<string[]>("--filter") { Description = "Provide filter values (e.g. \"label=<key>=<value>\")" };
        var cmd = new Command("prune", "Remove unused data") { all, force, filter };
        cmd.SetAction((pr, ct) => Cli.Run(pr, async c =>
        {
            var isAll = pr.GetValue(all);
            var warning = "WARNING! This will remove:\n  - all stopped containers\n" +
                          (isAll ? "  - all images without at least one container associated to them\n" : "  - all dangling images\n");
            if (!pr.GetValue(force) && !Cli.Confirm(warning)) return 0;
            var filters = Cli.Filters(pr.GetValue(filter));
            var containers = await c.Containers.PruneAsync(filters, ct).ConfigureAwait(false);
            var sb = new StringBuilder();
            if (containers.ContainersDeleted is { Count: > 0 } deleted)
                sb.Append("Deleted Containers:\n").Append(string.Concat(deleted.Select(d => d + "\n"))).Append('\n');
            var (report, reclaimed) = await ImageCommands.PruneImagesAsync(c, isAll, filters is null ? null : new(filters), ct).ConfigureAwait(false);
            sb.Append(report);
            sb.Append("Total reclaimed space: ").Append(Units.HumanSize(containers.SpaceReclaimed + reclaimed)).Append('\n');
            Cli.Out(sb.ToString());
            return 0;
        }));
        return cmd;
    }
}

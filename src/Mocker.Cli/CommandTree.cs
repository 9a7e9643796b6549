using System.CommandLine;

namespace Mocker.Cli;

/// <summary>The <c>mocker</c> command tree: docker's top-level verbs plus the <c>container</c>, <c>image</c> and <c>system</c> groups.</summary>
internal static class CommandTree
{
    public static RootCommand Build()
    {
        var root = new RootCommand("A self-sufficient runtime for containers (Docker-compatible)")
        {
            Cli.Host, Cli.LogLevel, Cli.Debug,
            ContainerCommands.Run(), ContainerCommands.Create(), ContainerCommands.Start(), ContainerCommands.Stop(),
            ContainerCommands.Kill(), ContainerCommands.Restart(), ContainerCommands.Remove(), ContainerCommands.Ps(),
            ContainerCommands.Logs(), ContainerCommands.Exec(), ContainerCommands.Attach(), ContainerCommands.Wait(),
            ContainerCommands.Rename(), ContainerCommands.Top(), ContainerCommands.Pause(), ContainerCommands.Unpause(),
            CopyCommands.Copy(), CopyCommands.Diff(),
            ImageCommands.Images(), ImageCommands.Remove(), ImageCommands.Tag(), ImageCommands.Import(), ImageCommands.Build(),
            ImageCommands.History(),
            DistributionCommands.Pull(), DistributionCommands.Push(), DistributionCommands.Save(), DistributionCommands.Load(),
            DistributionCommands.Login(), DistributionCommands.Logout(), DistributionCommands.Commit(), DistributionCommands.Export(),
            SystemCommands.Version(), SystemCommands.Info(), SystemCommands.Inspect(), EventCommands.Events(),
        };

        var container = new Command("container", "Manage containers")
        {
            ContainerCommands.Run(), ContainerCommands.Create(), ContainerCommands.Start(), ContainerCommands.Stop(),
            ContainerCommands.Kill(), ContainerCommands.Restart(), ContainerCommands.Remove(),
            ContainerCommands.Ps("ls", "list", "ps"), ContainerCommands.Logs(), ContainerCommands.Exec(), ContainerCommands.Attach(),
            ContainerCommands.Wait(), ContainerCommands.Rename(), ContainerCommands.Top(), ContainerCommands.Prune(),
            ContainerCommands.Pause(), ContainerCommands.Unpause(), CopyCommands.Copy(), CopyCommands.Diff(),
            DistributionCommands.Commit(), DistributionCommands.Export(), SystemCommands.TypedInspect("container"),
        };
        var image = new Command("image", "Manage images")
        {
            ImageCommands.Images("ls", "list"), ImageCommands.Remove("rm", "remove"), ImageCommands.Tag(), ImageCommands.Import(),
            ImageCommands.Build(), ImageCommands.History(), ImageCommands.Prune(), ImageCommands.Bootstrap(),
            DistributionCommands.Pull(), DistributionCommands.Push(), DistributionCommands.Save(), DistributionCommands.Load(),
            SystemCommands.TypedInspect("image"),
        };
        var system = new Command("system", "Manage Mocker")
        {
            SystemCommands.SystemPrune(), SystemCommands.Info(), SystemCommands.Version(), EventCommands.Events(),
        };
        root.Subcommands.Add(container);
        root.Subcommands.Add(image);
        root.Subcommands.Add(system);
        return root;
    }
}

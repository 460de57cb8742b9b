using System.CommandLine;

namespace FedGrains.Cli.Commands;

/// <summary>Every `fedgrains` command, as the executable parses them (and as the README's synopsis is checked against).</summary>
internal static class CliRoot
{
    public static RootCommand Create()
    {
        var root = new RootCommand("FedGrains: privacy-preserving federated learning on Orleans and TorchSharp.")
        {
            RunCommand.Create(),
            PrivacyCommand.Create(),
            ProvisionCommand.Create(),
            SiteCommands.Create(),
        };
        foreach (var command in ClusterCommands.Create()) root.Add(command);
        return root;
    }
}

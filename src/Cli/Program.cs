using System.CommandLine;
using FedGrains.Cli.Commands;
using FedGrains.Learning;

NativeMemoryTuning.Apply();
var root = new RootCommand("FedGrains: privacy-preserving federated learning on Orleans and TorchSharp.")
{
    RunCommand.Create(),
    PrivacyCommand.Create(),
    ProvisionCommand.Create(),
};
foreach (var command in ClusterCommands.Create()) root.Add(command);
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0) return ParseErrors.Report(parsed);
return await parsed.InvokeAsync();

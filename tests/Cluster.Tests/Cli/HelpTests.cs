using System.CommandLine;
using FedGrains.Cli.Commands;

namespace FedGrains.Cluster.Tests.Cli;

/// <summary>`--help` as a reader meets it: every option says its default, in one form.</summary>
public sealed class HelpTests
{
    [Fact]
    public void Every_option_of_every_command_states_its_default_once_in_its_own_words()
    {
        var problems = new List<string>();
        foreach (var (path, command) in Commands(CliRoot.Create(), "fedgrains"))
            foreach (var option in command.Options.Where(o => o.Name is not ("--help" or "-h" or "--version")))
            {
                // The parser's own "[default: X]" would repeat the description's "(default X)", in another form.
                // (A flag's implicit false is not shown by the parser.)
                if (option.HasDefaultValue && option.ValueType != typeof(bool)) problems.Add($"{path} {option.Name}: has a parser default, shown a second way as [default: ...]");
                int stated = CountOf(option.Description ?? "", "(default");
                if (stated != 1 && !option.Required) problems.Add($"{path} {option.Name}: its description states a default {stated} times: \"{option.Description}\"");
            }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Every_help_example_parses_and_is_shown()
    {
        var root = CliRoot.Create();
        foreach (var (command, examples) in HelpExamples.ByCommand)
        {
            var described = Commands(root, "fedgrains").Single(c => c.Path == "fedgrains " + command).Command.Description!;
            foreach (var (line, what) in examples)
            {
                Assert.Contains(line, described);
                Assert.Contains(what, described);
                var parsed = root.Parse(line["fedgrains ".Length..].Split(' '));
                Assert.True(parsed.Errors.Count == 0, $"{line}: {string.Join("; ", parsed.Errors.Select(e => e.Message))}");
            }
        }
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "").Length) / part.Length;

    private static IEnumerable<(string Path, Command Command)> Commands(Command command, string path) =>
        new[] { (path, command) }.Concat(command.Subcommands.SelectMany(s => Commands(s, $"{path} {s.Name}")));
}

using System.CommandLine;
using System.Text.RegularExpressions;
using FedGrains.Cli.Commands;

namespace FedGrains.Cluster.Tests.Cli;

/// <summary>The README's CLI synopsis against the parser: every flag it shows exists, and every flag a command takes is shown.</summary>
public sealed partial class ReadmeSynopsisTests
{
    [Fact]
    public void The_readme_synopsis_names_exactly_the_flags_each_command_takes()
    {
        var readme = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "../../../../../README.md"));
        var block = Regex.Match(readme, @"## The CLI\s+```bash\n(.*?)```", RegexOptions.Singleline).Groups[1].Value;
        Assert.NotEmpty(block);
        var shown = new Dictionary<string, HashSet<string>>();
        var jobFlags = new HashSet<string>();
        var clusterFlags = new HashSet<string>();
        HashSet<string>? current = null;
        foreach (var line in block.Split('\n'))
        {
            if (line.StartsWith("fedgrains "))
            {
                var words = line["fedgrains ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).TakeWhile(w => Regex.IsMatch(w, "^[a-z]+$")).ToArray();
                current = shown.TryGetValue(string.Join(' ', words), out var set) ? set : shown[string.Join(' ', words)] = [];
                if (line.Contains("[JOB FLAGS]")) current.Add("JOB FLAGS");
            }
            else if (line.TrimStart().StartsWith("JOB FLAGS:")) current = jobFlags;
            else if (line.TrimStart().StartsWith("cluster commands also take")) { foreach (var f in Flags(line)) clusterFlags.Add(f); continue; }
            foreach (var flag in Flags(line)) current!.Add(flag);
        }

        var problems = new List<string>();
        foreach (var (path, options) in Leaves(CliRoot.Create(), "", []))
        {
            var takes = options.Where(o => o.Name is not ("--help" or "-h" or "--version") && !o.Hidden).Select(o => o.Name).ToHashSet();
            if (!shown.TryGetValue(path, out var flags)) { problems.Add($"`fedgrains {path}` is not in the README's synopsis"); continue; }
            var all = new HashSet<string>(flags);
            if (flags.Remove("JOB FLAGS")) { all.Remove("JOB FLAGS"); all.UnionWith(jobFlags); }
            if (takes.Contains("--cluster")) all.UnionWith(clusterFlags);
            foreach (var missing in takes.Except(all).Order()) problems.Add($"`fedgrains {path}` takes {missing}, which the README does not show");
            foreach (var extra in all.Except(takes).Order()) problems.Add($"the README shows {extra} for `fedgrains {path}`, which does not take it");
        }
        foreach (var path in shown.Keys.Except(Leaves(CliRoot.Create(), "", []).Select(l => l.Path)))
            problems.Add($"the README shows `fedgrains {path}`, which is not a command");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static IEnumerable<string> Flags(string line) => FlagPattern().Matches(line).Select(m => m.Value);

    [GeneratedRegex(@"(?<![\w-])--[a-z][a-z0-9-]*")]
    private static partial Regex FlagPattern();

    /// <summary>Each command without subcommands, with its options and those its parents pass down (recursive ones).</summary>
    private static IEnumerable<(string Path, IReadOnlyList<Option> Options)> Leaves(Command command, string path, IReadOnlyList<Option> inherited)
    {
        if (command.Subcommands.Count == 0) { yield return (path, [.. inherited, .. command.Options]); yield break; }
        IReadOnlyList<Option> passed = [.. inherited, .. command.Options.Where(o => o.Recursive)];
        foreach (var sub in command.Subcommands)
            foreach (var leaf in Leaves(sub, path.Length == 0 ? sub.Name : $"{path} {sub.Name}", passed)) yield return leaf;
    }
}

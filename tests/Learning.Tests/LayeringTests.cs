using System.Text.RegularExpressions;

namespace FedGrains.Learning.Tests;

/// <summary>src/Learning's folders depend on each other in the order docs/architecture.md draws, never in a cycle.</summary>
public sealed partial class LayeringTests
{
    /// <summary>Top to bottom, as in docs/architecture.md.</summary>
    private static readonly string[] Order =
        ["Gateways", "Federation", "Jobs", "Audit", "Training", "Datasets", "Features", "Data", "Models", "Aggregation", "SecureAggregation", "Codecs", "Privacy"];

    private static string Root([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", "src", "Learning"));

    [Fact]
    public void Every_folder_uses_only_folders_drawn_below_it()
    {
        var root = Root();
        var folders = Directory.GetDirectories(root).Select(Path.GetFileName).Where(f => f is not ("bin" or "obj")).ToArray();
        Assert.Equal(Order.Order(), folders.Order()); // a new folder needs its place in the drawing
        var violations = new List<string>();
        foreach (var folder in Order)
        {
            int level = Array.IndexOf(Order, folder);
            foreach (var file in Directory.GetFiles(Path.Combine(root, folder), "*.cs"))
            {
                var code = Comment().Replace(File.ReadAllText(file), "");
                foreach (var other in Order.Where(o => Array.IndexOf(Order, o) < level))
                    if (Regex.IsMatch(code, $@"using FedGrains\.Learning\.{other};|(?<![\w.]){other}\.[A-Z]"))
                        violations.Add($"{folder}/{Path.GetFileName(file)} uses {other}, which is drawn above it");
            }
        }
        Assert.Empty(violations);
    }

    [Fact]
    public void The_architecture_document_draws_the_same_order()
    {
        var doc = File.ReadAllText(Path.Combine(Root(), "..", "..", "docs", "architecture.md"));
        var drawn = Regex.Matches(doc, @"^(\w+) {2,}", RegexOptions.Multiline).Select(m => m.Groups[1].Value).Where(Order.Contains).ToArray();
        Assert.Equal(Order, drawn);
    }

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex Comment();
}

namespace FedGrains.Cluster.Tests.Cli.BadInput;

/// <summary>
/// One careless or hostile input to the `fedgrains` CLI: the arguments (with {dir} standing for the case's own empty
/// folder), the files to lay out in that folder first, and what the refusal must say. <see cref="Secret"/> is a
/// string planted in a file (e.g. a patient's value in a site's CSV) that must never appear in the output.
/// </summary>
public sealed record BadInput(string Name, string[] Args, string[] MustSay, int ExitCode = 2, string? Secret = null)
{
    public Dictionary<string, byte[]> Files { get; init; } = [];

    /// <summary>The same case with a text file laid out at <paramref name="path"/> (relative to {dir}).</summary>
    public BadInput With(string path, string text) => With(path, System.Text.Encoding.UTF8.GetBytes(text));

    public BadInput With(string path, byte[] bytes) => this with { Files = new(Files) { [path] = bytes } };

    public override string ToString() => Name;
}

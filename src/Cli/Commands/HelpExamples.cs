namespace FedGrains.Cli.Commands;

/// <summary>Examples shown in a command's --help (each one is parsed by a test, so none goes stale).</summary>
internal static class HelpExamples
{
    public static readonly IReadOnlyDictionary<string, (string Command, string What)[]> ByCommand = new Dictionary<string, (string, string)[]>
    {
        ["run"] =
        [
            ("fedgrains run", "the default job: Fashion-MNIST over 10 gateways, each at epsilon <= 3"),
            ("fedgrains run --dataset synthetic --rounds 5 --gateways 4", "a quick job on generated data (no download)"),
            ("fedgrains run --features scattering --model mlp --hidden none --batch-size 1024 --learning-rate 4 --local-epochs 2", "ScatterNet + linear, about 88%"),
            ("fedgrains run --spec docs/examples/personal-heads.json --output personal", "label-skewed sites with their own output layer"),
            ("fedgrains run --dataset synthetic --json", "one JSON line per phase and round, for scripts"),
        ],
        ["submit"] =
        [
            ("fedgrains submit --spec job.json --cluster redis://redis:6379 --credential alice:SECRET", "a job to a running cluster"),
        ],
        ["privacy epsilon"] =
        [
            ("fedgrains privacy epsilon --sample-rate 0.0427 --noise-multiplier 1.1 --steps 480 --delta 1e-5", "epsilon of a default gateway's run"),
        ],
    };

    /// <summary><paramref name="description"/> followed by the command's examples.</summary>
    public static string Describe(string command, string description) =>
        ByCommand.TryGetValue(command, out var examples)
            ? description + "\n\nExamples:\n" + string.Join("\n", examples.Select(e => $"  {e.Command}\n      {e.What}"))
            : description;
}

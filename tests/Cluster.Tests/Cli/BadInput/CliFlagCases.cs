namespace FedGrains.Cluster.Tests.Cli.BadInput;

/// <summary>Flags the parser or the command must refuse before anything runs.</summary>
internal static class CliFlagCases
{
    public static IEnumerable<BadInput> All() =>
    [
        new("privacy epsilon with a delta that is not a number", ["privacy", "epsilon", "--sample-rate", "0.01", "--noise-multiplier", "1", "--steps", "10", "--delta", "abc"], ["--delta", "number"]),
        new("run with rounds that are not a number", ["run", "--rounds", "x", "--output", "{dir}/out"], ["--rounds"]),
        new("run with an unknown flag", ["run", "--roundz", "3", "--output", "{dir}/out"], ["--roundz"]),
        new("privacy noise for a hundred million steps (used to take minutes)", ["privacy", "noise", "--sample-rate", "0.04", "--steps", "100000000", "--delta", "1e-5", "--target-epsilon", "3"], ["--steps"]),
        new("privacy noise for epsilon 1e300 (used to hang)", ["privacy", "noise", "--sample-rate", "0.04", "--steps", "1000", "--delta", "1e-5", "--target-epsilon", "1e300"], ["--target-epsilon"]),
        new("cancel a job named ..", ["cancel", ".."], ["job"]),
        new("site approve without the site", ["site", "approve", "job-1"], ["--site"]),
        new("site reject without a reason", ["site", "reject", "job-1", "--site", "ward-a"], ["--reason"]),
        new("site approve with a spec digest that is not hex", ["site", "approve", "job-1", "--site", "ward-a", "--spec", "not-a-digest"], ["--spec", "hex"]),
        new("site requests for a site named with a slash", ["site", "requests", "--site", "../ward"], ["--site"]),
        new("privacy epsilon with a sample rate above 1", ["privacy", "epsilon", "--sample-rate", "2", "--noise-multiplier", "1", "--steps", "10", "--delta", "1e-5"], ["--sample-rate"]),
    ];
}

using System.CommandLine;
using System.Globalization;
using FedGrains.Learning.Audit;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;

namespace FedGrains.Cli.Commands;

/// <summary>`fedgrains privacy audit`: an empirical lower bound on epsilon from one DP-SGD run with canaries.</summary>
internal static class PrivacyAuditCommand
{
    public static Command Create()
    {
        var epsilon = new Option<double?>("--epsilon") { Description = "Claimed epsilon: the noise is calibrated to it (default 3)." };
        var delta = new Option<double?>("--delta") { Description = "delta (default 1e-5)." };
        var noiseLevel = new Option<string?>("--noise-level") { Description = "sample (DP-SGD) or none (no privacy: the audit should catch it) (default sample)." };
        noiseLevel.AcceptOnlyFromAmong("sample", "none");
        var batch = new Option<int?>("--batch-size") { Description = "Expected batch size (default 256)." };
        var examples = new Option<int?>("--examples") { Description = "Ordinary training examples next to the canaries (default 6000, one default gateway)." };
        var steps = new Option<int?>("--steps") { Description = "DP-SGD steps (default 480, the default job's per gateway)." };
        var canaries = new Option<int?>("--canaries") { Description = "Canaries, each included with probability 1/2 (default 1000)." };
        var confidence = new Option<double?>("--confidence") { Description = "Confidence of the lower bound (default 0.95)." };
        var accountant = new Option<string?>("--accountant") { Description = "Accountant that calibrates the noise: prv or rdp (default prv)." };
        accountant.AcceptOnlyFromAmong([.. PrivacyAccountants.Names]);
        var seed = new Option<long?>("--seed") { Description = "Seed of the data, canaries and sampling (default 1)." };
        var command = new Command("audit", "Empirical privacy audit with one training run (Steinke, Nasr, Jagielski 2023): canaries in, one DP-SGD run, membership guesses; prints a lower bound on epsilon alone on the last line.")
        {
            epsilon, delta, noiseLevel, batch, examples, steps, canaries, confidence, accountant, seed,
        };
        command.SetAction(r =>
        {
            var (e, d, level, b, n, t, m) = (r.GetValue(epsilon) ?? 3, r.GetValue(delta) ?? 1e-5, r.GetValue(noiseLevel) ?? "sample", r.GetValue(batch) ?? 256,
                r.GetValue(examples) ?? 6000, r.GetValue(steps) ?? 480, r.GetValue(canaries) ?? 1000);
            var problems = new List<string>();
            if (!(e > 0)) problems.Add("--epsilon must be > 0.");
            if (d is <= 0 or >= 1) problems.Add("--delta must be in (0, 1).");
            if (b < 1 || n < b) problems.Add("--batch-size must be >= 1 and at most --examples.");
            if (t < 1 || m < 20) problems.Add("--steps must be >= 1 and --canaries >= 20.");
            if (problems.Count > 0)
            {
                Console.Error.WriteLine("error: " + string.Join(" ", problems));
                return 2;
            }
            double q = (double)b / n;
            bool none = level == "none";
            double sigma = none ? 0 : PrivacyAccountants.Get(r.GetValue(accountant) ?? PrivacyAccountants.Default).NoiseMultiplierFor(e, q, t, d);
            var settings = new TrainerSettings(0.5, 1.0, sigma, q, t, none ? NoiseLevel.None : NoiseLevel.Sample);
            var result = PrivacyAudit.Run(settings, d, m, n, r.GetValue(seed) ?? 1, r.GetValue(confidence) ?? 0.95);
            string claimed = none ? "none (no noise)" : e.ToString("G4", CultureInfo.InvariantCulture);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"audited DP-SGD: q={q:G4}, sigma={sigma:G4}, {t} steps, clipping norm 1; claimed epsilon {claimed} at delta {d}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"canaries {result.Canaries} ({result.Included} included); {result.Correct} of {result.Guesses} membership guesses right; empirical epsilon lower bound at {result.Confidence:P0} confidence:"));
            Console.WriteLine(result.EpsilonLowerBound.ToString("F3", CultureInfo.InvariantCulture));
            return !none && result.EpsilonLowerBound > e ? 1 : 0; // a DP run that leaks more than it claims is a failure
        });
        return command;
    }
}

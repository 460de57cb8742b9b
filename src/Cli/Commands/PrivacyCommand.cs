using System.CommandLine;
using System.Globalization;
using FedGrains.Learning.Privacy;

namespace FedGrains.Cli.Commands;

/// <summary>`fedgrains privacy epsilon|noise`: the accountant on the command line; the answer alone on the last line, in full (it round-trips).</summary>
internal static class PrivacyCommand
{
    public static Command Create()
    {
        var sampleRate = Probability("--sample-rate", "Poisson sampling rate q per step (expected batch size / examples).");
        var steps = new Option<long>("--steps") { Description = "Number of DP-SGD steps (all rounds).", Required = true };
        Check(steps, v => v < 1 ? "--steps must be >= 1." : null);
        var delta = Probability("--delta", "Target delta, e.g. 1e-5 (below 1/examples).", exclusive: true);
        var noise = new Option<double>("--noise-multiplier") { Description = "sigma: noise std / clipping norm.", Required = true };
        Check(noise, v => !(v > 0) || double.IsInfinity(v) ? "--noise-multiplier must be a finite number > 0." : null);
        var target = new Option<double>("--target-epsilon") { Description = "Epsilon to reach.", Required = true };
        Check(target, v => !(v > 0) || v > PrivacyAccountants.MaxTargetEpsilon ? $"--target-epsilon must be in (0, {PrivacyAccountants.MaxTargetEpsilon}]." : null);

        var accountant = new Option<string>("--accountant")
        {
            Description = "prv (numerical composition, Gopi et al. 2021; tighter) or rdp (Renyi DP with the Balle et al. 2020 conversion) (default prv).",
        };
        accountant.AcceptOnlyFromAmong([.. PrivacyAccountants.Names]);

        var epsilon = new Command("epsilon", HelpExamples.Describe("privacy epsilon", "Epsilon of the Poisson-subsampled Gaussian mechanism."))
        {
            sampleRate, noise, steps, delta, accountant,
        };
        epsilon.SetAction(r =>
        {
            var (q, s, n, d, a) = (r.GetValue(sampleRate), r.GetValue(noise), r.GetValue(steps), r.GetValue(delta), r.GetValue(accountant) ?? PrivacyAccountants.Default);
            Console.WriteLine($"accountant: {a}; q={q}, sigma={s}, steps={n}, delta={d}");
            Console.WriteLine(PrivacyAccountants.Get(a).Epsilon(q, s, n, d).ToString("R", CultureInfo.InvariantCulture));
            return 0;
        });

        var noiseFor = new Command("noise", "Smallest noise multiplier that keeps epsilon at or below a target.")
        {
            sampleRate, steps, delta, target, accountant,
        };
        noiseFor.SetAction(r =>
        {
            var (q, n, d, e, a) = (r.GetValue(sampleRate), r.GetValue(steps), r.GetValue(delta), r.GetValue(target), r.GetValue(accountant) ?? PrivacyAccountants.Default);
            if (n > PrivacyAccountants.MaxCalibratedSteps)
                return ParseErrors.Refuse($"--steps {n} is more than the {PrivacyAccountants.MaxCalibratedSteps} steps noise is calibrated for.");
            Console.WriteLine($"accountant: {a}; q={q}, steps={n}, delta={d}, target epsilon={e}");
            Console.WriteLine(PrivacyAccountants.Get(a).NoiseMultiplierFor(e, q, n, d).ToString("R", CultureInfo.InvariantCulture));
            return 0;
        });

        return new Command("privacy", "Privacy accounting tools.") { epsilon, noiseFor, PrivacyReportCommand.Create(), PrivacyAuditCommand.Create() };
    }

    private static Option<double> Probability(string name, string description, bool exclusive = false)
    {
        var option = new Option<double>(name) { Description = description, Required = true };
        Check(option, v => (exclusive ? v is > 0 and < 1 : v is > 0 and <= 1)
            ? null : $"{name} must be in {(exclusive ? "(0, 1)" : "(0, 1]")}; got {v.ToString(CultureInfo.InvariantCulture)}.");
        return option;
    }

    /// <summary>Adds a range check that runs only on a value that parsed (a token that is not a number is the parser's error).</summary>
    private static void Check<T>(Option<T> option, Func<T, string?> problem) where T : struct
    {
        option.Validators.Add(r =>
        {
            if (r.Tokens.Count == 0 || r.Tokens.Any(t => !TryParse<T>(t.Value))) return;
            if (problem(r.GetValueOrDefault<T>()) is { } message) r.AddError(message);
        });
    }

    private static bool TryParse<T>(string token) => typeof(T) == typeof(double)
        ? double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
        : long.TryParse(token, NumberStyles.Integer, CultureInfo.InvariantCulture, out _);
}

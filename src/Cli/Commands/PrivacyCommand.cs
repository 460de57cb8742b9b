using System.CommandLine;
using System.Globalization;
using FedGrains.Learning.Privacy;

namespace FedGrains.Cli.Commands;

/// <summary>`fedgrains privacy epsilon|noise`: the accountant on the command line; the answer alone on the last line.</summary>
internal static class PrivacyCommand
{
    public static Command Create()
    {
        var sampleRate = Probability("--sample-rate", "Poisson sampling rate q per step (expected batch size / examples).");
        var steps = new Option<long>("--steps") { Description = "Number of DP-SGD steps (all rounds).", Required = true };
        steps.Validators.Add(r => { if (r.GetValueOrDefault<long>() < 1) r.AddError("--steps must be >= 1."); });
        var delta = Probability("--delta", "Target delta, e.g. 1e-5 (below 1/examples).", exclusive: true);
        var noise = new Option<double>("--noise-multiplier") { Description = "sigma: noise std / clipping norm.", Required = true };
        noise.Validators.Add(r => { if (!(r.GetValueOrDefault<double>() > 0)) r.AddError("--noise-multiplier must be > 0."); });
        var target = new Option<double>("--target-epsilon") { Description = "Epsilon to reach.", Required = true };
        target.Validators.Add(r => { if (!(r.GetValueOrDefault<double>() > 0)) r.AddError("--target-epsilon must be > 0."); });

        var accountant = new Option<string>("--accountant")
        {
            Description = "prv (numerical composition, Gopi et al. 2021; tighter) or rdp (Renyi DP with the Balle et al. 2020 conversion) (default prv).",
            DefaultValueFactory = _ => PrivacyAccountants.Default,
        };
        accountant.AcceptOnlyFromAmong([.. PrivacyAccountants.Names]);

        var epsilon = new Command("epsilon", "Epsilon of the Poisson-subsampled Gaussian mechanism.")
        {
            sampleRate, noise, steps, delta, accountant,
        };
        epsilon.SetAction(r =>
        {
            var (q, s, n, d, a) = (r.GetValue(sampleRate), r.GetValue(noise), r.GetValue(steps), r.GetValue(delta), r.GetValue(accountant)!);
            Console.WriteLine($"accountant: {a}; q={q}, sigma={s}, steps={n}, delta={d}");
            Console.WriteLine(PrivacyAccountants.Get(a).Epsilon(q, s, n, d).ToString("G6", CultureInfo.InvariantCulture));
            return 0;
        });

        var noiseFor = new Command("noise", "Smallest noise multiplier that keeps epsilon at or below a target.")
        {
            sampleRate, steps, delta, target, accountant,
        };
        noiseFor.SetAction(r =>
        {
            var (q, n, d, e, a) = (r.GetValue(sampleRate), r.GetValue(steps), r.GetValue(delta), r.GetValue(target), r.GetValue(accountant)!);
            Console.WriteLine($"accountant: {a}; q={q}, steps={n}, delta={d}, target epsilon={e}");
            Console.WriteLine(PrivacyAccountants.Get(a).NoiseMultiplierFor(e, q, n, d).ToString("G6", CultureInfo.InvariantCulture));
            return 0;
        });

        return new Command("privacy", "Privacy accounting tools.") { epsilon, noiseFor, PrivacyReportCommand.Create(), PrivacyAuditCommand.Create() };
    }

    private static Option<double> Probability(string name, string description, bool exclusive = false)
    {
        var option = new Option<double>(name) { Description = description, Required = true };
        option.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<double>();
            if (exclusive ? v is <= 0 or >= 1 : v is <= 0 or > 1)
                r.AddError($"{name} must be in {(exclusive ? "(0, 1)" : "(0, 1]")}; got {v.ToString(CultureInfo.InvariantCulture)}.");
        });
        return option;
    }
}

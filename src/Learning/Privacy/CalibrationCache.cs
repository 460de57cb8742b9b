using System.Collections.Concurrent;

namespace FedGrains.Learning.Privacy;

/// <summary>
/// Noise calibrations already made in this process, by their exact inputs. A calibration is a pure function of them
/// and costs about a second with the PRV accountant, and a job asks it of every gateway at submission and again at
/// join: ten gateways of one size are one calibration, not twenty (the ~15 s before a job's first round).
/// </summary>
public static class CalibrationCache
{
    /// <summary>Beyond this many distinct calibrations the cache starts over (each entry is a few dozen bytes).</summary>
    public const int Capacity = 4096;

    private static readonly ConcurrentDictionary<string, Lazy<double>> Known = new();

    /// <summary><see cref="IPrivacyAccountant.NoiseMultiplierFor"/>, computed once per distinct input.</summary>
    public static double NoiseMultiplierFor(IPrivacyAccountant accountant, double targetEpsilon, double sampleRate, long steps, double delta,
        IReadOnlyList<PrivacyCharge> alsoSpent)
    {
        // "R" round-trips every double exactly: equal keys are equal inputs.
        var key = string.Join('|', [accountant.Name, targetEpsilon.ToString("R"), sampleRate.ToString("R"), steps.ToString(), delta.ToString("R"),
            .. alsoSpent.Select(c => $"{c.Mechanism}:{c.SampleRate:R}:{c.NoiseMultiplier:R}:{c.Steps}")]);
        if (Known.Count >= Capacity) Known.Clear();
        var entry = Known.GetOrAdd(key, _ => new Lazy<double>(() => accountant.NoiseMultiplierFor(targetEpsilon, sampleRate, steps, delta, alsoSpent)));
        try { return entry.Value; }
        catch
        {
            Known.TryRemove(new KeyValuePair<string, Lazy<double>>(key, entry)); // a refusal (target out of reach) is not kept
            throw;
        }
    }
}

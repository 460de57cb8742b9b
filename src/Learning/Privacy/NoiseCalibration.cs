namespace FedGrains.Learning.Privacy;

/// <summary>The checks and the bisection both accountants' noise calibration share.</summary>
internal static class NoiseCalibration
{
    /// <summary>Refuses a question no noise can answer, with the setting that is wrong.</summary>
    public static void Check(IPrivacyAccountant accountant, double targetEpsilon, long steps, double delta, IReadOnlyList<PrivacyCharge> alsoSpent)
    {
        if (!(targetEpsilon > 0) || targetEpsilon > PrivacyAccountants.MaxTargetEpsilon)
            throw new ArgumentException($"target epsilon {targetEpsilon} must be in (0, {PrivacyAccountants.MaxTargetEpsilon}], e.g. 3; for no privacy at all use noise level \"none\".");
        if (steps <= 0) throw new ArgumentException($"steps {steps} must be > 0.");
        if (steps > PrivacyAccountants.MaxCalibratedSteps)
            throw new ArgumentException($"{steps} DP steps are more than the {PrivacyAccountants.MaxCalibratedSteps} noise is calibrated for; use fewer rounds, local epochs or a smaller sample rate (batch_size), or give noise_multiplier to skip calibration.");
        if (alsoSpent.Count > 0 && accountant.Epsilon(alsoSpent, delta) >= targetEpsilon)
            throw new ArgumentException($"the other releases alone ({EpsilonMemo.Key(alsoSpent)}) already reach epsilon {targetEpsilon}; give them more noise or raise the target.");
    }

    /// <summary>
    /// Doubles <paramref name="hi"/> until <paramref name="epsilonOf"/> meets the target, then bisects [lo, hi] to a
    /// relative <paramref name="tolerance"/>; returns the upper end, which meets the target.
    /// </summary>
    public static double Bisect(Func<double, double> epsilonOf, double targetEpsilon, double lo, double hi, double tolerance, string setting)
    {
        while (epsilonOf(hi) > targetEpsilon)
        {
            lo = hi;
            hi *= 2;
            if (hi > 1e6) throw new ArgumentException($"no noise multiplier up to 1e6 reaches epsilon {targetEpsilon} with {setting}.");
        }
        while (hi - lo > tolerance * hi)
        {
            double mid = (lo + hi) / 2;
            if (epsilonOf(mid) > targetEpsilon) lo = mid; else hi = mid;
        }
        return hi;
    }
}

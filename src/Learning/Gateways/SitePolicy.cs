using System.Globalization;

namespace FedGrains.Learning.Gateways;

/// <summary>
/// What a data site allows on its data, set by the site on its own silo (never by a job spec): which noise levels,
/// how much epsilon one job may plan, how little noise and how large a sample rate DP-SGD may use, which models of
/// what size, and optionally who may submit. Unset limits do not restrict. <see cref="LifetimeEpsilon"/> is enforced
/// by the site's ledger, not here.
/// </summary>
public sealed record SitePolicy
{
    /// <summary>Noise levels the site accepts; default only "sample" (per-example DP-SGD). "none" and "batch" claim no epsilon.</summary>
    public IReadOnlyList<string> AllowedNoiseLevels { get; init; } = ["sample"];

    /// <summary>The most epsilon a gateway may plan on the site's data for one whole job (at the job's delta).</summary>
    public double? MaxEpsilonPerJob { get; init; }

    /// <summary>The site's lifetime epsilon across all jobs, enforced by its ledger together with the operator's budget (the stricter wins).</summary>
    public double? LifetimeEpsilon { get; init; }

    /// <summary>
    /// When set, the site trains only for jobs whose deltas reach the federation inside a secure sum carrying
    /// distributed noise (aggregation.secure with noise_multiplier > 0), and only when the site-level epsilon of those
    /// sums over the whole job (<see cref="PlannedWork.SecureSumEpsilon"/>) is at most this: what the federation
    /// learns about the site's whole data, not one example.
    /// </summary>
    public double? MaxSecureSumEpsilonPerJob { get; init; }

    /// <summary>The smallest DP-SGD noise multiplier the site accepts.</summary>
    public double? MinNoiseMultiplier { get; init; }

    /// <summary>The largest DP-SGD sample rate (batch size over the site's examples) the site accepts.</summary>
    public double? MaxSampleRate { get; init; }

    /// <summary>Model kinds ("mlp", "cnn", "text") the site trains; null: any.</summary>
    public IReadOnlyList<string>? AllowedModelKinds { get; init; }

    /// <summary>The most parameters a job's model may have.</summary>
    public long? MaxParameters { get; init; }

    /// <summary>Client ids allowed to submit jobs on the site's data; null: anyone the cluster admits.</summary>
    public IReadOnlyList<string>? AllowedSubmitters { get; init; }

    /// <summary>Where the policy's settings come from, named in every refusal so the reader knows what to change.</summary>
    public string SettingPrefix { get; init; } = "FedGrains:Site:Policy";

    /// <summary>Every rule <paramref name="work"/> breaks, and the submitter rule (see <see cref="CheckSubmitter"/>): empty when the site accepts the job.</summary>
    public IReadOnlyList<string> Check(string site, string jobId, PlannedWork work, string? submitter) =>
        [.. CheckSubmitter(site, jobId, submitter) is { } refused ? [refused] : Array.Empty<string>(), .. Check(site, jobId, work)];

    /// <summary>Every rule of the policy <paramref name="work"/> breaks, each as a sentence naming the site, the job, the rule and the numbers.</summary>
    public IReadOnlyList<string> Check(string site, string jobId, PlannedWork work)
    {
        var refusals = new List<string>();
        void Refuse(string why, string setting) => refusals.Add($"site {site} refuses job {jobId}: {why} ({SettingPrefix}:{setting}).");

        if (!AllowedNoiseLevels.Contains(work.NoiseLevel, StringComparer.Ordinal))
            Refuse($"noise level '{work.NoiseLevel}' is not one the site allows ({string.Join(", ", AllowedNoiseLevels)})", "AllowedNoiseLevels");
        if (MaxEpsilonPerJob is { } maxEpsilon && !(work.Epsilon <= maxEpsilon * (1 + 1e-9)))
            Refuse(double.IsPositiveInfinity(work.Epsilon)
                ? $"the job claims no epsilon (noise level '{work.NoiseLevel}' or no noise), and the site's maximum per job is {N(maxEpsilon)}"
                : $"planned epsilon {N(work.Epsilon)} for the whole job (delta {N(work.Delta)}) is above the site's maximum {N(maxEpsilon)} per job", "MaxEpsilonPerJob");
        if (MaxSecureSumEpsilonPerJob is { } maxSiteLevel && !(work.SecureSumEpsilon <= maxSiteLevel * (1 + 1e-9)))
            Refuse(work.SecureSumEpsilon is { } siteLevel
                ? $"its secure sums' site-level epsilon {N(siteLevel)} over the whole job (delta {N(work.Delta)}) is above the site's maximum {N(maxSiteLevel)} per job; raise aggregation.secure.noise_multiplier or lower the rounds"
                : work.Secure
                    ? $"its secure sums carry no distributed noise, so they claim no site-level epsilon, and the site's maximum per job is {N(maxSiteLevel)}; set aggregation.secure.noise_multiplier > 0"
                    : $"the federation would see each of its deltas, and the site trains only under secure aggregation with distributed noise (at most site-level epsilon {N(maxSiteLevel)} per job); enable aggregation.secure with a noise_multiplier > 0",
                "MaxSecureSumEpsilonPerJob");
        if (MinNoiseMultiplier is { } minSigma && !(work.NoiseMultiplier >= minSigma))
            Refuse($"noise multiplier {N(work.NoiseMultiplier)} is below the site's minimum {N(minSigma)}", "MinNoiseMultiplier");
        if (MaxSampleRate is { } maxQ && !(work.SampleRate <= maxQ))
            Refuse($"sample rate {N(work.SampleRate)} is above the site's maximum {N(maxQ)}", "MaxSampleRate");
        if (AllowedModelKinds is { } kinds && !kinds.Contains(work.ModelKind, StringComparer.OrdinalIgnoreCase))
            Refuse($"model kind '{work.ModelKind}' is not one the site allows ({string.Join(", ", kinds)})", "AllowedModelKinds");
        if (MaxParameters is { } maxParameters && work.Parameters > maxParameters)
            Refuse(string.Create(CultureInfo.InvariantCulture, $"the model has {work.Parameters:N0} parameters, above the site's maximum {maxParameters:N0}"), "MaxParameters");
        return refusals;
    }

    /// <summary>
    /// Null when anyone may submit or <paramref name="submitter"/> (the authenticated client id) is listed; else why
    /// not. An unknown submitter is refused when a list is set.
    /// </summary>
    public string? CheckSubmitter(string site, string jobId, string? submitter)
    {
        if (AllowedSubmitters is not { } allowed || (submitter is not null && allowed.Contains(submitter, StringComparer.Ordinal))) return null;
        var who = submitter is null ? "the submitter is not known (an unauthenticated call)" : $"submitter '{submitter}' is not one of the site's allowed submitters";
        return $"site {site} refuses job {jobId}: {who} ({SettingPrefix}:AllowedSubmitters).";
    }

    /// <summary>A number as the accountant and the settings give it, with at least one decimal so limits read as numbers ("1.0", not "1").</summary>
    private static string N(double value)
    {
        var text = value.ToString("G6", CultureInfo.InvariantCulture);
        return text.Contains('.') || text.Contains('E') || !double.IsFinite(value) ? text : text + ".0";
    }
}

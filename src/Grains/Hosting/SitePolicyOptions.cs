using FedGrains.Learning.Gateways;
using FedGrains.Learning.Jobs;

namespace FedGrains.Grains.Hosting;

/// <summary>
/// The data site's own policy (configuration section "FedGrains:Site:Policy" on the site's silo). Read from the
/// silo's configuration only: nothing in a job spec or a call can change it. Without this section the silo applies
/// no policy; with it, unset limits do not restrict except the noise levels (default only "sample").
/// </summary>
public sealed class SitePolicyOptions
{
    public const string Section = SiteOptions.Section + ":Policy";

    /// <summary>Noise levels the site trains with: "sample", "batch", "none". Default (unset): only "sample".</summary>
    public List<string>? AllowedNoiseLevels { get; set; }

    /// <summary>The most epsilon a gateway may plan on this site's data for one whole job (> 0).</summary>
    public double? MaxEpsilonPerJob { get; set; }

    /// <summary>The site's lifetime epsilon across jobs (> 0); its ledger enforces the stricter of this and FedGrains:Privacy's budget for the site.</summary>
    public double? LifetimeEpsilon { get; set; }

    /// <summary>
    /// When set (> 0), only jobs under secure aggregation with distributed noise, whose sums' site-level epsilon over
    /// the whole job is at most this, train on this site's data.
    /// </summary>
    public double? MaxSecureSumEpsilonPerJob { get; set; }

    /// <summary>
    /// The site-level epsilon the secure sums of all jobs may reach on this site's data (> 0), composed in RDP at the
    /// site's lifetime delta; enforced by the site's ledger at admission and at every spend.
    /// </summary>
    public double? LifetimeSecureSumEpsilon { get; set; }

    /// <summary>The smallest DP-SGD noise multiplier accepted (>= 0).</summary>
    public double? MinNoiseMultiplier { get; set; }

    /// <summary>The largest DP-SGD sample rate accepted, in (0, 1].</summary>
    public double? MaxSampleRate { get; set; }

    /// <summary>Model kinds trained here: "mlp", "cnn", "text". Unset: any.</summary>
    public List<string>? AllowedModelKinds { get; set; }

    /// <summary>The most parameters a job's model may have (>= 1).</summary>
    public long? MaxParameters { get; set; }

    /// <summary>Client ids (the authenticated key ids) allowed to submit jobs on this site's data. Unset: anyone the cluster admits.</summary>
    public List<string>? AllowedSubmitters { get; set; }

    /// <summary>
    /// Whether the site's admin approves each job before its gateways train on the site's data (`fedgrains site
    /// approve`). A job inside the rest of the policy is admitted and waits; one outside it is refused as ever.
    /// </summary>
    public bool RequireApproval { get; set; }

    public SitePolicy ToPolicy() => new()
    {
        AllowedNoiseLevels = AllowedNoiseLevels is { Count: > 0 } levels ? [.. levels] : ["sample"],
        MaxEpsilonPerJob = MaxEpsilonPerJob,
        LifetimeEpsilon = LifetimeEpsilon,
        MaxSecureSumEpsilonPerJob = MaxSecureSumEpsilonPerJob,
        MinNoiseMultiplier = MinNoiseMultiplier,
        MaxSampleRate = MaxSampleRate,
        AllowedModelKinds = AllowedModelKinds is null ? null : [.. AllowedModelKinds],
        MaxParameters = MaxParameters,
        AllowedSubmitters = AllowedSubmitters is null ? null : [.. AllowedSubmitters],
        SettingPrefix = Section,
    };

    public IEnumerable<string> Problems()
    {
        foreach (var level in AllowedNoiseLevels ?? [])
            if (!JobSpecValidator.TryParseNoiseLevel(level, out _)) yield return $"{Section}:AllowedNoiseLevels: '{level}' is not a noise level; use sample, batch or none (lower case).";
        if (MaxEpsilonPerJob is { } e && !(e > 0 && double.IsFinite(e))) yield return $"{Section}:MaxEpsilonPerJob={e} must be a number > 0 (or left out for no limit).";
        if (LifetimeEpsilon is { } l && !(l > 0 && double.IsFinite(l))) yield return $"{Section}:LifetimeEpsilon={l} must be a number > 0 (or left out for no limit).";
        if (MaxSecureSumEpsilonPerJob is { } s && !(s > 0 && double.IsFinite(s))) yield return $"{Section}:MaxSecureSumEpsilonPerJob={s} must be a number > 0 (or left out for no limit).";
        if (LifetimeSecureSumEpsilon is { } ls && !(ls > 0 && double.IsFinite(ls))) yield return $"{Section}:LifetimeSecureSumEpsilon={ls} must be a number > 0 (or left out for no limit).";
        if (MinNoiseMultiplier is { } z && !(z >= 0 && double.IsFinite(z))) yield return $"{Section}:MinNoiseMultiplier={z} must be a number >= 0.";
        if (MaxSampleRate is { } q && !(q > 0 && q <= 1)) yield return $"{Section}:MaxSampleRate={q} must be in (0, 1].";
        foreach (var kind in AllowedModelKinds ?? [])
            if (kind is not ("mlp" or "cnn" or "text")) yield return $"{Section}:AllowedModelKinds: '{kind}' is not a model kind; use mlp, cnn or text.";
        if (MaxParameters is < 1) yield return $"{Section}:MaxParameters={MaxParameters} must be >= 1.";
        if (AllowedSubmitters is { } submitters && submitters.Any(string.IsNullOrWhiteSpace)) yield return $"{Section}:AllowedSubmitters holds a blank id.";
        if (AllowedSubmitters is { Count: 0 }) yield return $"{Section}:AllowedSubmitters is empty, which would refuse every job: list client ids or leave it out.";
    }
}

using System.Diagnostics;
using System.Security.Cryptography;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Placement;
using FedGrains.Grains.Security;
using FedGrains.Learning;
using FedGrains.Learning.Codecs;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.Models;
using FedGrains.Learning.Privacy;
using FedGrains.Learning.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace FedGrains.Grains.Gateway;

/// <summary>
/// One data site in one job: merges server defaults with its overrides, checks its budget, trains DP-SGD off the
/// grain turn, records the spend durably and only then releases the delta.
/// </summary>
[GatewayHostPlacementFilter]
public sealed class GatewayGrain(
    [PersistentState("gateway", "fedgrains")] IPersistentState<GatewayState> ledger,
    DatasetCache data,
    TrainingSlots slots,
    IOptions<FedGrainsSiloOptions> options,
    ILocalSiloDetails silo,
    UpdateAuthenticator authenticator,
    ILogger<GatewayGrain> logger) : Grain, IGatewayGrain
{
    private readonly torch.Device device = TorchRuntime.SelectDevice(options.Value.Device);

    public async Task<GatewayUpdate> TrainAsync(RoundTask task, CancellationToken cancellationToken = default)
    {
        var spec = task.Spec;
        var gatewayId = this.GetPrimaryKeyString().Split('/', 2)[1];
        var gateway = spec.ResolveGateways().FirstOrDefault(g => g.Id == gatewayId)
            ?? throw new ArgumentException($"gateway '{gatewayId}' is not in job {task.JobId}'s spec.");
        using var activity = Telemetry.Source.StartActivity("gateway.train");
        activity?.SetTag("fedgrains.job", task.JobId);
        activity?.SetTag("fedgrains.gateway", gatewayId);
        activity?.SetTag("fedgrains.round", task.Round);

        if (ledger.State.LastRelease is { } last && last.Round == task.Round && ledger.State.LastReleaseModelVersion == task.ModelVersion)
            return last;

        using var slot = await slots.AcquireAsync(cancellationToken);
        var stopwatch = Stopwatch.StartNew();
        var (x, y) = await Task.Run(() => data.GatewayData(spec, gateway, device), cancellationToken);
        int examples = (int)x.shape[0];
        var plan = await AccountantWork.RunAsync(() => Plan(spec, gateway, examples));
        var settings = plan.Settings;
        ledger.State.Delta = spec.Privacy.Delta;
        ledger.State.TargetEpsilon = spec.Privacy.TargetEpsilon;
        ledger.State.NoiseLevel = spec.Privacy.NoiseLevel;
        ledger.State.Accountant = spec.Privacy.Accountant;

        double metricSigma = spec.Privacy.TrainMetrics.Mode == "noised" ? PrivateLoss.Charge(spec.Privacy.TrainMetrics.NoiseMultiplier, 1).NoiseMultiplier : 0;
        var entry = new LedgerEntry(task.Round, settings.SampleRate, settings.NoiseMultiplier, settings.Steps, DateTimeOffset.UtcNow, metricSigma);
        if (plan.EpsilonClaimed)
        {
            var charges = Charges().Concat(entry.Charges()).ToArray();
            double projected = await AccountantWork.RunAsync(() => Accountants.Epsilon(spec.Privacy.Accountant, charges, spec.Privacy.Delta));
            if (projected > spec.Privacy.TargetEpsilon * (1 + 1e-9))
            {
                var reason = $"budget: this round would bring epsilon to {projected:F3} > target {spec.Privacy.TargetEpsilon} (delta {spec.Privacy.Delta}); spent so far {await EpsilonSoFarAsync():F3} over {ledger.State.Entries.Count} rounds.";
                Log.Refused(logger, task.JobId, gatewayId, task.Round, reason);
                return new GatewayUpdate(gatewayId, task.Round, null, examples, double.NaN, await PrivacyAsync(gatewayId, plan), 0, reason);
            }
        }

        // The site's cross-job ledger records the run before it happens, and refuses one that would cross its lifetime budget.
        if (await GrainFactory.GetGrain<ISiteLedgerGrain>(gateway.SiteId)
                .SpendAsync(new SiteSpend(task.JobId, gatewayId, task.Round, task.ModelVersion, SiteCharges(entry, plan.EpsilonClaimed), DateTimeOffset.UtcNow)) is { } siteRefusal)
        {
            Log.Refused(logger, task.JobId, gatewayId, task.Round, siteRefusal);
            return new GatewayUpdate(gatewayId, task.Round, null, examples, double.NaN, await PrivacyAsync(gatewayId, plan), 0, siteRefusal);
        }

        var global = WeightBuffer.Decode(task.GlobalWeights);
        var sampler = new Random(Seeds.Derive32(spec.Seed, $"sampling/{gatewayId}/{task.Round}"));
        using var noise = new torch.Generator(options.Value.SeededNoiseForTests
            ? (ulong)Seeds.Derive(spec.Seed, $"noise/{gatewayId}/{task.Round}")
            : BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)));
        var releaseNoise = options.Value.SeededNoiseForTests ? new Random(Seeds.Derive32(spec.Seed, $"release-noise/{gatewayId}/{task.Round}")) : new Random(RandomNumberGenerator.GetInt32(int.MaxValue));
        var (delta, _, releasedLoss) = await Task.Run(() => LocalTraining.Run(spec.Model, x, y, data.Dataset(spec).Classes, global.Values,
            settings, sampler, noise, spec.Privacy.TrainMetrics, releaseNoise, cancellationToken), cancellationToken);
        var updateDp = spec.Privacy.LocalUpdateDp;
        if (updateDp.Enabled) UpdateDp.Privatize(delta, updateDp.ClippingBound, updateDp.NoiseMultiplier, releaseNoise);
        ledger.State.UpdateNoiseMultiplier = updateDp.Enabled ? updateDp.NoiseMultiplier : 0;

        // Record the spend before anything leaves this grain: a caller that times out after this point has still
        // received (or may yet receive) a release, so it must be accounted.
        var segments = GlobalModel.Segments(spec.Model, x.shape.Skip(1).Select(d => (int)d).ToArray(), data.Dataset(spec).Classes);
        var bytes = DeltaCodec.Encode(delta, segments, spec.Aggregation.Compression, global.ModelVersion, global.LayoutHash,
            new Random(Seeds.Derive32(spec.Seed, $"rounding/{gatewayId}/{task.Round}")));
        ledger.State.Entries.Add(entry);
        var privacy = await PrivacyAsync(gatewayId, plan);
        var seconds = stopwatch.Elapsed.TotalSeconds;
        var update = authenticator.Sign(new GatewayUpdate(gatewayId, task.Round, bytes, examples, releasedLoss, privacy, seconds, null),
            task.JobId, task.ModelVersion);
        ledger.State.LastRelease = update;
        ledger.State.LastReleaseModelVersion = task.ModelVersion;
        await ledger.WriteStateAsync(CancellationToken.None);

        Telemetry.GatewayTrainingDuration.Record(seconds);
        if (privacy.Epsilon is { } eps) Telemetry.EpsilonSpent.Record(eps);
        Log.Trained(logger, task.JobId, gatewayId, task.Round, examples, settings.Steps, settings.SampleRate,
            settings.NoiseMultiplier, privacy.Epsilon?.ToString("F3") ?? "not claimed", seconds);
        return update;
    }

    public async Task<IReadOnlyList<SiteCharge>> PlanAsync(JobSpec spec)
    {
        var gatewayId = this.GetPrimaryKeyString().Split('/', 2)[1];
        var gateway = spec.ResolveGateways().FirstOrDefault(g => g.Id == gatewayId)
            ?? throw new ArgumentException($"gateway '{gatewayId}' is not in the job's spec.");
        int examples = await Task.Run(() => (int)data.GatewayData(spec, gateway, device).X.shape[0]);
        var plan = await AccountantWork.RunAsync(() => Plan(spec, gateway, examples));
        var metrics = spec.Privacy.TrainMetrics;
        return SiteCharges(new LedgerEntry(0, plan.Settings.SampleRate, plan.Settings.NoiseMultiplier, plan.PlannedSteps, DateTimeOffset.UtcNow,
            metrics.Mode == "noised" ? PrivateLoss.Charge(metrics.NoiseMultiplier, 1).NoiseMultiplier : 0), plan.EpsilonClaimed, spec.PlannedParticipations());
    }

    /// <summary>What the site's ledger records for an entry (or a whole plan); a DP-SGD run that claims no epsilon is recorded without noise.</summary>
    private static SiteCharge[] SiteCharges(LedgerEntry entry, bool epsilonClaimed, long metricReleases = 1) => entry.MetricNoiseMultiplier > 0
        ? [new SiteCharge(entry.SampleRate, epsilonClaimed ? entry.NoiseMultiplier : 0, entry.Steps), new SiteCharge(1.0, entry.MetricNoiseMultiplier, metricReleases)]
        : [new SiteCharge(entry.SampleRate, epsilonClaimed ? entry.NoiseMultiplier : 0, entry.Steps)];

    private static LocalPlan Plan(JobSpec spec, GatewaySpec gateway, int examples) =>
        LocalPlan.For(spec.Defaults.With(gateway.Overrides), spec.Privacy, examples, spec.PlannedParticipations());

    public async Task<GatewayPrivacy?> GetPrivacyAsync()
    {
        if (!ledger.RecordExists) return null;
        var last = ledger.State.Entries.LastOrDefault();
        return await PrivacyAsync(this.GetPrimaryKeyString().Split('/', 2)[1], last?.SampleRate ?? 0, last?.NoiseMultiplier ?? 0,
            ledger.State.NoiseLevel == "sample");
    }

    /// <summary>
    /// The example-level epsilon of everything released (when claimed), and the site-level epsilon of the locally
    /// privatised updates (null without local update DP), computed off the grain's turn from a snapshot of the ledger.
    /// </summary>
    private Task<(double? Epsilon, double? UpdateEpsilon)> EpsilonsAsync(bool claimed)
    {
        var s = ledger.State;
        var charges = Charges().ToArray();
        var (accountant, delta, z, releases) = (s.Accountant, s.Delta, s.UpdateNoiseMultiplier, s.Entries.Count);
        return AccountantWork.RunAsync(() => (
            claimed ? Accountants.Epsilon(accountant, charges, delta) : (double?)null,
            z > 0 ? Accountants.Epsilon(accountant, [UpdateDp.Charge(z, releases)], delta) : (double?)null));
    }

    private async Task<double> EpsilonSoFarAsync() => (await EpsilonsAsync(claimed: true)).Epsilon!.Value;

    public Task<string> GetSiloAsync() => Task.FromResult(silo.SiloAddress.ToString());

    private IEnumerable<PrivacyCharge> Charges() => ledger.State.Entries.SelectMany(e => e.Charges());


    private Task<GatewayPrivacy> PrivacyAsync(string gatewayId, LocalPlan plan) =>
        PrivacyAsync(gatewayId, plan.Settings.SampleRate, plan.Settings.NoiseMultiplier, plan.EpsilonClaimed);

    /// <summary>The ledger as a report: its epsilons, and the (sample rate, noise multiplier) that reproduce the DP-SGD part.</summary>
    private async Task<GatewayPrivacy> PrivacyAsync(string gatewayId, double sampleRate, double noiseMultiplier, bool claimed)
    {
        var (epsilon, updateEpsilon) = await EpsilonsAsync(claimed);
        var s = ledger.State;
        return new GatewayPrivacy(gatewayId, epsilon, s.Delta, sampleRate, noiseMultiplier, s.Entries.Sum(e => e.Steps), s.NoiseLevel,
            s.Accountant, s.TargetEpsilon, updateEpsilon, s.Entries.LastOrDefault()?.MetricNoiseMultiplier ?? 0,
            s.Entries.Count(e => e.MetricNoiseMultiplier > 0));
    }
}

using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;

namespace FedGrains.Grains.Federation;

/// <summary>A job's kept model versions, one <see cref="IModelVersionGrain"/> each; the newest also lives in the job's state.</summary>
internal sealed class ModelVersions(IGrainFactory grains)
{
    public Task StoreAsync(string jobId, long version, byte[] weights) =>
        grains.GetGrain<IModelVersionGrain>(IModelVersionGrain.Key(jobId, version)).StoreAsync(weights);

    /// <summary>A kept version; a missing one is an ArgumentException saying which exist.</summary>
    public async Task<ModelSnapshot> GetAsync(string jobId, FederationState state, long version)
    {
        if (version == state.ModelVersion) return new ModelSnapshot(state.ModelVersion, state.Weights);
        if (version >= 0 && version < state.ModelVersion
            && await grains.GetGrain<IModelVersionGrain>(IModelVersionGrain.Key(jobId, version)).GetAsync() is { } weights)
            return new ModelSnapshot(version, weights);
        int keep = state.Spec?.Aggregation.Buffered.KeepVersions ?? 0;
        throw new ArgumentException($"job '{jobId}' has no model version {version}: versions run 0..{state.ModelVersion}"
            + (keep > 0 ? $" and only the last {keep} are kept (aggregation.buffered.keep_versions)." : "."));
    }

    /// <summary>With aggregation.buffered.keep_versions K, forgets the version that just fell out of the last K.</summary>
    public async Task ForgetOlderThanKeptAsync(string jobId, JobSpec spec, long newest)
    {
        int keep = spec.Aggregation.Buffered.KeepVersions;
        if (keep > 0 && newest - keep >= 0)
            await grains.GetGrain<IModelVersionGrain>(IModelVersionGrain.Key(jobId, newest - keep)).ForgetAsync();
    }
}

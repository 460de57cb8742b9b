using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Placement;
using FedGrains.Grains.Storage;

namespace FedGrains.Grains.Federation;

/// <summary>A write-once model version in grain storage, kept where the federation is.</summary>
[FederationPlacementFilter]
public sealed class ModelVersionGrain(
    [PersistentState("model-version", "fedgrains")] IPersistentState<ModelVersionState> version) : Grain, IModelVersionGrain
{
    /// <summary>
    /// Overwrites: a federation that crashed after storing a version but before persisting its round recomputes that
    /// version (possibly with other noise), and the one it then persists is the one that counts.
    /// </summary>
    public async Task StoreAsync(byte[] weights)
    {
        version.State.Weights = weights;
        await version.WriteDurablyAsync(this);
    }

    public Task<byte[]?> GetAsync() => Task.FromResult(version.RecordExists ? version.State.Weights : null);

    public async Task ForgetAsync()
    {
        if (version.RecordExists) await version.ClearStateAsync();
        DeactivateOnIdle();
    }
}

[GenerateSerializer, Alias("fedgrains.model-version-state")]
public sealed class ModelVersionState
{
    [Id(0)] public byte[] Weights { get; set; } = [];
}

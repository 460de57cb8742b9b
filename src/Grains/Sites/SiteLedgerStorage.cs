using Orleans.Serialization;
using FedGrains.Grains.Storage;
using Orleans.Storage;

namespace FedGrains.Grains.Sites;

/// <summary>
/// The grain storage provider of site ledgers ("fedgrains-site"): the shared store by default, or a SQLite file on
/// the site's own silo (FedGrains:Site:LedgerPath). A ledger whose stored bytes cannot be read activates as an
/// unreadable ledger that refuses every call, instead of failing with a storage stack trace or reading as empty.
/// </summary>
public sealed class SiteLedgerStorage(IGrainStorage inner) : IGrainStorage
{
    /// <summary>The storage provider name the site ledger grain's state is registered under.</summary>
    public const string Name = "fedgrains-site";

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        try
        {
            await inner.ReadStateAsync(stateName, grainId, grainState);
        }
        catch (Exception e) when (grainState is IGrainState<SiteLedgerState> ledger && e is InvalidDataException or SerializerException or StateStoreDamagedException)
        {
            // Never written back: the grain refuses to write an unreadable ledger, so the stored bytes stay for a restore.
            ledger.State = new SiteLedgerState { Unreadable = e.Message };
            grainState.RecordExists = true;
        }
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        grainState is IGrainState<SiteLedgerState> { State.Unreadable: not null }
            ? throw new InvalidOperationException($"refusing to overwrite the unreadable {stateName} record of {grainId}.")
            : inner.WriteStateAsync(stateName, grainId, grainState);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ClearStateAsync(stateName, grainId, grainState);
}

using Orleans.Concurrency;

namespace FedGrains.Grains.Interfaces;

/// <summary>
/// One kept model version of a job (key: "job-id/version"), stored when the version is made. Lets anyone fetch an old version, and lets
/// a restarted federation re-send a gateway the exact version it was training from.
/// </summary>
[Alias("fedgrains.model-version")]
public interface IModelVersionGrain : IGrainWithStringKey
{
    /// <summary>Stores the weights (a WeightBuffer), replacing what a crashed federation may have stored before it committed the version.</summary>
    [Alias("store")]
    Task StoreAsync(byte[] weights);

    /// <summary>The weights, or null when this version was never stored or has been forgotten.</summary>
    [Alias("get"), ReadOnly]
    Task<byte[]?> GetAsync();

    [Alias("forget")]
    Task ForgetAsync();

    public static string Key(string jobId, long version) => $"{jobId}/{version}";
}

namespace FedGrains.Grains.Hosting;

/// <summary>Options of a FedGrains silo (configuration section "FedGrains:Silo").</summary>
public sealed class FedGrainsSiloOptions
{
    public const string Section = "FedGrains:Silo";

    /// <summary>Whether gateways may be placed on this silo. GPU silos set it; on a CPU-only machine set it to train on CPU. Default true.</summary>
    public bool HostsGateways { get; set; } = true;

    /// <summary>"auto" (cuda when usable, else cpu), "cpu" or "cuda". Sets the accelerator tag and the training device.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>What this silo is for, published as metadata: "federation" (CPU silos running jobs), "gateway" (GPU silos) or "mixed".</summary>
    public string Role { get; set; } = "mixed";

    /// <summary>Optional site tag (data locality), published as silo metadata.</summary>
    public string? Site { get; set; }

    /// <summary>Gateway trainings allowed at once on this silo (1..64). Default 1: on 2 cores one training with 2 torch threads is fastest.</summary>
    public int MaxConcurrentTrainings { get; set; } = 1;

    /// <summary>libtorch intra-op threads (1..256). Default: the processor count divided by <see cref="MaxConcurrentTrainings"/>.</summary>
    public int? TorchThreads { get; set; }

    /// <summary>
    /// Tests only: derive DP noise from the job seed so runs repeat exactly. Never in production: noise must come from
    /// OS entropy, or anyone who knows the seed can subtract it.
    /// </summary>
    public bool SeededNoiseForTests { get; set; }

    /// <summary>Interval at which the federation's round driver checks for the next round, in milliseconds.</summary>
    public int RoundTickMilliseconds { get; set; } = 100;

    /// <summary>
    /// Whether a reminder service is configured (the Redis store brings one). Running jobs then also hold a durable
    /// reminder, so a job whose silo died is re-activated on a surviving silo without waiting for a restart.
    /// </summary>
    public bool UseReminders { get; set; }

    /// <summary>Minutes a job's cached data (dataset, gateway and test tensors) may go unused before this silo drops it (1..10080). Default 30.</summary>
    public int DatasetIdleMinutes { get; set; } = 30;

    public IEnumerable<string> Problems()
    {
        if (MaxConcurrentTrainings is < 1 or > 64) yield return $"{Section}:MaxConcurrentTrainings={MaxConcurrentTrainings} must be in 1..64.";
        if (TorchThreads is < 1 or > 256) yield return $"{Section}:TorchThreads={TorchThreads} must be in 1..256.";
        if (Role is not ("federation" or "gateway" or "mixed")) yield return $"{Section}:Role='{Role}' must be federation, gateway or mixed.";
        if (Device is not ("auto" or "cpu" or "cuda")) yield return $"{Section}:Device='{Device}' must be auto, cpu or cuda.";
        if (DatasetIdleMinutes is < 1 or > 10_080) yield return $"{Section}:DatasetIdleMinutes={DatasetIdleMinutes} must be in 1..10080 (a week).";
        if (RoundTickMilliseconds is < 10 or > 60_000) yield return $"{Section}:RoundTickMilliseconds={RoundTickMilliseconds} must be in 10..60000.";
    }
}

namespace FedGrains.Grains.Storage;

/// <summary>Where the embedded SQLite store keeps grain state and the job index.</summary>
public sealed class SqliteStorageOptions
{
    /// <summary>Path of the SQLite database file; its folder is created when missing. Default: fedgrains-data/fedgrains.db.</summary>
    public string DatabasePath { get; set; } = Path.Combine("fedgrains-data", "fedgrains.db");

    /// <summary>How long a writer waits for a lock held by another process or silo, in milliseconds.</summary>
    public int BusyTimeoutMilliseconds { get; set; } = 10_000;
}

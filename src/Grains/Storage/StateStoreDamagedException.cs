namespace FedGrains.Grains.Storage;

/// <summary>
/// A state store that exists but cannot be trusted (empty, truncated, not SQLite, failing SQLite's own check, without
/// FedGrains' tables, or holding a record that does not match its checksum). Raised when the store is opened, before
/// anything reads or writes it, and never sent across the Orleans wire. The CLI prints it and exits 2.
/// </summary>
public sealed class StateStoreDamagedException(string path, string problem)
    : InvalidOperationException(
        $"the state store {path} is damaged: {problem}. FedGrains has not changed it and will not start over from it. {StoreLocation.Sqlite(path).Remedy}")
{
    public string StorePath { get; } = path;

    public string Problem { get; } = problem;
}

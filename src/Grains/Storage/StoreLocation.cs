using StackExchange.Redis;

namespace FedGrains.Grains.Storage;

/// <summary>
/// Where a storage provider keeps grain state and how an operator gets it back, for the messages that say state the
/// store should hold is gone: FedGrains stops there and names the store and the fix, instead of starting over.
/// </summary>
public sealed record StoreLocation(string Description, string Remedy)
{
    /// <summary>Registered when no storage provider registered its own (e.g. an in-memory store in a test host).</summary>
    public static readonly StoreLocation Unnamed = new("the grain store", "Restore the store from a backup, or submit the job under a new id to start it deliberately.");

    public static StoreLocation Sqlite(string databasePath)
    {
        var path = Path.GetFullPath(databasePath);
        var file = Path.GetFileName(path);
        return new($"the state store {path}",
            $"Restore {file} from a backup (with its {file}-wal file if it had one). To start afresh deliberately, use a new store (for `fedgrains run`, another --output): a new store has no record of what any job or site spent.");
    }

    /// <summary>Names the servers only: a connection string can hold a password.</summary>
    public static StoreLocation Redis(string connection, string serviceId)
    {
        var servers = string.Join(", ", ConfigurationOptions.Parse(connection).EndPoints.Select(e => e.ToString()));
        return new($"the Redis store at {servers} (service '{serviceId}')",
            "Restore the Redis data (its RDB or AOF file) from a backup, or submit the job under a new id to start it deliberately; check that Redis does not evict keys (maxmemory-policy noeviction).");
    }

    /// <summary>The message for <paramref name="what"/>, which <paramref name="evidence"/> shows should exist and does not.</summary>
    public string Missing(string what, string evidence) =>
        $"{what} is missing from {Description}, although {evidence}: the store lost it (a partial restore, a deleted row or key). FedGrains will not start it over. {Remedy}";
}

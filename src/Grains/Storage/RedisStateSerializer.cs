using FedGrains.Grains.Sites;
using Orleans.Storage;

namespace FedGrains.Grains.Storage;

/// <summary>
/// Orleans' binary format for grain state in Redis, with a record whose bytes cannot be read named as such: Orleans'
/// Redis provider turns every read failure into one exception that keeps only the inner message, so a garbled key
/// and an outage would look alike. A site ledger reads as unreadable (it then refuses every call, as from a damaged
/// SQLite row); any other state throws <see cref="InvalidDataException"/> naming its type.
/// </summary>
internal sealed class RedisStateSerializer(IGrainStorageSerializer inner) : IGrainStorageSerializer
{
    public BinaryData Serialize<T>(T? input) => inner.Serialize(input);

    public T Deserialize<T>(BinaryData input)
    {
        try
        {
            return inner.Deserialize<T>(input)!;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var why = $"its {input.Length} bytes are not a {typeof(T).Name} record ({e.Message})";
            if (typeof(T) == typeof(SiteLedgerState)) return (T)(object)new SiteLedgerState { Unreadable = why };
            throw new InvalidDataException($"a stored record cannot be read: {why}", e);
        }
    }
}

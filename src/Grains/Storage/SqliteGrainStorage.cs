using Orleans.Serialization;
using Orleans.Storage;

namespace FedGrains.Grains.Storage;

/// <summary>
/// Grain state in the embedded SQLite file, serialised with Orleans' version-tolerant binary serializer. ETags are row
/// versions: a write whose ETag is not the stored one is refused with <see cref="InconsistentStateException"/>, so two
/// activations can never silently overwrite each other. Every row carries its <see cref="RowChecksum"/>, checked on read.
/// </summary>
public sealed class SqliteGrainStorage(SqliteDatabase database, Serializer serializer, TimeProvider time) : IGrainStorage
{
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await using var connection = await database.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT etag, data, checksum FROM grain_state WHERE grain_type = $type AND grain_id = $id";
        command.Parameters.AddWithValue("$type", stateName);
        command.Parameters.AddWithValue("$id", grainId.ToString());
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }
        var (etag, data) = (reader.GetString(0), (byte[])reader.GetValue(1));
        if (!RowChecksum.Matches(reader, 2, RowChecksum.Grain(stateName, grainId.ToString(), etag, data)))
            throw new InvalidDataException($"the stored {stateName} record of {grainId} ({data.Length} bytes) does not match its checksum in {database.DatabasePath}: its bytes were damaged or changed outside FedGrains; restore the store from a backup.");
        grainState.ETag = etag;
        grainState.State = Deserialize<T>(data, stateName, grainId);
        grainState.RecordExists = true;
    }

    /// <summary>
    /// The stored record, or an <see cref="InvalidDataException"/> naming it when its bytes are not one: a corrupt
    /// record must never read as an empty state (for a privacy ledger that would forget what was spent).
    /// </summary>
    private T Deserialize<T>(byte[] data, string stateName, GrainId grainId)
    {
        T? state;
        try { state = serializer.Deserialize<T>(data); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"the stored {stateName} record of {grainId} ({data.Length} bytes) cannot be read: {e.Message}", e);
        }
        return state ?? throw new InvalidDataException($"the stored {stateName} record of {grainId} ({data.Length} bytes) holds no state.");
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var data = serializer.SerializeToArray(grainState.State);
        var next = grainState.ETag is null ? 1 : long.Parse(grainState.ETag) + 1;
        await using var connection = await database.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = grainState.ETag is null
            ? "INSERT OR IGNORE INTO grain_state (grain_type, grain_id, etag, data, updated_at, checksum) VALUES ($type, $id, $next, $data, $now, $checksum)"
            : "UPDATE grain_state SET etag = $next, data = $data, updated_at = $now, checksum = $checksum WHERE grain_type = $type AND grain_id = $id AND etag = $etag";
        command.Parameters.AddWithValue("$type", stateName);
        command.Parameters.AddWithValue("$id", grainId.ToString());
        command.Parameters.AddWithValue("$next", next.ToString());
        command.Parameters.AddWithValue("$data", data);
        command.Parameters.AddWithValue("$now", time.GetUtcNow().ToString("O"));
        command.Parameters.AddWithValue("$etag", (object?)grainState.ETag ?? DBNull.Value);
        command.Parameters.AddWithValue("$checksum", RowChecksum.Grain(stateName, grainId.ToString(), next.ToString(), data));
        if (await command.ExecuteNonQueryAsync() != 1)
            throw new InconsistentStateException(
                $"state of {grainId} ({stateName}) was changed by another writer; this activation's copy (etag {grainState.ETag ?? "none"}) is stale.",
                storedEtag: "unknown", currentEtag: grainState.ETag ?? "none");
        grainState.ETag = next.ToString();
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await using var connection = await database.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM grain_state WHERE grain_type = $type AND grain_id = $id";
        command.Parameters.AddWithValue("$type", stateName);
        command.Parameters.AddWithValue("$id", grainId.ToString());
        await command.ExecuteNonQueryAsync();
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
    }
}

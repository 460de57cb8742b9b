using FedGrains.Grains.Gateway;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Storage;

namespace FedGrains.Cluster.Tests.Storage;

public sealed class StorageAndResourceTests
{
    [Fact]
    public async Task Sqlite_storage_round_trips_state_and_refuses_a_stale_etag_without_losing_the_stored_state()
    {
        var storage = CreateStorage(TestCluster.NewDatabasePath());
        var id = GrainId.Create("test", "ledger");
        var first = new GrainState<LedgerDocument> { State = new LedgerDocument { Entries = ["round-1"] } };
        await storage.WriteStateAsync("ledger", id, first);
        var stale = new GrainState<LedgerDocument> { State = new LedgerDocument(), ETag = first.ETag };

        first.State.Entries.Add("round-2");
        await storage.WriteStateAsync("ledger", id, first);
        stale.State.Entries.Add("overwrite");
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("ledger", id, stale));
        var fresh = new GrainState<LedgerDocument>();
        await storage.ReadStateAsync("ledger", id, fresh);

        Assert.True(fresh.RecordExists);
        Assert.Equal(["round-1", "round-2"], fresh.State!.Entries);
        Assert.Equal(first.ETag, fresh.ETag);
        var duplicate = new GrainState<LedgerDocument> { State = new LedgerDocument() };
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("ledger", id, duplicate));
    }

    [Fact]
    public async Task Training_slots_cap_concurrent_trainings()
    {
        using var slots = new TrainingSlots(Options.Create(new FedGrainsSiloOptions { MaxConcurrentTrainings = 2 }));
        var a = await slots.AcquireAsync(CancellationToken.None);
        var b = await slots.AcquireAsync(CancellationToken.None);

        var third = slots.AcquireAsync(CancellationToken.None);
        await Task.Yield();
        Assert.False(third.IsCompleted);
        a.Dispose();
        a.Dispose(); // releasing twice frees one slot, not two
        (await third).Dispose();
        b.Dispose();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        using var blocker1 = await slots.AcquireAsync(CancellationToken.None);
        using var blocker2 = await slots.AcquireAsync(CancellationToken.None);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slots.AcquireAsync(timeout.Token));
    }

    private static SqliteGrainStorage CreateStorage(string path)
    {
        var services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        var database = new SqliteDatabase(Options.Create(new SqliteStorageOptions { DatabasePath = path }));
        return new SqliteGrainStorage(database, services.GetRequiredService<Serializer>(), TimeProvider.System);
    }
}

[GenerateSerializer]
public sealed class LedgerDocument
{
    [Id(0)] public List<string> Entries { get; set; } = [];
}

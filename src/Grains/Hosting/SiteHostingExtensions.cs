using FedGrains.Grains.Placement;
using FedGrains.Grains.Sites;
using FedGrains.Grains.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Placement;
using Orleans.Serialization;
using Orleans.Storage;

namespace FedGrains.Grains.Hosting;

/// <summary>The site's own settings on its silo: its ledger's storage (and policy).</summary>
public static class SiteHostingExtensions
{
    /// <summary>
    /// Adds the site's settings (<see cref="SiteOptions"/>). With <see cref="SiteOptions.LedgerPath"/> the site ledgers
    /// activated on this silo persist to that SQLite file; otherwise to the cluster's store.
    /// </summary>
    public static ISiloBuilder AddFedGrainsSite(this ISiloBuilder builder, SiteOptions site)
    {
        var problems = site.Problems().ToList();
        if (problems.Count > 0) throw new OptionsValidationException(SiteOptions.Section, typeof(SiteOptions), problems);
        builder.Services.AddSingleton(Options.Create(site));
        if (site.LedgerPath is { } path) builder.AddFedGrainsSiteLedgerStorage(path);
        return builder;
    }

    /// <summary>Site ledgers in their own SQLite file at <paramref name="databasePath"/> (replaces the default, the cluster's store).</summary>
    public static ISiloBuilder AddFedGrainsSiteLedgerStorage(this ISiloBuilder builder, string databasePath)
    {
        builder.Services.RemoveAllKeyed<IGrainStorage>(SiteLedgerStorage.Name);
        builder.Services.RemoveAllKeyed<StoreLocation>(SiteLedgerStorage.Name);
        builder.Services.AddKeyedSingleton(SiteLedgerStorage.Name, StoreLocation.Sqlite(databasePath));
        builder.Services.AddKeyedSingleton<IGrainStorage>(SiteLedgerStorage.Name, (sp, _) =>
        {
            var database = new SqliteDatabase(Options.Create(new SqliteStorageOptions { DatabasePath = databasePath }));
            var store = new SqliteGrainStorage(database, sp.GetRequiredService<Serializer>(), sp.GetRequiredService<TimeProvider>());
            return new SiteLedgerStorage(store);
        });
        return builder;
    }

    /// <summary>
    /// The defaults every silo has: site ledgers in the cluster's store (the provider <paramref name="storageName"/>)
    /// unless a site store was added, placed on their site's silo, and the gateways' view of this silo's site policy.
    /// </summary>
    internal static void AddSiteDefaults(IServiceCollection services, string storageName)
    {
        services.TryAddKeyedSingleton<IGrainStorage>(SiteLedgerStorage.Name, (sp, _) =>
            new SiteLedgerStorage(sp.GetRequiredKeyedService<IGrainStorage>(storageName)));
        services.TryAddKeyedSingleton<StoreLocation>(SiteLedgerStorage.Name, (sp, _) => sp.GetRequiredService<StoreLocation>());
        services.TryAddSingleton<Gateway.GatewaySitePolicy>();
        services.AddPlacementFilter<SiteLedgerPlacementFilterStrategy, SiteLedgerPlacementFilterDirector>(ServiceLifetime.Singleton);
    }
}

using FedGrains.Grains.Gateway;
using FedGrains.Grains.Placement;
using FedGrains.Grains.Security;
using FedGrains.Grains.Storage;
using FedGrains.Learning.Privacy;
using FedGrains.Learning;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Serialization;
using Orleans.Storage;
using StackExchange.Redis;

namespace FedGrains.Grains.Hosting;

public static class SiloBuilderExtensions
{
    /// <summary>The grain storage provider name FedGrains' grains persist to.</summary>
    public const string StorageName = "fedgrains";

    /// <summary>
    /// Adds FedGrains to a silo: the gateway-host placement filter and silo metadata, resource caps, the dataset cache,
    /// and the job-resuming start-up task. Storage is added separately (<see cref="AddFedGrainsSqliteStorage"/>).
    /// </summary>
    public static ISiloBuilder AddFedGrains(this ISiloBuilder builder, FedGrainsSiloOptions options, AuthOptions? auth = null, SitePrivacyOptions? sites = null)
    {
        auth ??= new AuthOptions();
        sites ??= new SitePrivacyOptions();
        var problems = options.Problems().Concat(auth.Problems()).Concat(sites.Problems()).ToList();
        if (problems.Count > 0) throw new OptionsValidationException(FedGrainsSiloOptions.Section, typeof(FedGrainsSiloOptions), problems);
        NativeMemoryTuning.Apply();
        // Training and accounting run on the thread pool too; enough ready threads keep storage and messaging I/O
        // completing while they do (the default minimum of one per core starves Redis replies on a 2-core machine).
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 8 * Environment.ProcessorCount), io);
        TorchRuntime.SetThreads(options.TorchThreads ?? Math.Max(1, Environment.ProcessorCount / options.MaxConcurrentTrainings));
        var device = TorchRuntime.SelectDevice(options.Device);

        var metadata = new Dictionary<string, string>
        {
            [SiloMetadataKeys.GatewayHost] = options.HostsGateways ? "true" : "false",
            [SiloMetadataKeys.Accelerator] = device.type == TorchSharp.DeviceType.CUDA ? "cuda" : "cpu",
            [SiloMetadataKeys.Role] = options.Role,
        };
        if (!string.IsNullOrWhiteSpace(options.Site)) metadata[SiloMetadataKeys.Site] = options.Site;
        builder.UseSiloMetadata(metadata);
        // Carries the round's trace context into gateway calls, so gateway spans nest under their round.
        builder.AddActivityPropagation();

        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.AddSingleton(Options.Create(auth));
        builder.Services.AddSingleton(Options.Create(sites));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton(SecAggSigning.None); // UseFedGrainsTls puts the silo's certificate in its place
        builder.Services.TryAddSingleton<IReplayCache, ReplayCache>();
        builder.Services.TryAddSingleton<AnswerSeals>();
        builder.AddIncomingGrainCallFilter<ClientAccessFilter>(); // deny by default, authentication on or off
        builder.AddOutgoingGrainCallFilter<InternalCallSigner>();
        builder.Services.AddPlacementFilter<SitePlacementFilterStrategy, SitePlacementFilterDirector>(ServiceLifetime.Singleton);
        builder.Services.AddPlacementFilter<FederationPlacementFilterStrategy, FederationPlacementFilterDirector>(ServiceLifetime.Singleton);
        builder.Services.TryAddSingleton<TrainingSlots>();
        builder.Services.TryAddSingleton<UpdateAuthenticator>();
        builder.Services.TryAddSingleton<Federation.RoundAggregator>();
        builder.Services.TryAddSingleton<DatasetCache>();
        builder.Services.TryAddSingleton<SiteDatasets>();
        // Every privacy noise draw comes from here: seeded from the job seed only in tests, else from OS entropy.
        if (options.SeededNoiseForTests) builder.Services.TryAddSingleton<INoiseSourceFactory, SeededNoiseSources>();
        else builder.Services.TryAddSingleton<INoiseSourceFactory, EntropyNoiseSources>();
        builder.Services.TryAddSingleton<JobResumer>();
        builder.Services.TryAddSingleton(StoreLocation.Unnamed);
        SiteHostingExtensions.AddSiteDefaults(builder.Services, StorageName);
        builder.AddStartupTask((services, ct) =>
        {
            if (NativeMemoryTuning.ArenaAdvice(Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX")) is { } advice)
                services.GetRequiredService<ILoggerFactory>().CreateLogger("FedGrains.NativeMemory").LogWarning("{Advice}", advice);
            return Task.CompletedTask;
        });
        builder.AddStartupTask((services, ct) => services.GetRequiredService<JobResumer>().ResumeAsync(ct));
        builder.AddStartupTask(Sites.SiteAway.RegisterOwnSiloAsync);
        return builder;
    }

    /// <summary>Grain state, the job index and reminders in Redis (the Orleans Redis providers), for multi-silo clusters.</summary>
    public static ISiloBuilder AddFedGrainsRedisStorage(this ISiloBuilder builder, string redis, string serviceId, string? certificateAuthority = null)
    {
        builder.AddRedisGrainStorage(StorageName, options => options.Configure<Serializer>((o, serializer) =>
        {
            o.ConfigurationOptions = RedisConnections.Options(redis, certificateAuthority);
            // The same version-tolerant binary format as the SQLite store (the default JSON one cannot read our records).
            o.GrainStorageSerializer = new RedisStateSerializer(new OrleansGrainStorageSerializer(serializer));
        }));
        builder.UseRedisReminderService(o => o.ConfigurationOptions = RedisConnections.Options(redis, certificateAuthority));
        builder.Services.TryAddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(RedisConnections.Options(redis, certificateAuthority)));
        builder.Services.TryAddSingleton<IJobIndex>(sp => new RedisJobIndex(sp.GetRequiredService<IConnectionMultiplexer>(), serviceId));
        // One replay cache for every silo (whichever of AddFedGrains and this comes first).
        builder.Services.Replace(ServiceDescriptor.Singleton<IReplayCache>(sp => new RedisReplayCache(sp.GetRequiredService<IConnectionMultiplexer>(), serviceId)));
        builder.Services.TryAddSingleton(StoreLocation.Redis(redis, serviceId));
        return builder;
    }

    /// <summary>The embedded default store: grain state and the job index in one SQLite file.</summary>
    public static ISiloBuilder AddFedGrainsSqliteStorage(this ISiloBuilder builder, string databasePath)
    {
        builder.Services.Configure<SqliteStorageOptions>(o => o.DatabasePath = databasePath);
        builder.Services.TryAddSingleton<SqliteDatabase>();
        builder.Services.TryAddSingleton<IJobIndex, SqliteJobIndex>();
        builder.Services.TryAddSingleton(StoreLocation.Sqlite(databasePath));
        builder.Services.AddKeyedSingleton<IGrainStorage>(StorageName, (sp, _) =>
            ActivatorUtilities.CreateInstance<SqliteGrainStorage>(sp));
        return builder;
    }
}

using FedGrains.Grains.Hosting;
using FedGrains.Grains.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FedGrains.Cli.Running;

/// <summary>An in-process silo on the embedded default (localhost clustering on free ports, SQLite in a state folder).</summary>
internal sealed class EmbeddedFederation : IAsyncDisposable
{
    private readonly IHost host;

    private EmbeddedFederation(IHost host) => this.host = host;

    public IGrainFactory Grains => host.Services.GetRequiredService<IGrainFactory>();

    public static async Task<EmbeddedFederation> StartAsync(string databasePath, string device, string? telemetry, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = false });
        // The defaults read appsettings*.json from the working directory: a file there belongs to whatever else lives in
        // that folder (a silo's, an app's) and must not change what `run` logs or how its silo is set up. The
        // environment (FedGrains__...) still configures it.
        foreach (var file in builder.Configuration.Sources.OfType<Microsoft.Extensions.Configuration.Json.JsonConfigurationSource>().ToArray())
            builder.Configuration.Sources.Remove(file);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["FedGrains:Storage:DatabasePath"] = databasePath,
            ["FedGrains:Silo:Device"] = device,
            ["FedGrains:Silo:HostsGateways"] = "true",
            ["FedGrains:Cluster:SiloPort"] = HostBuilderExtensions.FreeTcpPort().ToString(),
            ["FedGrains:Cluster:ClientPort"] = HostBuilderExtensions.FreeTcpPort().ToString(),
            ["FedGrains:Cluster:ClusterId"] = "fedgrains-embedded",
            ["FedGrains:Telemetry:Exporter"] = telemetry,
        });
        // The progress display owns the terminal; only warnings and errors go to the console log.
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Orleans", LogLevel.Error);
        builder.Logging.AddFilter("Polly", LogLevel.Warning); // Orleans' placement retries log every attempt at Information
        builder.AddFedGrainsSilo();
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch (Exception e) when (Damage(e) is { } damaged)
        {
            // Opening the store at start (the job resumer reads the index) refused it: say so, without a stack trace.
            host.Dispose();
            throw damaged;
        }
        return new EmbeddedFederation(host);
    }

    private static StateStoreDamagedException? Damage(Exception? e) => e switch
    {
        null => null,
        StateStoreDamagedException damaged => damaged,
        AggregateException all => all.InnerExceptions.Select(Damage).FirstOrDefault(d => d is not null),
        _ => Damage(e.InnerException),
    };

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync(TimeSpan.FromSeconds(30));
        host.Dispose();
    }
}

using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Configuration;

namespace FedGrains.Grains.Hosting;

/// <summary>Host wiring shared by the silo executable and `fedgrains run`'s in-process silo.</summary>
public static class HostBuilderExtensions
{
    /// <summary>
    /// Adds a FedGrains silo on the embedded default: localhost clustering and the SQLite store. Reads
    /// FedGrains:Silo (see <see cref="FedGrainsSiloOptions"/>), FedGrains:Storage:DatabasePath,
    /// FedGrains:Cluster:SiloPort/GatewayPort/ClusterId/ServiceId and FedGrains:Telemetry:Exporter.
    /// </summary>
    public static IHostApplicationBuilder AddFedGrainsSilo(this IHostApplicationBuilder builder)
    {
        var config = builder.Configuration;
        var silo = config.GetSection(FedGrainsSiloOptions.Section).Get<FedGrainsSiloOptions>() ?? new FedGrainsSiloOptions();
        var database = config["FedGrains:Storage:DatabasePath"] ?? Path.Combine("fedgrains-data", "fedgrains.db");
        int siloPort = config.GetValue("FedGrains:Cluster:SiloPort", 11111);
        int gatewayPort = config.GetValue("FedGrains:Cluster:GatewayPort", 30000);
        builder.UseOrleans(orleans =>
        {
            orleans.UseLocalhostClustering(siloPort, gatewayPort);
            orleans.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = config["FedGrains:Cluster:ClusterId"] ?? "fedgrains";
                o.ServiceId = config["FedGrains:Cluster:ServiceId"] ?? "fedgrains";
            });
            orleans.AddFedGrainsSqliteStorage(database);
            orleans.AddFedGrains(silo);
        });
        builder.AddFedGrainsTelemetry(config["FedGrains:Telemetry:Exporter"]);
        return builder;
    }

    /// <summary>
    /// OpenTelemetry traces (spans per round, gateway training, aggregation; Orleans' own) and metrics
    /// (fedgrains.*). Exporter: "console", "otlp" (OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4317) or
    /// "none"; unset means otlp when OTEL_EXPORTER_OTLP_ENDPOINT is set, else none.
    /// </summary>
    public static IHostApplicationBuilder AddFedGrainsTelemetry(this IHostApplicationBuilder builder, string? exporter)
    {
        exporter ??= Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 } ? "otlp" : "none";
        if (exporter is not ("console" or "otlp" or "none"))
            throw new ArgumentException($"FedGrains:Telemetry:Exporter='{exporter}' is not known: use console, otlp or none.");
        if (exporter == "none") return builder;
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("fedgrains"))
            .WithTracing(t =>
            {
                t.AddSource(Telemetry.Name, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application");
                if (exporter == "console") t.AddConsoleExporter(); else t.AddOtlpExporter();
            })
            .WithMetrics(m =>
            {
                m.AddMeter(Telemetry.Name, "Microsoft.Orleans");
                if (exporter == "console") m.AddConsoleExporter(); else m.AddOtlpExporter();
            });
        return builder;
    }

    /// <summary>A TCP port nobody listens on right now, for an in-process silo that must not clash with a running one.</summary>
    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

using System.Text.RegularExpressions;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FedGrains.Cli.Running;

/// <summary>An Orleans client connected to a running FedGrains cluster (--cluster redis://HOST:PORT or a silo's client endpoint HOST:PORT).</summary>
internal sealed class ClusterConnection : IAsyncDisposable
{
    private readonly IHost host;

    private ClusterConnection(IHost host) => this.host = host;

    public IClusterClient Client => host.Services.GetRequiredService<IClusterClient>();

    /// <summary>
    /// Connects within 30 s, in attempts of at most 12 s, each with a fresh client: a client whose first gateway dies
    /// while it fetches the cluster manifest waits out Orleans' response timeout before it tries another, while a
    /// fresh one picks again from the gateways the cluster lists.
    /// </summary>
    public static async Task<ClusterConnection> ConnectAsync(string cluster, string? credential, TlsSettings? tls, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        Exception? failure = null;
        for (var remaining = deadline - DateTime.UtcNow; remaining > TimeSpan.Zero; remaining = deadline - DateTime.UtcNow)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("Orleans", LogLevel.None);
            // A failed attempt is reported once, as a message below; the host's own "failed to start" is a stack trace.
            builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
            builder.AddFedGrainsClient(cluster, credential, tls: tls);
            var host = builder.Build();
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(remaining < TimeSpan.FromSeconds(12) ? remaining : TimeSpan.FromSeconds(12));
            try
            {
                await host.StartAsync(attempt.Token);
                return new ClusterConnection(host);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                // An attempt cut at its deadline says only "canceled": keep a failure that says why, e.g. Redis' NOAUTH.
                if (failure is null || e.GetBaseException() is not OperationCanceledException) failure = e;
                host.Dispose();
            }
        }
        throw new ClusterUnreachableException(
            $"cannot reach the FedGrains cluster at {Shown(cluster)}: {failure?.GetBaseException().Message ?? "no time left to connect."} " +
            "Check --cluster (redis://HOST:PORT, or a silo's client endpoint HOST:PORT; env FEDGRAINS_CLUSTER) and that a silo is running. " +
            (tls is null
                ? "If the cluster uses TLS (FedGrains:Tls:Enabled), give --tls-certificate (this client's .pfx) and --tls-ca (the deployment's ca.pem)."
                : "With TLS: the silos must have TLS on, and both sides' certificates must come from the CA in --tls-ca (the silos log each certificate they refuse, and why)."), failure);
    }

    /// <summary>
    /// The --cluster value as a message may show it: a Redis password (`,password=...`, as StackExchange.Redis takes it)
    /// becomes `***`, so an error message on a terminal or in a CI log does not hand out the key to the cluster's state.
    /// </summary>
    internal static string Shown(string cluster) =>
        Regex.Replace(cluster, @"(?<=(^|,)\s*password\s*=)[^,]*", "***", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <summary>
    /// Says goodbye to the cluster for up to 5 s. A client whose gateway died meanwhile cannot, and that is no failure
    /// of the command, which has already done its work (or failed for its own reason, which must not be hidden).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        try { await host.StopAsync(TimeSpan.FromSeconds(5)); }
        catch (Exception e) when (e is OperationCanceledException or OrleansException or TimeoutException) { }
        finally { host.Dispose(); }
    }
}

internal sealed class ClusterUnreachableException(string message, Exception? inner) : Exception(message, inner);

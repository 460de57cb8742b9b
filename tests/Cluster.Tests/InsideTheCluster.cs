using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests;

internal static class InsideTheCluster
{
    /// <summary>
    /// A silo's own grain factory: calls through it come from inside the cluster, so a test can make the calls that
    /// only the cluster's grains may make (clients may not call gateways at all).
    /// </summary>
    public static IGrainFactory Grains(this InProcessTestCluster cluster) =>
        cluster.GetSiloServiceProvider().GetRequiredService<IGrainFactory>();
}

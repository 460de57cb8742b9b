using FedGrains.Grains.Hosting;

namespace FedGrains.Cluster.Tests.Hosting;

public sealed class ClusterSettingsTests
{
    [Fact]
    public void A_port_under_the_first_releases_name_is_refused_with_the_new_name_not_ignored()
    {
        var problem = Assert.Single(new ClusterSettings { GatewayPort = 30001 }.Problems());
        Assert.Contains("GatewayPort was renamed FedGrains:Cluster:ClientPort", problem);
        Assert.Contains("ClientPort=30001", problem);
        Assert.Empty(new ClusterSettings { ClientPort = 30001 }.Problems());
    }
}

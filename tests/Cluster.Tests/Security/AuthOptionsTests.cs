using FedGrains.Grains.Security;

namespace FedGrains.Cluster.Tests.Security;

public sealed class AuthOptionsTests
{
    [Fact]
    public void Keys_under_the_first_formats_name_are_refused_at_start_with_the_new_name()
    {
        var options = new AuthOptions { Enabled = true, ClientKeys = { ["cli"] = Convert.ToBase64String(new byte[32]) }, ClientRoles = { ["cli"] = "operator" }, ClusterKey = Convert.ToBase64String(new byte[32]), SiteKeys = { ["gw-00"] = Convert.ToBase64String(new byte[32]) } };

        var problem = Assert.Single(options.Problems());

        Assert.Contains("SiteKeys was renamed FedGrains:Auth:GatewayKeys", problem);
    }
}

using FedGrains.Learning.Data;
using FedGrains.Learning.Jobs;

namespace FedGrains.Learning.Tests.Data;

/// <summary>The real dataset (Debian package dataset-fashion-mnist, installed by .ci/run and the README's first command).</summary>
public sealed class FashionMnistTests
{
    [Fact]
    public void The_real_dataset_loads_standardised_and_splits_into_ten_iid_gateways()
    {
        var (train, test) = FashionMnist.Load(dataDir: null);

        Assert.Equal(60000, train.Count);
        Assert.Equal(10000, test.Count);
        Assert.Equal([1, 28, 28], train.ExampleShape);
        Assert.All(train.Labels.GroupBy(l => l), g => Assert.Equal(6000, g.Count()));
        double mean = train.Features.Average(f => (double)f);
        Assert.InRange(mean, -0.01, 0.01);

        var data = JobData.Load(new JobSpec { GatewayCount = 10 });
        var shard = data.ForGateway(new GatewaySpec { Id = "gw-03" });
        Assert.Equal(6000, shard.Count);
        Assert.InRange(shard.Labels.Count(l => l == 0), 500, 700);
    }
}

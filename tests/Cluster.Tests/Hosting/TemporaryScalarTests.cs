using FedGrains.Learning.Tests;

namespace FedGrains.Cluster.Tests.Hosting;

/// <summary>The grains, silo and CLI call libtorch too: none of them may hand it a Scalar the GC can free mid-call.</summary>
public sealed class TemporaryScalarTests
{
    [Fact]
    public void The_grains_silo_and_cli_never_hand_libtorch_a_temporary_scalar()
    {
        var assemblies = new[]
        {
            typeof(Grains.Gateway.DatasetCache).Assembly,
            typeof(global::FedGrains.Cli.Running.RunReport).Assembly,
            typeof(Silo.SiloReadiness).Assembly,
        };

        var violations = assemblies.SelectMany(TemporaryScalarScanner.Violations).ToList();

        Assert.True(violations.Count == 0, string.Join("\n", violations));
    }
}

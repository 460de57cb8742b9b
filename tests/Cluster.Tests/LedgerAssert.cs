using FedGrains.Grains.Interfaces;

namespace FedGrains.Cluster.Tests;

internal static class LedgerAssert
{
    /// <summary>Each gateway's own ledger agrees with the federation's history and the accountant (see <see cref="LedgerAudit.GatewayLedgers"/>).</summary>
    public static void Consistent(IReadOnlyList<RoundRecord> history, IEnumerable<GatewayPrivacy> ledgers, int rounds, double targetEpsilon) =>
        Assert.Empty(LedgerAudit.GatewayLedgers("under test", history, ledgers, rounds, targetEpsilon));
}

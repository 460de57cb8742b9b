using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Privacy;

namespace FedGrains.Cluster.Tests;

internal static class LedgerAssert
{
    /// <summary>
    /// Each gateway's own ledger agrees with the federation's history: it released at most one update per round (a
    /// retried round hands back the same release), at least one for every round that used its update, and its epsilon
    /// is the accountant's answer for exactly those steps, within the budget. A gateway whose silo stopped mid-round may
    /// have spent on a round the federation completed without it: that spend stays on its ledger.
    /// </summary>
    public static void Consistent(IReadOnlyList<RoundRecord> history, IEnumerable<GatewayPrivacy> ledgers, int rounds, double targetEpsilon)
    {
        foreach (var ledger in ledgers)
        {
            var reported = history.SelectMany(r => r.Privacy).Where(p => p.GatewayId == ledger.GatewayId).ToArray();
            Assert.NotEmpty(reported);
            long stepsPerRound = reported.Min(p => p.Steps); // its first report covers exactly one round
            Assert.Equal(0, ledger.Steps % stepsPerRound);
            long releases = ledger.Steps / stepsPerRound;
            int used = history.Count(r => r.Participants.Contains(ledger.GatewayId));
            Assert.InRange(releases, used, rounds);
            Assert.Equal(PrvAccountant.Epsilon(ledger.SampleRate, ledger.NoiseMultiplier, ledger.Steps, ledger.Delta), ledger.Epsilon!.Value, 9);
            Assert.True(ledger.Epsilon <= targetEpsilon, $"{ledger.GatewayId} spent {ledger.Epsilon} > {targetEpsilon}");
        }
    }
}

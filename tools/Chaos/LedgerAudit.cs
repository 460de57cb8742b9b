using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Privacy;

namespace FedGrains.Chaos;

/// <summary>
/// Checks privacy ledgers against the federation's history and against the accountant, and says what is wrong (an
/// empty list when nothing is). Shared by the chaos run, which counts what it finds, and the tests' LedgerAssert.
/// </summary>
public static class LedgerAudit
{
    /// <summary>
    /// Each gateway's own ledger agrees with the history: its epsilon is the accountant's answer for exactly the steps
    /// it holds, within the budget; it holds at least one release for every round that used its update (none lost), at
    /// most one per round (none doubled: a retried round hands back the same release), and its reported spend grew with
    /// every round it took part in. A gateway whose silo died mid-round may have released for a round the federation
    /// completed without it: that spend stays on its ledger (<see cref="UnusedReleases"/>).
    /// </summary>
    public static IReadOnlyList<string> GatewayLedgers(string jobId, IReadOnlyList<RoundRecord> history, IEnumerable<GatewayPrivacy> ledgers,
        int rounds, double targetEpsilon)
    {
        var findings = new List<string>();
        foreach (var ledger in ledgers)
        {
            string who = $"job {jobId} gateway {ledger.GatewayId}";
            var reported = Reported(history, ledger.GatewayId);
            if (reported.Length == 0)
            {
                findings.Add($"{who}: its ledger ({ledger.Steps} steps) is in no round's report");
                continue;
            }
            long perRound = StepsPerRelease(ledger, history);
            if (perRound <= 0 || ledger.Steps % perRound != 0)
            {
                findings.Add($"{who}: its {ledger.Steps} steps are not whole rounds of the {perRound} steps its rounds report");
                continue;
            }
            long releases = ledger.Steps / perRound;
            int used = history.Count(r => r.Participants.Contains(ledger.GatewayId));
            if (releases < used) findings.Add($"{who}: spend lost: {releases} releases on its ledger, but {used} rounds used its update");
            if (releases > rounds) findings.Add($"{who}: spend doubled: {releases} releases on its ledger in a {rounds}-round job");
            for (int i = 1; i < reported.Length; i++)
                if (reported[i].Steps <= reported[i - 1].Steps)
                    findings.Add($"{who}: its spend did not grow from round {reported[i - 1].Round} ({reported[i - 1].Steps} steps) to round {reported[i].Round} ({reported[i].Steps} steps)");
            double expected = Epsilon(ledger.Accountant, ledger.SampleRate, ledger.NoiseMultiplier, perRound, releases, ledger.Delta);
            if (ledger.Epsilon is not { } epsilon || Math.Abs(epsilon - expected) > 1e-9)
                findings.Add($"{who}: epsilon {ledger.Epsilon:R} on its ledger, the {ledger.Accountant} accountant says {expected:R} for its {ledger.Steps} steps");
            else if (epsilon > targetEpsilon)
                findings.Add($"{who}: spent epsilon {epsilon:R}, above the job's target {targetEpsilon}");
        }
        return findings;
    }

    /// <summary>Releases a gateway's ledger holds beyond the rounds that used its update (spent, then its round completed without it).</summary>
    public static long UnusedReleases(IReadOnlyList<RoundRecord> history, GatewayPrivacy ledger)
    {
        long perRound = StepsPerRelease(ledger, history);
        return perRound <= 0 ? 0 : Math.Max(0, ledger.Steps / perRound - history.Count(r => r.Participants.Contains(ledger.GatewayId)));
    }

    /// <summary>
    /// A site's ledger agrees with the gateway ledgers of every job that trained on it (the same releases and steps)
    /// and with the accountant: each job's epsilon at the site's delta, and the site's lifetime epsilon, the
    /// composition of every release recorded. <paramref name="gateways"/>: the gateway ledgers (of those that released
    /// anything) on this site of the jobs in <paramref name="histories"/>, keyed by (job, gateway); the site's records
    /// of other jobs are checked against the accountant only.
    /// </summary>
    public static IReadOnlyList<string> SiteLedger(SiteReport site, IReadOnlyDictionary<(string Job, string Gateway), GatewayPrivacy> gateways,
        IReadOnlyDictionary<string, IReadOnlyList<RoundRecord>> histories)
    {
        var findings = new List<string>();
        var recorded = site.Jobs.ToDictionary(j => (j.JobId, j.GatewayId));
        foreach (var ((job, gateway), ledger) in gateways)
        {
            string who = $"site {site.SiteId}, job {job} gateway {gateway}";
            long gatewayReleases = ledger.Steps == 0 ? 0 : ledger.Steps / StepsPerRelease(ledger, histories[job]);
            if (!recorded.TryGetValue((job, gateway), out var spend))
            {
                if (gatewayReleases > 0) findings.Add($"{who}: the site recorded nothing, the gateway's ledger holds {gatewayReleases} releases");
                continue;
            }
            if (spend.Releases != gatewayReleases || spend.Steps != ledger.Steps)
                findings.Add($"{who}: the site recorded {spend.Releases} releases ({spend.Steps} steps), the gateway's ledger {gatewayReleases} ({ledger.Steps} steps)");
        }
        // A gateway that has released nothing has no ledger to report: the site must have recorded nothing either.
        foreach (var spend in site.Jobs.Where(j => histories.ContainsKey(j.JobId) && !gateways.ContainsKey((j.JobId, j.GatewayId))))
            findings.Add($"site {site.SiteId}, job {spend.JobId} gateway {spend.GatewayId}: the site recorded {spend.Releases} releases ({spend.Steps} steps), the gateway's ledger none");
        var charges = new List<PrivacyCharge>();
        foreach (var spend in site.Jobs)
        {
            if (spend.Releases <= 0 || spend.Steps % spend.Releases != 0)
            {
                findings.Add($"site {site.SiteId}, job {spend.JobId} gateway {spend.GatewayId}: {spend.Steps} steps over {spend.Releases} releases are not whole releases");
                continue;
            }
            var runs = Enumerable.Repeat(new PrivacyCharge(spend.SampleRate, spend.NoiseMultiplier, spend.Steps / spend.Releases), spend.Releases).ToArray();
            charges.AddRange(runs);
            double expected = PrivacyAccountants.Get(site.Accountant).Epsilon(runs, site.Delta);
            if (Math.Abs(spend.Epsilon - expected) > 1e-9)
                findings.Add($"site {site.SiteId}, job {spend.JobId} gateway {spend.GatewayId}: epsilon {spend.Epsilon:R} recorded, the {site.Accountant} accountant says {expected:R}");
        }
        double lifetime = charges.Count == 0 ? 0 : PrivacyAccountants.Get(site.Accountant).Epsilon(charges, site.Delta);
        if (Math.Abs(site.Epsilon - lifetime) > 1e-9)
            findings.Add($"site {site.SiteId}: lifetime epsilon {site.Epsilon:R} reported, the {site.Accountant} accountant says {lifetime:R} for its {charges.Count} releases");
        return findings;
    }

    /// <summary>The gateway's spend as each round it took part in reported it, in round order.</summary>
    private static (int Round, long Steps)[] Reported(IReadOnlyList<RoundRecord> history, string gatewayId) =>
        history.OrderBy(r => r.Round).SelectMany(r => r.Privacy.Where(p => p.GatewayId == gatewayId).Select(p => (r.Round, p.Steps))).ToArray();

    /// <summary>
    /// One release's steps: every spend a round reports is a whole number of releases, so their greatest common
    /// divisor (a gateway's first report is not always its first release: one may have gone unused).
    /// </summary>
    private static long StepsPerRelease(GatewayPrivacy ledger, IReadOnlyList<RoundRecord> history) =>
        Reported(history, ledger.GatewayId).Select(p => p.Steps).Aggregate(ledger.Steps, Gcd);

    private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);

    private static double Epsilon(string accountant, double sampleRate, double noiseMultiplier, long stepsPerRelease, long releases, double delta) =>
        PrivacyAccountants.Get(accountant).Epsilon(Enumerable.Repeat(new PrivacyCharge(sampleRate, noiseMultiplier, stepsPerRelease), (int)releases), delta);
}

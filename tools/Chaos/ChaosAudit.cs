using FedGrains.Grains.Interfaces;

namespace FedGrains.Chaos;

/// <summary>
/// What the run left behind, job by job: whether it completed, its rounds (each of 1..R exactly once, the model at
/// version R), its gateways' ledgers against its history and the accountant, and each site's ledger against the
/// gateway ledgers of every job that trained on it.
/// </summary>
public sealed record ChaosAudit(
    int Jobs,
    int Completed,
    int RoundsLost,
    int RoundsDoubled,
    IReadOnlyList<string> FailedJobs,
    IReadOnlyList<string> RoundFindings,
    IReadOnlyList<string> LedgerFindings,
    int GatewayLedgers,
    int SiteLedgers,
    long UnusedReleases,
    IReadOnlyList<DateTimeOffset> RoundsCompletedAt)
{
    internal static async Task<ChaosAudit> RunAsync(IClusterClient client, IReadOnlyList<string> jobIds, ChaosOptions options)
    {
        int completed = 0, lost = 0, doubled = 0, gatewayLedgers = 0;
        long unused = 0;
        List<string> failed = [], rounds = [], ledgers = [];
        var completedAt = new List<DateTimeOffset>();
        var histories = new Dictionary<string, IReadOnlyList<RoundRecord>>();
        var bySite = new Dictionary<string, Dictionary<(string, string), GatewayPrivacy>>();
        foreach (var id in jobIds)
        {
            var job = client.GetGrain<IFederationGrain>(id);
            var status = await PatientlyAsync(job.GetStatusAsync);
            if (status.State == JobState.Completed) completed++;
            else failed.Add($"job {id}: {status.State} at round {status.RoundsCompleted}/{status.TotalRounds}{(status.Error is { } e ? $": {e}" : "")}");

            var history = await PatientlyAsync(job.GetHistoryAsync);
            histories[id] = history;
            completedAt.AddRange(history.Select(r => r.CompletedAt));
            var seen = history.Select(r => r.Round).ToArray();
            var missing = Enumerable.Range(1, status.RoundsCompleted).Except(seen).ToArray();
            int extra = seen.Length - seen.Distinct().Count() + seen.Distinct().Count(r => r < 1 || r > status.RoundsCompleted);
            (lost, doubled) = (lost + missing.Length, doubled + extra);
            if (missing.Length > 0) rounds.Add($"job {id}: rounds {string.Join(",", missing)} missing from its history of {status.RoundsCompleted}");
            if (extra > 0) rounds.Add($"job {id}: history rounds {string.Join(",", seen)} for {status.RoundsCompleted} completed (a round recorded twice or beyond)");
            var model = await PatientlyAsync(job.GetModelAsync);
            if (model.Version != status.RoundsCompleted) rounds.Add($"job {id}: model version {model.Version} after {status.RoundsCompleted} rounds");

            var gateways = await PatientlyAsync(job.GetGatewayPrivacyAsync);
            gatewayLedgers += gateways.Count;
            ledgers.AddRange(LedgerAudit.GatewayLedgers(id, history, gateways, options.Rounds, targetEpsilon: 3));
            unused += gateways.Sum(g => LedgerAudit.UnusedReleases(history, g));
            // A gateway without a site in the spec trains on the site named after it.
            foreach (var g in gateways)
                (bySite.TryGetValue(g.GatewayId, out var d) ? d : bySite[g.GatewayId] = [])[(id, g.GatewayId)] = g;
        }
        foreach (var (site, gateways) in bySite)
        {
            var report = await PatientlyAsync(client.GetGrain<ISiteLedgerGrain>(site).GetReportAsync);
            ledgers.AddRange(LedgerAudit.SiteLedger(report, gateways, histories));
        }
        return new ChaosAudit(jobIds.Count, completed, lost, doubled, failed, rounds, ledgers, gatewayLedgers, bySite.Count, unused, completedAt);
    }

    /// <summary>A read, retried for a minute while the cluster settles after the last restart.</summary>
    private static async Task<T> PatientlyAsync<T>(Func<Task<T>> read)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            try { return await read().WaitAsync(TimeSpan.FromSeconds(30)); }
            catch (Exception e) when (e is OrleansException or TimeoutException && DateTime.UtcNow < deadline) { await Task.Delay(500); }
        }
    }
}

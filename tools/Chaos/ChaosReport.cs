using System.Globalization;
using System.Text;

namespace FedGrains.Chaos;

/// <summary>
/// A chaos run's figures. Clean when every kill was dealt and followed by a completed round, every job completed
/// with each of its rounds once, no ledger disagrees, and the CLI answered every submission with success or
/// "cannot reach the cluster" (exit 3), never a crash or a wrong refusal.
/// </summary>
public sealed record ChaosReport(
    ChaosOptions Options,
    IReadOnlyList<Kill> Kills,
    ChaosAudit Audit,
    IReadOnlyList<string> CliErrors,
    IReadOnlyList<string> UnplannedExits,
    TimeSpan Elapsed,
    string LogsDirectory,
    IReadOnlyList<int> ProcessIds)
{
    /// <summary>Per kill, the time until the next round completed in any job (null: none did).</summary>
    public IReadOnlyList<TimeSpan?> KillToNextRound { get; } = Kills
        .Select(k => Audit.RoundsCompletedAt.Where(t => t > k.At).Select(t => (TimeSpan?)(t - k.At)).Min())
        .ToArray();

    public int LedgerMismatches => Audit.LedgerFindings.Count;

    public bool Clean => Kills.Count == Options.Kills && KillToNextRound.All(t => t is not null) && Audit.Completed == Audit.Jobs
        && Audit.RoundsLost == 0 && Audit.RoundsDoubled == 0 && Audit.RoundFindings.Count == 0 && LedgerMismatches == 0 && CliErrors.Count == 0;

    /// <summary>The one line to read: the figures the chaos bench is judged by.</summary>
    public string Summary => string.Create(CultureInfo.InvariantCulture,
        $"chaos {(Clean ? "PASSED" : "FAILED")}: {Kills.Count} kills, {Audit.Jobs} jobs, {Audit.RoundsLost} rounds lost, {Audit.RoundsDoubled} doubled, " +
        $"{Audit.FailedJobs.Count} jobs failed, {LedgerMismatches} ledger mismatches, kill to next round median {Seconds(Median())} max {Seconds(Max())} (seed {Options.Seed})");

    public override string ToString()
    {
        var text = new StringBuilder();
        void Row(string figure, object value) => text.AppendLine(CultureInfo.InvariantCulture, $"| {figure,-28} | {value,-60} |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| {"figure",-28} | {"value",-60} |");
        text.AppendLine($"|{new string('-', 30)}|{new string('-', 62)}|");
        Row("seed", Options.Seed);
        Row("kills", $"{Kills.Count} of {Options.Kills}: " + string.Join(", ", Kills.GroupBy(k => k.Victim.Split(' ')[0]).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}")));
        Row("kills before recovery", Kills.Count(k => k.Overlap));
        Row("jobs", $"{Audit.Jobs} ({Audit.Completed} completed), {Options.Gateways} gateways x {Options.Rounds} rounds");
        Row("rounds lost", Audit.RoundsLost);
        Row("rounds doubled", Audit.RoundsDoubled);
        Row("jobs failed", Audit.FailedJobs.Count);
        Row("ledger mismatches", $"{LedgerMismatches} ({Audit.GatewayLedgers} gateway ledgers, {Audit.SiteLedgers} site ledgers)");
        Row("releases spent, unused", $"{Audit.UnusedReleases} (on the gateway's ledger: its round completed without it)");
        Row("kill to next round", $"median {Seconds(Median())}, max {Seconds(Max())}, none after {KillToNextRound.Count(t => t is null)} kills");
        foreach (var victim in Kills.Select((k, i) => (Victim: k.Victim.Split(' ')[0], Next: KillToNextRound[i])).GroupBy(k => k.Victim).OrderBy(g => g.Key))
            Row($"  after a kill of {victim.Key}", $"median {Seconds(Median(victim.Select(v => v.Next)))}, max {Seconds(Max(victim.Select(v => v.Next)))}");
        Row("CLI errors", CliErrors.Count);
        Row("unplanned exits", $"{UnplannedExits.Count} (restarted)");
        Row("processes started", ProcessIds.Count);
        Row("elapsed", Seconds(Elapsed));
        foreach (var (title, lines) in new[] { ("failed jobs", Audit.FailedJobs), ("round findings", Audit.RoundFindings),
                     ("ledger findings", Audit.LedgerFindings), ("CLI errors", CliErrors), ("unplanned exits", UnplannedExits) })
        {
            if (lines.Count == 0) continue;
            text.AppendLine($"{title}:");
            foreach (var line in lines.Take(40)) text.AppendLine($"  {line}");
            if (lines.Count > 40) text.AppendLine($"  ... and {lines.Count - 40} more");
        }
        if (!Clean) text.AppendLine($"logs of every process: {LogsDirectory}");
        text.Append(Summary);
        return text.ToString();
    }

    private TimeSpan? Median() => Median(KillToNextRound);

    private TimeSpan? Max() => Max(KillToNextRound);

    private static TimeSpan? Median(IEnumerable<TimeSpan?> times)
    {
        var known = times.OfType<TimeSpan>().Order().ToArray();
        return known.Length == 0 ? null : known.Length % 2 == 1 ? known[known.Length / 2] : (known[known.Length / 2 - 1] + known[known.Length / 2]) / 2;
    }

    private static TimeSpan? Max(IEnumerable<TimeSpan?> times) => times.OfType<TimeSpan>().Select(t => (TimeSpan?)t).Max();

    private static string Seconds(TimeSpan? t) => t is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v.TotalSeconds:F1} s") : "n/a";
}

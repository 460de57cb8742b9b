namespace FedGrains.Chaos;

/// <summary>What a chaos run does: how many kills, drawn from which seed, on what cluster, with which jobs.</summary>
public sealed record ChaosOptions
{
    /// <summary>SIGKILLs to deal (of a silo or of redis-server), each followed by a restart.</summary>
    public int Kills { get; init; } = 10;

    /// <summary>Seeds every random choice (victim, moment, downtime): the same seed replays the same sequence of faults.</summary>
    public int Seed { get; init; } = Random.Shared.Next();

    /// <summary>Silos that host gateways, next to the one federation silo (which hosts none).</summary>
    public int GatewaySilos { get; init; } = 2;

    /// <summary>Jobs kept running at once while kills are dealt; a new one is submitted as each ends.</summary>
    public int ConcurrentJobs { get; init; } = 3;

    public int Rounds { get; init; } = 6;

    public int Gateways { get; init; } = 4;

    /// <summary>A victim is killed a random time up to this after the previous restart (at least 0.3 s).</summary>
    public TimeSpan MaxUptime { get; init; } = TimeSpan.FromSeconds(6);

    /// <summary>A killed process stays down a random time up to this (at least 0.2 s) before it is started again.</summary>
    public TimeSpan MaxDowntime { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>
    /// The chance that a kill does not wait for a round to complete after the previous one: a second fault while the
    /// cluster is still recovering (a silo rejoining, jobs re-activating, redis reloading). Otherwise each kill waits
    /// for progress, so N kills are N faults of a working cluster.
    /// </summary>
    public double OverlapProbability { get; init; } = 0.2;

    /// <summary>How long a kill waits for a round to complete since the previous kill before it is dealt anyway.</summary>
    public TimeSpan ProgressTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>After the last kill, how long every job gets to end (a job retries unreachable gateways for five minutes).</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Progress lines (kills, restarts, jobs); the report comes back from <see cref="ChaosDriver.RunAsync"/>.</summary>
    public Action<string> Log { get; init; } = Console.WriteLine;

    public IEnumerable<string> Problems()
    {
        if (Kills < 0) yield return $"kills={Kills} must be >= 0.";
        if (GatewaySilos < 1) yield return $"gateway silos={GatewaySilos} must be >= 1.";
        if (ConcurrentJobs < 1) yield return $"concurrent jobs={ConcurrentJobs} must be >= 1.";
        if (Rounds < 1 || Gateways < 1) yield return $"rounds={Rounds} and gateways={Gateways} must be >= 1.";
        if (OverlapProbability is < 0 or > 1) yield return $"overlap probability={OverlapProbability} must be in [0, 1].";
    }
}

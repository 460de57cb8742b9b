namespace FedGrains.Learning.Privacy;

/// <summary>
/// The fields of one site-ledger entry that its hash covers: which job, gateway, round and model version ran, what
/// it released, and when it was recorded (UTC ticks). Every field a reader of the ledger relies on is in here, so
/// changing any of them in storage breaks the chain.
/// </summary>
public sealed record LedgerEntry(string JobId, string GatewayId, int Round, long ModelVersion, IReadOnlyList<PrivacyCharge> Charges, long RecordedAtUtcTicks);

/// <summary>Where a ledger's hash chain breaks: the first entry (0-based) whose stored hash is not the recomputed one.</summary>
/// <param name="JobId">The entry's job, or null when the break is a hash without an entry (the entry was removed).</param>
/// <param name="Round">The entry's round, or null as for <paramref name="JobId"/>.</param>
public sealed record LedgerBreak(int Index, string? JobId, int? Round);

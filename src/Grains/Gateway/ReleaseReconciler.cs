using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using Microsoft.Extensions.Logging;

namespace FedGrains.Grains.Gateway;

/// <summary>
/// Keeps a gateway's ledger and its site's ledger saying the same thing. A release is one fact, keyed by (job,
/// gateway, sequence, model version), recorded by both, in this order (<see cref="GatewayGrain.TrainAsync"/>):
/// <list type="number">
/// <item>the gateway checks its own budget (nothing is written);</item>
/// <item>the site's ledger records the spend, durably, before it answers (<c>SiteLedgerGrain.SpendAsync</c>; the same
/// key again records nothing);</item>
/// <item>the gateway trains and draws its noise, in memory;</item>
/// <item>the gateway's ledger records the release with the signed update, durably;</item>
/// <item>the update leaves the gateway (the reply).</item>
/// </list>
/// Crash windows: before 2, nothing is recorded and nothing drawn. Between 2 and 4 (the silo killed while training,
/// the site's reply lost, training failed or was cancelled, the gateway's write failed) the site has the spend and the
/// gateway does not, and nothing left the gateway. The gateway adopts it as an unreleased release (charged on both
/// ledgers, no update): a failure it sees is recorded at once; after a crash or a failed site call, its next call
/// first reads the site's spends of this job (<see cref="EnsureAsync"/>) and adopts those it lacks, in memory (they
/// are written with its next release; until then the site's record is the durable one, read again on every
/// activation), so reading a store to check it writes nothing. A retry of that
/// request then trains again under the same key and is not charged again: the earlier draw never left the gateway,
/// so only one output of the mechanism is ever seen. Between 4 and 5 (the reply lost) both ledgers have it and a
/// retry of the same request gets the same update back. Since 2 comes before 4, a release the site lacks means the
/// site's record lost entries; the gateway then refuses to train or report until the site's ledger is restored.
/// </summary>
internal sealed partial class ReleaseReconciler(IPersistentState<GatewayState> ledger, IGrainFactory grains, AnswerSeals seals, Func<string> jobId,
    Func<string> gatewayId, Action deactivate, ILogger logger)
{
    private Task? reconciled;

    /// <summary>
    /// Why this gateway refuses to train and report (null: it does not): its site's ledger is altered, lost or
    /// unreadable, or lacks some of this gateway's releases, so the two cannot be reconciled until it is restored.
    /// </summary>
    public string? Disagreement { get; private set; }

    /// <summary>Reads the site's spends once per activation and after <see cref="Invalidate"/>; adopts what the gateway lacks.</summary>
    public Task EnsureAsync() => reconciled ??= ReconcileAsync();

    /// <summary>A site call failed: the site may have recorded a spend this gateway does not know of; look again next time.</summary>
    public void Invalidate() => reconciled = null;

    /// <summary>The same request: sequence and model version (a first-format release kept no version, -1).</summary>
    public static bool Matches(GatewayRelease release, int sequence, long modelVersion) =>
        release.Sequence == sequence && (release.ModelVersion == modelVersion || release.ModelVersion < 0);

    /// <summary>Records a spend the site has and this gateway did not finish (training failed or was cancelled after the site recorded it).</summary>
    public async Task AdoptAsync(GatewayRelease unreleased)
    {
        Insert(ledger.State.Releases, [unreleased]);
        try { await ledger.WriteStateAsync(); }
        catch (Exception e)
        {
            Invalidate(); // the next activation finds it on the site's ledger
            deactivate();
            WriteFailed(logger, jobId(), gatewayId(), e.Message);
        }
    }

    private async Task ReconcileAsync()
    {
        var s = ledger.State;
        if (s.Spec is not { } spec) return; // not joined: nothing spent
        var site = spec.ResolveGateways().First(g => g.Id == gatewayId()).SiteId;
        IReadOnlyList<SiteSpend> spends;
        try
        {
            var challenge = AnswerSeals.NewChallenge();
            spends = seals.Open(SealedPurpose.Spends(site, jobId(), gatewayId()), challenge,
                await grains.GetGrain<ISiteLedgerGrain>(site).GetSpendsAsync(jobId(), gatewayId(), challenge));
        }
        catch (InvalidOperationException e) when (e is not ObjectDisposedException)
        {
            Disagreement = e.Message; // the site's ledger refuses: altered, unreadable or lost
            return;
        }
        catch (Exception e)
        {
            Invalidate(); // unreachable for now (a silo restarting, a site offline)
            Deferred(logger, jobId(), gatewayId(), site, e.Message);
            return;
        }
        var lacks = s.Releases.Where(r => !spends.Any(p => Matches(r, p.Round, p.ModelVersion))).Select(r => r.Sequence).ToArray();
        if (lacks.Length > 0)
        {
            Disagreement = $"the privacy ledger of site {site} lacks {lacks.Length} release(s) that gateway '{gatewayId()}' of job '{jobId()}' recorded (requests {string.Join(", ", lacks.Take(10))}{(lacks.Length > 10 ? ", ..." : "")}): the site records every spend before its gateway trains, so its ledger lost entries (restored from an older backup?). Restore the site's ledger from a backup; FedGrains will not train or report on this site until both ledgers agree.";
            SiteLedgerLacks(logger, jobId(), gatewayId(), site, lacks.Length);
            return;
        }
        var adopted = spends.Where(p => !s.Releases.Any(r => Matches(r, p.Round, p.ModelVersion)))
            .Select(p => new GatewayRelease(p.Round, p.ModelVersion, p.Charges, p.RecordedAt, Unreleased: true)).ToArray();
        if (adopted.Length == 0) return;
        Insert(s.Releases, adopted);
        Adopted(logger, jobId(), gatewayId(), site, adopted.Length, string.Join(", ", adopted.Select(a => a.Sequence)));
    }

    /// <summary>Keeps the releases in request order (the accountant's composition does not depend on it; reading the ledger does).</summary>
    private static void Insert(List<GatewayRelease> releases, IEnumerable<GatewayRelease> more)
    {
        var all = releases.Concat(more).OrderBy(r => r.Sequence).ToArray();
        releases.Clear();
        releases.AddRange(all);
    }

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning,
        Message = "Gateway {GatewayId} of job {JobId} adopted {Count} spend(s) its site {SiteId} recorded and the gateway did not finish (requests {Requests}): both ledgers now count them")]
    private static partial void Adopted(ILogger logger, string jobId, string gatewayId, string siteId, int count, string requests);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Gateway {GatewayId} of job {JobId} could not read its site {SiteId}'s ledger yet ({Reason}); it tries again on its next call")]
    private static partial void Deferred(ILogger logger, string jobId, string gatewayId, string siteId, string reason);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "Gateway {GatewayId} of job {JobId}: the ledger of site {SiteId} lacks {Count} of its releases; it refuses to train or report")]
    private static partial void SiteLedgerLacks(ILogger logger, string jobId, string gatewayId, string siteId, int count);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "Gateway {GatewayId} of job {JobId} could not record an unfinished spend ({Reason}); its next activation adopts it from the site's ledger")]
    private static partial void WriteFailed(ILogger logger, string jobId, string gatewayId, string reason);
}

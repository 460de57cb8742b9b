using FedGrains.Grains.Security;
using System.Security.Cryptography;
using FedGrains.Grains.Gateway;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Placement;
using FedGrains.Learning.Jobs;
using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Grains.Federation;

/// <summary>The unmasked result of a secure round: the survivors' mean delta, and what the protocol cost.</summary>
public sealed record SecureSum(float[] MeanDelta, IReadOnlyList<string> Survivors, long BytesUp, double WrapProbability, bool Signed);

/// <summary>
/// One attempt of a secure round (SecAgg+, Bell et al. 2020): the federation only relays. It asks the cohort to
/// train (each gateway keeps its delta and answers with this attempt's public keys), relays the keys along a fresh
/// random neighbour graph, relays the encrypted shares, collects the masked deltas, asks the survivors for the
/// shares that remove the masks, and unmasks the sum. A gateway that fails or is late at any stage has dropped; the
/// protocol tolerates that down to the threshold, below which nothing is unmasked and the round is attempted again
/// from scratch (a new context: new keys, masks and graph; the gateways train nothing again). Nothing of an attempt is
/// persisted: a federation that restarts starts the round anew.
/// </summary>
internal static class SecureRound
{
    /// <summary>How long a gateway has for each of the three short stages (keys, shares, unmasking are milliseconds of work).</summary>
    private static readonly TimeSpan StageTimeout = TimeSpan.FromSeconds(60);

    public sealed record Outcome(IReadOnlyList<ReceivedUpdate> Results, SecureSum? Sum, string? Failure);

    public static async Task<Outcome> RunAsync(IRoundHost host, JobSpec spec, IReadOnlyList<string> cohort, RoundTask task, int parameters,
        Action<int> trained, CancellationToken cancellationToken)
    {
        using var activity = Telemetry.Source.StartActivity("secure-aggregation");
        SecureRoundPlan plan;
        try { plan = SecureRoundPlan.For(spec.Aggregation.Secure, cohort.Count, parameters); }
        catch (ArgumentException e) { return new Outcome([], null, $"secure aggregation cannot run round {task.Sequence}: {e.Message}"); }
        var context = SecureRoundPlan.NewContext(host.JobId, task.Sequence, task.ModelVersion);
        var index = cohort.Select((id, i) => (id, i: i + 1)).ToDictionary(p => p.id, p => p.i);
        var idOf = index.ToDictionary(p => p.Value, p => p.Key);
        IGatewayGrain Gateway(string id) => SiteCalls.Gateway(host.GrainFactory, host.JobId, id);
        // Each stage call carries a fresh challenge; only an answer sealed for it by a silo of this cluster is taken.
        async Task<T> Sealed<T>(int i, string stage, Func<IGatewayGrain, string, Task<Sealed<T>>> call)
        {
            var challenge = AnswerSeals.NewChallenge();
            // With the gateway's site, as every call to it: one that lost its activation is placed on its site's silo
            // again (and then says it has no attempt) rather than failing for want of a site.
            var answer = await SiteCalls.CallAsync(host.SiteOf(idOf[i]), () => call(Gateway(idOf[i]), challenge));
            return host.Seals.Open(SealedPurpose.SecureStage(host.JobId, idOf[i], stage), challenge, answer);
        }
        var dropped = new Dictionary<string, string>();
        long bytesUp = 0;
        // Each stage's wall time, as a metric and as an event of the round's trace.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Lap(string stage)
        {
            var seconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            Telemetry.SecureStageDuration.Record(seconds, new KeyValuePair<string, object?>("stage", stage));
            activity?.AddEvent(new System.Diagnostics.ActivityEvent($"{stage} done", tags: new() { ["seconds"] = seconds }));
        }

        // Training, then stage 1 (keys): one call.
        int done = 0;
        var answers = await Task.WhenAll(cohort.Select(async id =>
        {
            var setup = new SecureRoundSetup(index[id], cohort.Count, context, AnswerSeals.NewChallenge());
            var answer = await GatewayCalls.AskSecureAsync(host, id, task, setup, spec.RoundTimeoutSeconds, cancellationToken);
            trained(++done);
            return answer;
        }));
        var results = answers.Select(a => a.Received).ToArray();
        Lap(SecureStage.Train);
        // Stopped, or a site awaits its admin's approval (the round waits for it): nothing is unmasked now, so the
        // repeated round unmasks its full cohort once.
        if (host.Stopped || results.Any(r => GatewaySitePolicy.AwaitsApproval(r.Update?.RefusedReason))) return new Outcome(results, null, null);
        // An answer the federation could not accept (unsigned, no examples) is dropped before its delta enters the sum.
        foreach (var a in answers.Where(a => a.Keys is not null))
            if (host.Aggregator.SecureAnswerRefusal(host.JobId, a.Received) is { } refused) dropped[a.Received.Id] = $"dropped out of secure aggregation: {refused}";
        var earlier = PinnedSurvivors(answers.Where(a => a.Keys is not null && !dropped.ContainsKey(a.Received.Id)).Select(a => (index[a.Received.Id], a.UnmaskedFor)),
            cohort.Count, plan.MinSurvivors, idOf, dropped);
        if (earlier is not null)
            foreach (var a in answers.Where(a => a.Keys is not null && !earlier.Contains(index[a.Received.Id])))
                dropped.TryAdd(a.Received.Id, $"left out of this attempt of round {task.Sequence}: an earlier attempt's unmasking covered the {earlier.Count} gateways it had then, and no other sum of the same deltas may be unmasked");
        var advertised = answers.Where(a => a.Keys is not null && !dropped.ContainsKey(a.Received.Id)).ToDictionary(a => index[a.Received.Id], a => a.Keys!);
        foreach (var a in answers.Where(a => a.Keys is null)) dropped[a.Received.Id] = a.Received.Error ?? a.Received.Update?.RefusedReason ?? "no keys";
        bytesUp += advertised.Values.Sum(k => k.WireBytes);

        try
        {
            var graph = earlier is null ? NeighbourGraph.Build(cohort.Count, plan.Neighbours, new Random(RandomNumberGenerator.GetInt32(int.MaxValue)))
                : GraphOver(earlier.Order().ToArray(), plan.Neighbours);
            var verifier = host.Signing.VerifierFor(spec);
            var aggregator = new SecAggAggregator(plan.Protocol(context), graph, verifier);
            // What the aggregator itself set aside at a stage (malformed, or not the sender's own) is a dropout too.
            void SetAside(IEnumerable<int> indices, string why)
            {
                foreach (var i in indices) dropped.TryAdd(idOf[i], $"dropped out of secure aggregation: {why}");
            }
            var keys = aggregator.RouteKeys(advertised);
            SetAside(aggregator.Dropouts.BeforeKeys.Where(advertised.ContainsKey), "its public keys were refused (not X25519 keys, or not its own)");
            var sent = await StageAsync(keys, (i, k) => Sealed(i, SecureStage.Share, (g, c) => g.ShareKeysAsync(context, k, c)), "sharing keys", idOf, dropped, cancellationToken);
            Lap(SecureStage.Share);
            var routed = aggregator.RouteShares(sent); // only well-formed, complete share lists are routed
            bytesUp += routed.Values.Sum(s => s.Sum(e => e.WireBytes));
            SetAside(aggregator.Dropouts.BeforeShares.Where(sent.ContainsKey), "it did not send exactly one share to every neighbour");
            // Unpacked as it arrives: a gateway whose bytes are not the round's vector dropped (StageAsync).
            var masked = await StageAsync(routed, async (i, s) => ModularArithmetic.Unpack(await Sealed(i, SecureStage.Mask, (g, c) => g.MaskInputAsync(context, s, c)), plan.Length, plan.Encoding.Bits),
                "sending its masked delta", idOf, dropped, cancellationToken);
            bytesUp += masked.Count * (((long)plan.Length * plan.Encoding.Bits + 7) / 8);
            Lap(SecureStage.Mask);
            var request = aggregator.RequestUnmask(masked);
            if (request.Survivors.Count < spec.MinUpdatesPerRound)
                throw new SecAggAbortedException($"only {request.Survivors.Count} gateways sent masked inputs, fewer than min_updates_per_round={spec.MinUpdatesPerRound}");
            SetAside(aggregator.Dropouts.BeforeInput.Where(masked.ContainsKey), "its masked delta has the wrong length");
            // Signed rounds: each survivor signs the survivor set, and each is asked to unmask with its neighbours' signatures of it.
            // Decided by the deployment (certificates to check them with), never by what a gateway sent.
            async Task<IReadOnlyDictionary<int, UnmaskRequest>> CountersignAsync()
            {
                int[] set = [.. request.Survivors];
                var signatures = await StageAsync(request.Survivors.ToDictionary(i => i, _ => set),
                    (i, s) => Sealed(i, SecureStage.Survivors, (g, c) => g.SignSurvivorsAsync(context, s, c)), "signing the survivor set", idOf, dropped, cancellationToken);
                var requests = aggregator.Countersign(signatures);
                SetAside(aggregator.Dropouts.BeforeConsistency.Where(signatures.ContainsKey), "its signature of the survivor set does not verify");
                Lap(SecureStage.Survivors);
                return requests;
            }
            var signed = verifier is not null && request.Survivors.All(i => advertised[i].Signature is not null);
            var survivors = signed ? await CountersignAsync() : request.Survivors.ToDictionary(i => i, _ => request);
            var shares = await StageAsync(survivors, (i, r) => Sealed(i, SecureStage.Unmask, (g, c) => g.UnmaskAsync(context, r, c)), "unmasking", idOf, dropped, cancellationToken);
            bytesUp += shares.Values.Sum(s => s?.WireBytes ?? 0);
            Lap(SecureStage.Unmask);
            var sum = aggregator.Unmask(shares);
            var mean = plan.DecodeMean(sum, request.Survivors.Count, SecureRoundPlan.RotationSeed(host.JobId, task.Sequence, task.ModelVersion));
            Lap("sum");
            activity?.SetTag("fedgrains.secagg.survivors", request.Survivors.Count);
            Telemetry.SecureRoundDropouts.Add(cohort.Count - request.Survivors.Count);
            return new Outcome(Dropouts(results, dropped), new SecureSum(mean, request.Survivors.Select(i => idOf[i]).ToArray(), bytesUp, plan.WrapProbability, signed), null);
        }
        catch (OperationCanceledException) when (host.Stopped)
        {
            return new Outcome(results, null, null); // cancelled or shutting down: nothing of this round is recorded
        }
        // CryptographicException and DllNotFoundException: OpenSSL's X25519 unavailable or failing on this silo.
        catch (Exception e) when (e is SecAggAbortedException or ArgumentException or InvalidDataException or OperationCanceledException
            or System.Security.Cryptography.CryptographicException or DllNotFoundException or EntryPointNotFoundException)
        {
            Telemetry.SecureRoundsAborted.Add(1);
            var reason = e is OperationCanceledException ? $"round_timeout_seconds={spec.RoundTimeoutSeconds} passed" : e.Message;
            var why = $"secure aggregation of round {task.Sequence} aborted, nothing was unmasked: {reason}";
            return new Outcome(Dropouts(results, dropped), null,
                dropped.Count == 0 ? why : $"{why} (dropped: {string.Join("; ", dropped.Select(d => $"{d.Key}: {d.Value}"))})");
        }
    }

    /// <summary>
    /// An earlier attempt of this request got unmask shares for one set of survivors (cohort indices, stable across
    /// attempts: the cohort is the same list): the gateways will help unmask that same sum only, so this attempt
    /// takes exactly those. A report that cannot be one (not naming its reporter, repeated or out-of-range indices,
    /// fewer than a sum may hold) drops its reporter; when reports disagree (only a lying gateway makes them), the
    /// reporters of all but the set most report are dropped; null when nobody reports one.
    /// </summary>
    internal static HashSet<int>? PinnedSurvivors(IEnumerable<(int Index, int[]? Set)> reports, int cohort, int minSurvivors,
        Dictionary<int, string> idOf, Dictionary<string, string> dropped)
    {
        var valid = new List<(int Index, int[] Set)>();
        foreach (var (i, set) in reports)
        {
            if (set is null) continue;
            if (set.Length < minSurvivors || set.Distinct().Count() != set.Length || set.Any(v => v < 1 || v > cohort) || !set.Contains(i))
                dropped.TryAdd(idOf[i], "dropped out of secure aggregation: it reported an earlier unmasking that cannot have been");
            else valid.Add((i, set.Order().ToArray()));
        }
        var groups = valid.GroupBy(v => string.Join(',', v.Set)).OrderByDescending(g => g.Count()).ToList();
        if (groups.Count == 0) return null;
        foreach (var (i, _) in groups.Skip(1).SelectMany(g => g))
            dropped.TryAdd(idOf[i], "dropped out of secure aggregation: it reported an earlier unmasking other gateways contradict");
        return groups[0].First().Set.ToHashSet();
    }

    /// <summary>A fresh neighbour graph over <paramref name="members"/> only (each keeps at most k neighbours, as the gateways require).</summary>
    private static Dictionary<int, int[]> GraphOver(int[] members, int k)
    {
        var local = NeighbourGraph.Build(members.Length, Math.Min(k, members.Length - 1), new Random(RandomNumberGenerator.GetInt32(int.MaxValue)));
        return local.ToDictionary(p => members[p.Key - 1], p => p.Value.Select(v => members[v - 1]).ToArray());
    }

    /// <summary>Calls every gateway of a stage at once; those that fail or are late have dropped, with the reason.</summary>
    private static async Task<Dictionary<int, TOut>> StageAsync<TIn, TOut>(IReadOnlyDictionary<int, TIn> inputs, Func<int, TIn, Task<TOut>> call,
        string stage, Dictionary<int, string> idOf, Dictionary<string, string> dropped, CancellationToken cancellationToken)
    {
        var answers = await Task.WhenAll(inputs.Select(async p =>
        {
            try { return (p.Key, Value: await call(p.Key, p.Value).WaitAsync(StageTimeout, cancellationToken), Error: (string?)null); }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return (p.Key, Value: default(TOut), Error: e is TimeoutException ? $"no answer within {StageTimeout.TotalSeconds:F0} s" : e.Message);
            }
        }));
        cancellationToken.ThrowIfCancellationRequested();
        foreach (var a in answers.Where(a => a.Error is not null)) dropped[idOf[a.Key]] = $"dropped out of secure aggregation while {stage}: {a.Error}";
        return answers.Where(a => a.Error is null).ToDictionary(a => a.Key, a => a.Value!);
    }

    /// <summary>The answers, with the reason each dropped gateway dropped, so the round's record says it.</summary>
    private static ReceivedUpdate[] Dropouts(IReadOnlyList<ReceivedUpdate> results, Dictionary<string, string> dropped) =>
        results.Select(r => dropped.TryGetValue(r.Id, out var why) && r.Update is not null && r.Update.RefusedReason is null
            ? r with { Update = r.Update with { RefusedReason = why } } : r).ToArray();
}

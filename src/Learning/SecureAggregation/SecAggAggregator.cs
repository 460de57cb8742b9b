namespace FedGrains.Learning.SecureAggregation;

/// <summary>
/// The federation's side of one SecAgg+ round (Bell et al. 2020, Algorithm 2, server). It relays keys and encrypted
/// shares along the neighbour graph, collects masked inputs, and unmasks only their sum. One aggregator serves one
/// round attempt; after a failure the next attempt starts with new participants and a new context.
/// </summary>
/// <remarks>
/// Stages: <see cref="RouteKeys"/> (U1: who advertised), <see cref="RouteShares"/> (U2: who shared), <see cref="RequestUnmask"/>
/// (U3: who sent a masked input; the dropped are U2 \ U3), <see cref="Unmask"/> (U4: who answered). The sum is
/// sum_U3 y_u - sum_U3 PRG(b_u) - sum over u in U3 and dropped neighbours v of +-PRG(s_uv). The aggregator never asks
/// for, and refuses to hold, both a self-mask share and a mask-key share of one gateway.
/// </remarks>
public sealed class SecAggAggregator
{
    private readonly SecAggParameters _parameters;
    private readonly IReadOnlyDictionary<int, int[]> _graph;
    private Dictionary<int, SecAggKeys>? _keys;
    private HashSet<int>? _shared;
    private Dictionary<int, uint[]>? _masked;
    private UnmaskRequest? _request;
    private readonly ISecAggVerifier? _verifier;

    /// <param name="verifier">Signed rounds: keys are relayed only when signed for their gateway, so one gateway with bad keys cannot stop its neighbours.</param>
    public SecAggAggregator(SecAggParameters parameters, IReadOnlyDictionary<int, int[]> graph, ISecAggVerifier? verifier = null)
    {
        parameters.Check();
        if (graph.Values.Any(n => n.Length < parameters.Threshold || n.Length > parameters.Neighbours))
            throw new ArgumentException($"every gateway needs between the threshold {parameters.Threshold} and {parameters.Neighbours} neighbours ({graph.Values.Min(n => n.Length)}-{graph.Values.Max(n => n.Length)} in this graph)");
        _parameters = parameters;
        _graph = graph;
        _verifier = verifier;
    }

    /// <summary>Gateways the federation learned had dropped, by the stage they dropped at (for the round's record).</summary>
    public SecAggDropouts Dropouts { get; } = new();

    /// <summary>
    /// Stage 1: each advertising gateway (keyed by who sent it) gets the keys of its neighbours that advertised. A
    /// gateway whose keys name another index or are not X25519 keys (32 bytes, not a low-order point) has dropped: one gateway cannot abort the round.
    /// </summary>
    public IReadOnlyDictionary<int, IReadOnlyList<SecAggKeys>> RouteKeys(IReadOnlyDictionary<int, SecAggKeys> advertised)
    {
        _keys = advertised.Where(p => _graph.ContainsKey(p.Key) && p.Value.Index == p.Key && ValidKeys(p.Value) && Signed(p.Value)).ToDictionary(p => p.Key, p => p.Value);
        if (_verifier is not null) // one gateway's signed keys relayed under two indices: neither is relayed
            foreach (var twice in _keys.GroupBy(p => p.Value.Owner).Where(g => g.Count() > 1).SelectMany(g => g).ToList()) _keys.Remove(twice.Key);
        Dropouts.BeforeKeys.AddRange(_graph.Keys.Where(i => !_keys.ContainsKey(i)).Order());
        return _keys.Keys.ToDictionary(i => i, i => (IReadOnlyList<SecAggKeys>)_graph[i].Where(_keys.ContainsKey).Select(v => _keys[v]).ToList());
    }

    /// <summary>
    /// Stage 2: each sharing gateway gets the shares addressed to it by neighbours that shared. A gateway counts as
    /// having shared only when it sent exactly one share, from itself, to every neighbour that advertised: one that left
    /// a neighbour out would mask with it without being masked back, and the sum would come out wrong.
    /// </summary>
    public IReadOnlyDictionary<int, IReadOnlyList<EncryptedShare>> RouteShares(IReadOnlyDictionary<int, IReadOnlyList<EncryptedShare>> sent)
    {
        if (_keys is null) throw new InvalidOperationException("shares routed before keys");
        var complete = sent.Where(p => _keys.ContainsKey(p.Key) && p.Value is not null && SharedWithEveryNeighbour(p.Key, p.Value)).ToDictionary(p => p.Key, p => p.Value);
        _shared = complete.Keys.ToHashSet();
        Dropouts.BeforeShares.AddRange(_keys.Keys.Where(i => !_shared.Contains(i)).Order());
        var byRecipient = complete.Values.SelectMany(s => s).Where(s => _shared.Contains(s.To)).ToLookup(s => s.To);
        return _shared.ToDictionary(i => i, i => (IReadOnlyList<EncryptedShare>)byRecipient[i].ToList());
    }

    private bool SharedWithEveryNeighbour(int from, IReadOnlyList<EncryptedShare> shares)
    {
        var expected = _graph[from].Where(_keys!.ContainsKey).ToHashSet();
        return shares.All(s => s is not null && s.From == from) && shares.Count == expected.Count && shares.Select(s => s.To).ToHashSet().SetEquals(expected);
    }

    /// <summary>
    /// Stage 3: the masked inputs received (keyed by who sent them); returns the unmask request for the survivors.
    /// An input from a gateway that did not share, or of the wrong length, is ignored (that gateway dropped).
    /// </summary>
    /// <exception cref="SecAggAbortedException">Fewer than the threshold (and never fewer than 2) sent masked inputs.</exception>
    public UnmaskRequest RequestUnmask(IReadOnlyDictionary<int, uint[]> masked)
    {
        if (_shared is null) throw new InvalidOperationException("masked inputs collected before shares were routed");
        _masked = masked.Where(p => _shared.Contains(p.Key) && p.Value?.Length == _parameters.Length).ToDictionary(p => p.Key, p => p.Value);
        var dropped = _shared.Where(i => !_masked.ContainsKey(i)).Order().ToArray();
        Dropouts.BeforeInput.AddRange(dropped);
        if (_masked.Count < Math.Max(2, _parameters.Threshold))
            throw new SecAggAbortedException($"only {_masked.Count} gateways sent masked inputs, fewer than {Math.Max(2, _parameters.Threshold)} (the threshold {_parameters.Threshold}, and never fewer than 2: a sum of one is that input): nothing is unmasked");
        _request = new UnmaskRequest(_masked.Keys.Order().ToArray(), dropped);
        return _request;
    }

    /// <summary>
    /// Signed rounds, after <see cref="RequestUnmask"/>: the survivors' signatures of the survivor set (keyed by who
    /// sent them). Returns, for each survivor that signed validly, the unmask request carrying its neighbours'
    /// signatures; survivors that did not sign dropped before the consistency check (their inputs stay in the sum).
    /// </summary>
    public IReadOnlyDictionary<int, UnmaskRequest> Countersign(IReadOnlyDictionary<int, byte[]> signatures)
    {
        if (_request is null) throw new InvalidOperationException("the survivor set is signed after the unmask request is made");
        var valid = signatures.Where(p => _request.Survivors.Contains(p.Key) && p.Value is not null
            && (_verifier is null || _verifier.Verify(_keys![p.Key].Owner ?? "", _keys[p.Key].Signer ?? [], SecAggSigned.Survivors(_parameters.Context, _keys[p.Key], _request.Survivors), p.Value)))
            .ToDictionary(p => p.Key, p => p.Value);
        Dropouts.BeforeConsistency.AddRange(_request.Survivors.Where(i => !valid.ContainsKey(i)));
        return valid.Keys.ToDictionary(i => i, i => _request with
        {
            Signatures = _graph[i].Where(valid.ContainsKey).ToDictionary(v => v, v => valid[v]),
        });
    }

    /// <summary>
    /// Stage 4: recovers the self masks of the survivors and the mask keys of the dropped from the answers (keyed by
    /// who sent them), and returns the sum mod 2^bits. An answer that names another sender, or holds a share the
    /// request did not ask for, is set aside unread: the aggregator never holds both kinds of share of one gateway.
    /// </summary>
    /// <exception cref="SecAggAbortedException">Too few shares arrived for some gateway's secret.</exception>
    public uint[] Unmask(IReadOnlyDictionary<int, UnmaskShares> answers)
    {
        if (_request is null || _masked is null) throw new InvalidOperationException("unmasking before the unmask request");
        var survivors = _request.Survivors.ToHashSet();
        var dropped = _request.Dropped.ToHashSet();
        var selfShares = new Dictionary<int, List<ShamirShare>>();
        var keyShares = new Dictionary<int, List<ShamirShare>>();
        var answered = new HashSet<int>();
        foreach (var (from, answer) in answers)
        {
            if (answer is not { SelfMaskShares: not null, MaskKeyShares: not null } || answer.From != from || !survivors.Contains(from)) continue;
            // The invariant that keeps every input hidden: a survivor's mask key and a dropped gateway's self mask are never taken.
            if (answer.SelfMaskShares.Keys.Any(v => !survivors.Contains(v)) || answer.MaskKeyShares.Keys.Any(v => !dropped.Contains(v))) continue;
            if (answer.SelfMaskShares.Concat(answer.MaskKeyShares).Any(p => p.Value is null || !_graph.TryGetValue(p.Key, out var of) || !of.Contains(from) || p.Value.X != from)) continue;
            answered.Add(from);
            foreach (var (v, share) in answer.SelfMaskShares) Collect(selfShares, v, share);
            foreach (var (v, share) in answer.MaskKeyShares) Collect(keyShares, v, share);
        }
        Dropouts.BeforeUnmask.AddRange(survivors.Where(i => !answered.Contains(i)).Order());

        var sum = new uint[_parameters.Length];
        foreach (var y in _masked.Values) ModularArithmetic.AddInPlace(sum, y, _parameters.Bits);
        foreach (var u in _request.Survivors)
        {
            var seed = Recover(selfShares, u, "self-mask seed", "the commitment it advertised",
                s => System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(SelfMaskCommitment.Of(_parameters.Context, u, s), _keys![u].SelfMaskCommitment));
            ModularArithmetic.AddInPlace(sum, MaskStream.Expand(seed, sum.Length, _parameters.Bits), _parameters.Bits, subtract: true);
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(seed);
        }
        foreach (var v in _request.Dropped)
        {
            var maskedNeighbours = _graph[v].Where(survivors.Contains).ToArray();
            if (maskedNeighbours.Length == 0) continue;
            var scalar = Recover(keyShares, v, "mask key", "the public key it advertised", s => MatchesMaskKey(s, v));
            using var key = SecAggKeyAgreement.MaskKeyPair(scalar, _keys![v].MaskPublicKey);
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(scalar);
            foreach (var u in maskedNeighbours)
            {
                // u added +PRG(s_uv) when u < v and subtracted it otherwise; take back exactly that.
                var seed = SecAggKeyAgreement.Derive(key, _keys![u].MaskPublicKey, "mask", _parameters.Context, v, u);
                ModularArithmetic.AddInPlace(sum, MaskStream.Expand(seed, sum.Length, _parameters.Bits), _parameters.Bits, subtract: u < v);
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(seed);
            }
        }
        return sum;
    }

    private static bool ValidKeys(SecAggKeys keys) =>
        keys.SelfMaskCommitment is { Length: 32 } && SecAggKeyAgreement.IsValidPublicKey(keys.CipherPublicKey) && SecAggKeyAgreement.IsValidPublicKey(keys.MaskPublicKey);

    // Unsigned keys pass (a gateway on a host without a site certificate): a signed neighbour refuses them itself. Badly
    // signed ones are dropped here, so they cannot make honest neighbours drop.
    private bool Signed(SecAggKeys keys) =>
        _verifier is null || keys.Signature is null || keys is { Owner.Length: > 0, Signer: not null }
            && _verifier.Verify(keys.Owner, keys.Signer, SecAggSigned.Keys(_parameters.Context, keys), keys.Signature);

    private bool MatchesMaskKey(byte[] scalar, int owner)
    {
        try
        {
            using var _ = SecAggKeyAgreement.MaskKeyPair(scalar, _keys![owner].MaskPublicKey);
            return true;
        }
        catch (System.Security.Cryptography.CryptographicException) { return false; }
    }

    private static void Collect(Dictionary<int, List<ShamirShare>> shares, int owner, ShamirShare share)
    {
        if (!shares.TryGetValue(owner, out var list)) shares[owner] = list = [];
        list.Add(share);
    }

    /// <summary>
    /// The secret of <paramref name="owner"/> rebuilt from t of the shares that arrived, checked against what it
    /// committed to (<paramref name="matches"/>). When one t-subset fails the check (a neighbour altered its share)
    /// and more than t arrived, others are tried: every subset that leaves out one share, then two, then up to
    /// <see cref="MaxRandomSubsets"/> random ones, within <see cref="MaxRebuildWork"/>.
    /// So up to two altered shares among t + 2 or more cannot stop the round, and no subset ever yields a wrong
    /// secret unnoticed.
    /// </summary>
    private byte[] Recover(Dictionary<int, List<ShamirShare>> shares, int owner, string what, string committed, Func<byte[], bool> matches)
    {
        var held = shares.GetValueOrDefault(owner) ?? [];
        int t = _parameters.Threshold;
        if (held.Count < t)
            throw new SecAggAbortedException($"only {held.Count} shares of gateway {owner}'s {what} arrived, fewer than the threshold {t}: the round is aborted");
        foreach (var subset in Subsets(held, t, new Random(System.Security.Cryptography.RandomNumberGenerator.GetInt32(int.MaxValue))).Take(Math.Max(1, MaxRebuildWork / (t * t))))
        {
            byte[] secret;
            try { secret = ShamirSharing.Combine(subset, t); }
            catch (ArgumentException) { continue; } // a malformed share
            if (matches(secret)) return secret;
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(secret);
        }
        throw new SecAggAbortedException($"no {t} of the {held.Count} shares of gateway {owner}'s {what} that arrived rebuild the one matching {committed} (altered shares): the round is aborted");
    }

    private const int MaxRandomSubsets = 64;

    /// <summary>
    /// Bounds the search: a rebuild is O(t^2) field operations, so at most this many of them per secret (about 0.1 s),
    /// whatever altered shares a neighbour sends: 1,388 subsets at t = 12, one at t = 500 (classic SecAgg's large t).
    /// </summary>
    private const int MaxRebuildWork = 200_000;

    private static IEnumerable<List<ShamirShare>> Subsets(List<ShamirShare> held, int t, Random random)
    {
        // Distinct subsets only: leaving out one of the first t + 1, then two of the first t + 2.
        yield return held.Take(t).ToList();
        if (held.Count == t) yield break;
        for (int a = 0; a <= t; a++)
            yield return held.Take(t + 1).Where((_, i) => i != a).ToList();
        if (held.Count > t + 1)
            for (int a = 0; a < t + 2; a++)
                for (int b = a + 1; b < t + 2; b++)
                    yield return held.Take(t + 2).Where((_, i) => i != a && i != b).ToList();
        if (held.Count > t + 2)
            for (int i = 0; i < MaxRandomSubsets; i++)
            yield return held.OrderBy(_ => random.Next()).Take(t).ToList();
    }
}

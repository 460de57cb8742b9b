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

    public SecAggAggregator(SecAggParameters parameters, IReadOnlyDictionary<int, int[]> graph)
    {
        ModularArithmetic.Mask(parameters.Bits);
        if (parameters.Threshold < 1 || graph.Values.Any(n => n.Length < parameters.Threshold))
            throw new ArgumentException($"threshold {parameters.Threshold} must be between 1 and every gateway's number of neighbours ({graph.Values.Min(n => n.Length)})");
        _parameters = parameters;
        _graph = graph;
    }

    /// <summary>Gateways the federation learned had dropped, by the stage they dropped at (for the round's record).</summary>
    public SecAggDropouts Dropouts { get; } = new();

    /// <summary>Stage 1: each advertising gateway gets the keys of its neighbours that advertised.</summary>
    public IReadOnlyDictionary<int, IReadOnlyList<SecAggKeys>> RouteKeys(IReadOnlyList<SecAggKeys> advertised)
    {
        if (advertised.Any(k => !_graph.ContainsKey(k.Index)) || advertised.Select(k => k.Index).Distinct().Count() != advertised.Count)
            throw new InvalidDataException("keys were advertised twice, or by a gateway outside the cohort");
        _keys = advertised.ToDictionary(k => k.Index);
        Dropouts.BeforeKeys.AddRange(_graph.Keys.Where(i => !_keys.ContainsKey(i)).Order());
        return _keys.Keys.ToDictionary(i => i, i => (IReadOnlyList<SecAggKeys>)_graph[i].Where(_keys.ContainsKey).Select(v => _keys[v]).ToList());
    }

    /// <summary>Stage 2: each sharing gateway gets the shares addressed to it by neighbours that shared.</summary>
    public IReadOnlyDictionary<int, IReadOnlyList<EncryptedShare>> RouteShares(IReadOnlyDictionary<int, IReadOnlyList<EncryptedShare>> sent)
    {
        if (_keys is null) throw new InvalidOperationException("shares routed before keys");
        foreach (var (from, shares) in sent)
        {
            if (!_keys.ContainsKey(from)) throw new InvalidDataException($"gateway {from} shared without advertising keys");
            if (shares.Any(s => s.From != from || !_graph[from].Contains(s.To) || !_keys.ContainsKey(s.To)))
                throw new InvalidDataException($"gateway {from} sent a share that is not from it to one of its neighbours");
        }
        _shared = sent.Keys.ToHashSet();
        Dropouts.BeforeShares.AddRange(_keys.Keys.Where(i => !_shared.Contains(i)).Order());
        var byRecipient = sent.Values.SelectMany(s => s).Where(s => _shared.Contains(s.To)).ToLookup(s => s.To);
        return _shared.ToDictionary(i => i, i => (IReadOnlyList<EncryptedShare>)byRecipient[i].ToList());
    }

    /// <summary>Stage 3: the masked inputs received; returns the unmask request for the survivors.</summary>
    /// <exception cref="SecAggAbortedException">Fewer than the threshold sent masked inputs.</exception>
    public UnmaskRequest RequestUnmask(IReadOnlyDictionary<int, uint[]> masked)
    {
        if (_shared is null) throw new InvalidOperationException("masked inputs collected before shares were routed");
        if (masked.Keys.Any(i => !_shared.Contains(i))) throw new InvalidDataException("a masked input came from a gateway that did not share keys");
        if (masked.Values.Any(y => y.Length != _parameters.Length)) throw new InvalidDataException($"a masked input is not {_parameters.Length} values long");
        _masked = masked.ToDictionary(p => p.Key, p => p.Value);
        var dropped = _shared.Where(i => !_masked.ContainsKey(i)).Order().ToArray();
        Dropouts.BeforeInput.AddRange(dropped);
        if (_masked.Count < Math.Max(2, _parameters.Threshold))
            throw new SecAggAbortedException($"only {_masked.Count} gateways sent masked inputs, fewer than {Math.Max(2, _parameters.Threshold)} (the threshold {_parameters.Threshold}, and never fewer than 2: a sum of one is that input): nothing is unmasked");
        _request = new UnmaskRequest(_masked.Keys.Order().ToArray(), dropped);
        return _request;
    }

    /// <summary>Stage 4: recovers the self masks of the survivors and the mask keys of the dropped, and returns the sum mod 2^bits.</summary>
    /// <exception cref="SecAggAbortedException">Too few shares arrived for some gateway's secret.</exception>
    public uint[] Unmask(IReadOnlyList<UnmaskShares> answers)
    {
        if (_request is null || _masked is null) throw new InvalidOperationException("unmasking before the unmask request");
        var survivors = _request.Survivors.ToHashSet();
        var dropped = _request.Dropped.ToHashSet();
        var selfShares = new Dictionary<int, List<ShamirShare>>();
        var keyShares = new Dictionary<int, List<ShamirShare>>();
        foreach (var answer in answers.DistinctBy(a => a.From))
        {
            if (!survivors.Contains(answer.From)) throw new InvalidDataException($"gateway {answer.From} answered the unmask request without surviving");
            // The invariant that keeps every input hidden: a survivor's mask key and a dropped gateway's self mask are never taken.
            if (answer.SelfMaskShares.Keys.Any(v => !survivors.Contains(v)) || answer.MaskKeyShares.Keys.Any(v => !dropped.Contains(v)))
                throw new InvalidDataException($"gateway {answer.From} sent a share the request did not ask for: refused, so no input is unmasked");
            foreach (var (v, share) in answer.SelfMaskShares) Collect(selfShares, v, answer.From, share);
            foreach (var (v, share) in answer.MaskKeyShares) Collect(keyShares, v, answer.From, share);
        }
        var answered = answers.Select(a => a.From).ToHashSet();
        Dropouts.BeforeUnmask.AddRange(survivors.Where(i => !answered.Contains(i)).Order());

        var sum = new uint[_parameters.Length];
        foreach (var y in _masked.Values) ModularArithmetic.AddInPlace(sum, y, _parameters.Bits);
        foreach (var u in _request.Survivors)
        {
            var seed = Recover(selfShares, u, "self-mask seed");
            ModularArithmetic.AddInPlace(sum, MaskStream.Expand(seed, sum.Length, _parameters.Bits), _parameters.Bits, subtract: true);
        }
        foreach (var v in _request.Dropped)
        {
            var maskedNeighbours = _graph[v].Where(survivors.Contains).ToArray();
            if (maskedNeighbours.Length == 0) continue;
            using var key = RecoverMaskKey(Recover(keyShares, v, "mask key"), v);
            foreach (var u in maskedNeighbours)
            {
                // u added +PRG(s_uv) when u < v and subtracted it otherwise; take back exactly that.
                var seed = SecAggKeyAgreement.Derive(key, _keys![u].MaskPublicKey, "mask", _parameters.Context, v, u);
                ModularArithmetic.AddInPlace(sum, MaskStream.Expand(seed, sum.Length, _parameters.Bits), _parameters.Bits, subtract: u < v);
            }
        }
        return sum;
    }

    private System.Security.Cryptography.ECDiffieHellman RecoverMaskKey(byte[] scalar, int owner)
    {
        try { return SecAggKeyAgreement.FromScalar(scalar, _keys![owner].MaskPublicKey); }
        catch (System.Security.Cryptography.CryptographicException)
        {
            throw new SecAggAbortedException($"gateway {owner}'s recovered mask key does not match the key it advertised (altered shares): the round is aborted");
        }
    }

    private void Collect(Dictionary<int, List<ShamirShare>> shares, int owner, int holder, ShamirShare share)
    {
        if (!_graph[owner].Contains(holder) || share.X != holder)
            throw new InvalidDataException($"gateway {holder} sent a share of gateway {owner} it cannot hold");
        if (!shares.TryGetValue(owner, out var list)) shares[owner] = list = [];
        list.Add(share);
    }

    private byte[] Recover(Dictionary<int, List<ShamirShare>> shares, int owner, string what)
    {
        var held = shares.GetValueOrDefault(owner) ?? [];
        if (held.Count < _parameters.Threshold)
            throw new SecAggAbortedException($"only {held.Count} shares of gateway {owner}'s {what} arrived, fewer than the threshold {_parameters.Threshold}: the round is aborted");
        try { return ShamirSharing.Combine(held.Take(_parameters.Threshold).ToList(), 32); }
        catch (ArgumentException e) { throw new SecAggAbortedException($"gateway {owner}'s {what} does not recover: {e.Message}"); }
    }
}

using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Learning.Tests.SecureAggregation;

/// <summary>Runs one SecAgg+ round in memory, with gateways that drop at the stages the test names.</summary>
internal sealed class SecAggRound : IDisposable
{
    /// <param name="signed">Each gateway signs with a key of a test PKI (<see cref="TestPki"/>), and the aggregator checks them.</param>
    public SecAggRound(int count, int neighbours, int threshold, int bits, int length, int seed, bool signed = false)
    {
        Parameters = new SecAggParameters(bits, threshold, neighbours, length, "job/1/0"u8.ToArray());
        Graph = NeighbourGraph.Build(count, neighbours, new Random(seed));
        Pki = signed ? new TestPki() : null;
        Aggregator = new SecAggAggregator(Parameters, Graph, Pki);
        Participants = Enumerable.Range(1, count).ToDictionary(i => i, i => new SecAggParticipant(i, Parameters, Pki?.Identity($"gw-{i}")));
    }

    public TestPki? Pki { get; }

    public SecAggParameters Parameters { get; }
    public IReadOnlyDictionary<int, int[]> Graph { get; }
    public SecAggAggregator Aggregator { get; }
    public Dictionary<int, SecAggParticipant> Participants { get; }

    /// <summary>Runs every stage; returns the unmasked sum and who sent masked inputs.</summary>
    public (uint[] Sum, IReadOnlyList<int> Survivors) Run(IReadOnlyDictionary<int, uint[]> inputs, ISet<int>? dropBeforeKeys = null,
        ISet<int>? dropBeforeShares = null, ISet<int>? dropBeforeInput = null, ISet<int>? dropBeforeUnmask = null, ISet<int>? dropBeforeConsistency = null)
    {
        bool Live(int i, ISet<int>? dropped) => dropped is null || !dropped.Contains(i);
        var advertised = Participants.Where(p => Live(p.Key, dropBeforeKeys)).ToDictionary(p => p.Key, p => p.Value.AdvertiseKeys());
        var keys = Aggregator.RouteKeys(advertised);
        var sent = keys.Where(p => Live(p.Key, dropBeforeShares))
            .ToDictionary(p => p.Key, p => Participants[p.Key].ShareKeys(p.Value));
        var routed = Aggregator.RouteShares(sent);
        var masked = routed.Where(p => Live(p.Key, dropBeforeInput))
            .ToDictionary(p => p.Key, p => Participants[p.Key].MaskInput(inputs[p.Key], p.Value));
        var request = Aggregator.RequestUnmask(masked);
        var requests = Pki is null ? request.Survivors.ToDictionary(i => i, _ => request)
            : Aggregator.Countersign(request.Survivors.Where(i => Live(i, dropBeforeConsistency)).ToDictionary(i => i, i => Participants[i].SignSurvivors(request.Survivors)));
        var answers = requests.Where(p => Live(p.Key, dropBeforeUnmask)).ToDictionary(p => p.Key, p => Participants[p.Key].Unmask(p.Value));
        return (Aggregator.Unmask(answers), request.Survivors);
    }

    /// <summary>Runs stages 1-3 with every gateway (no dropouts); returns the masked inputs.</summary>
    public Dictionary<int, uint[]> MaskAll(IReadOnlyDictionary<int, uint[]> inputs)
    {
        var keys = Aggregator.RouteKeys(Participants.ToDictionary(p => p.Key, p => p.Value.AdvertiseKeys()));
        var routed = Aggregator.RouteShares(keys.ToDictionary(p => p.Key, p => Participants[p.Key].ShareKeys(p.Value)));
        return routed.ToDictionary(p => p.Key, p => Participants[p.Key].MaskInput(inputs[p.Key], p.Value));
    }

    /// <summary>Runs stages 1-3 (every gateway but <paramref name="withoutInput"/> sends its masked input) and asks every survivor to unmask.</summary>
    public (UnmaskRequest Request, Dictionary<int, UnmaskShares> Answers) AnswerAll(IReadOnlyDictionary<int, uint[]> inputs, int? withoutInput = null)
    {
        var masked = MaskAll(inputs);
        if (withoutInput is { } gone) masked.Remove(gone);
        var request = Aggregator.RequestUnmask(masked);
        return (request, request.Survivors.ToDictionary(i => i, i => Participants[i].Unmask(request)));
    }

    public void Dispose()
    {
        foreach (var p in Participants.Values) p.Dispose();
        Pki?.Dispose();
    }
}

/// <summary>
/// A PKI for tests: one ECDSA P-256 key per gateway id, registered once; a signer is accepted for a gateway only when
/// it is the key registered for that gateway (as a site certificate is accepted only for its own site's gateways).
/// </summary>
internal sealed class TestPki : ISecAggVerifier, IDisposable
{
    private readonly Dictionary<string, System.Security.Cryptography.ECDsa> _keys = [];

    /// <param name="siteOf">Another gateway of the same site: this one signs with that one's key (one certificate per site).</param>
    public SecAggIdentity Identity(string owner, string? siteOf = null)
    {
        var key = siteOf is null ? System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256) : _keys[siteOf];
        _keys[owner] = key;
        return new SecAggIdentity(owner, new KeySigner(key), this);
    }

    public bool Verify(string owner, byte[] signer, byte[] message, byte[] signature) =>
        _keys.TryGetValue(owner, out var key) && key.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(signer)
        && key.VerifyData(message, signature, System.Security.Cryptography.HashAlgorithmName.SHA256);

    public void Dispose()
    {
        foreach (var key in _keys.Values.Distinct()) key.Dispose();
    }

    /// <summary>Signs as <paramref name="key"/>; a test may also sign with it as an attacker holding that key would.</summary>
    public sealed class KeySigner(System.Security.Cryptography.ECDsa key) : ISecAggSigner
    {
        public byte[] Signer => key.ExportSubjectPublicKeyInfo();

        public byte[] Sign(byte[] message) => key.SignData(message, System.Security.Cryptography.HashAlgorithmName.SHA256);
    }
}

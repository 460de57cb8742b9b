using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Learning.Tests.SecureAggregation;

/// <summary>Runs one SecAgg+ round in memory, with gateways that drop at the stages the test names.</summary>
internal sealed class SecAggRound : IDisposable
{
    public SecAggRound(int count, int neighbours, int threshold, int bits, int length, int seed)
    {
        Parameters = new SecAggParameters(bits, threshold, length, "job/1/0"u8.ToArray());
        Graph = NeighbourGraph.Build(count, neighbours, new Random(seed));
        Aggregator = new SecAggAggregator(Parameters, Graph);
        Participants = Enumerable.Range(1, count).ToDictionary(i => i, i => new SecAggParticipant(i, Parameters));
    }

    public SecAggParameters Parameters { get; }
    public IReadOnlyDictionary<int, int[]> Graph { get; }
    public SecAggAggregator Aggregator { get; }
    public Dictionary<int, SecAggParticipant> Participants { get; }

    /// <summary>Runs every stage; returns the unmasked sum and who sent masked inputs.</summary>
    public (uint[] Sum, IReadOnlyList<int> Survivors) Run(IReadOnlyDictionary<int, uint[]> inputs, ISet<int>? dropBeforeKeys = null,
        ISet<int>? dropBeforeShares = null, ISet<int>? dropBeforeInput = null, ISet<int>? dropBeforeUnmask = null)
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
        var answers = request.Survivors.Where(i => Live(i, dropBeforeUnmask)).ToDictionary(i => i, i => Participants[i].Unmask(request));
        return (Aggregator.Unmask(answers), request.Survivors);
    }

    /// <summary>Runs stages 1-3 with every gateway (no dropouts); returns the masked inputs.</summary>
    public Dictionary<int, uint[]> MaskAll(IReadOnlyDictionary<int, uint[]> inputs)
    {
        var keys = Aggregator.RouteKeys(Participants.ToDictionary(p => p.Key, p => p.Value.AdvertiseKeys()));
        var routed = Aggregator.RouteShares(keys.ToDictionary(p => p.Key, p => Participants[p.Key].ShareKeys(p.Value)));
        return routed.ToDictionary(p => p.Key, p => Participants[p.Key].MaskInput(inputs[p.Key], p.Value));
    }

    public void Dispose()
    {
        foreach (var p in Participants.Values) p.Dispose();
    }
}

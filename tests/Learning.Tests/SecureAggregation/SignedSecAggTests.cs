using System.Security.Cryptography;
using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Learning.Tests.SecureAggregation;

/// <summary>Signed SecAgg+ (Bell et al. 2020, section 5): keys bound to their gateway, and the consistency check.</summary>
public sealed class SignedSecAggTests
{
    private static Dictionary<int, uint[]> Inputs(int count, int length, Random random) =>
        Enumerable.Range(1, count).ToDictionary(i => i, _ => Enumerable.Range(0, length).Select(_ => (uint)random.Next(1 << 16)).ToArray());

    private static uint[] NaiveSum(IReadOnlyDictionary<int, uint[]> inputs, IEnumerable<int> who)
    {
        var sum = new uint[inputs.Values.First().Length];
        foreach (var i in who) ModularArithmetic.AddInPlace(sum, inputs[i], 16);
        return sum;
    }

    [Fact]
    public void A_signed_round_unmasks_the_sum_with_dropouts_at_every_stage_the_consistency_check_included()
    {
        using var round = new SecAggRound(12, 11, 6, 16, 8, seed: 31, signed: true);
        var inputs = Inputs(12, 8, new Random(31));
        var (sum, survivors) = round.Run(inputs, dropBeforeKeys: new HashSet<int> { 1 }, dropBeforeShares: new HashSet<int> { 2 },
            dropBeforeInput: new HashSet<int> { 3 }, dropBeforeConsistency: new HashSet<int> { 4 }, dropBeforeUnmask: new HashSet<int> { 5 });

        Assert.Equal(Enumerable.Range(4, 9), survivors); // 4 and 5 dropped after their masked inputs: their deltas are in the sum
        Assert.Equal(NaiveSum(inputs, survivors), sum);
        Assert.Equal([4], round.Aggregator.Dropouts.BeforeConsistency);
    }

    [Fact]
    public void Keys_the_federation_made_up_or_relayed_under_another_gateway_are_refused_by_a_signed_gateway()
    {
        using var round = new SecAggRound(5, 4, 3, 16, 4, seed: 32, signed: true);
        var advertised = round.Participants.ToDictionary(p => p.Key, p => p.Value.AdvertiseKeys());
        var relayed = advertised.Where(p => p.Key != 1).Select(p => p.Value).ToList();
        using var own = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var federation = new TestPki.KeySigner(own); // a key no site certificate backs
        using var madeUp = new SecAggParticipant(2, round.Parameters);
        var fresh = madeUp.AdvertiseKeys() with { Owner = "gw-2", Signer = federation.Signer };
        var attacks = new (string What, SecAggKeys Keys)[]
        {
            ("unsigned keys of its own", fresh with { Signer = null, Signature = null }),
            ("keys signed by the federation's own key", fresh with { Signature = federation.Sign(SecAggSigned.Keys(round.Parameters.Context, fresh)) }),
            ("gateway 2's signed keys with another mask key", advertised[2] with { MaskPublicKey = fresh.MaskPublicKey }),
            ("gateway 3's signed keys relayed as gateway 2's", advertised[3] with { Index = 2 }),
        };
        foreach (var (what, keys) in attacks)
        {
            using var target = new SecAggParticipant(1, round.Parameters, round.Pki!.Identity("gw-1-" + what.Length));
            target.AdvertiseKeys();
            var e = Assert.Throws<InvalidDataException>(() => target.ShareKeys([keys, .. relayed.Where(k => k.Index != 2)]));
            Assert.Contains("not signed for that gateway", e.Message);
        }
        // An honest federation relays none of them: a gateway with bad keys drops, its neighbours go on.
        var forged = new Dictionary<int, SecAggKeys>(advertised) { [2] = attacks[2].Keys, [3] = advertised[3] with { Owner = "gw-4" } };
        var routed = round.Aggregator.RouteKeys(forged);
        Assert.Equal([2, 3], round.Aggregator.Dropouts.BeforeKeys); // 3 claims to be gw-4: refused
        Assert.Equal([1, 4, 5], routed.Keys.Order());
    }

    [Fact]
    public void A_gateway_reveals_nothing_unless_its_neighbours_signed_the_very_survivor_set_it_signed()
    {
        using var round = new SecAggRound(6, 5, 4, 16, 4, seed: 33, signed: true);
        var masked = round.MaskAll(Inputs(6, 4, new Random(33)));
        var request = round.Aggregator.RequestUnmask(masked);
        var all = request.Survivors;
        var signatures = all.ToDictionary(i => i, i => round.Participants[i].SignSurvivors(all));
        var requests = round.Aggregator.Countersign(signatures);

        // Told that gateway 6 dropped (to get its mask key) while the others signed that it survived: refused.
        var lie = requests[1] with { Survivors = [1, 2, 3, 4, 5], Dropped = [6] };
        Assert.Contains("other survivors than the set this gateway signed", Assert.Throws<InvalidDataException>(() => round.Participants[1].Unmask(lie)).Message);
        // Signatures over another set, or altered, do not verify.
        var altered = requests[2].Signatures!.ToDictionary(p => p.Key, p => p.Key == 3 ? p.Value.Select(b => (byte)(b ^ 1)).ToArray() : p.Value);
        Assert.Contains("does not verify", Assert.Throws<InvalidDataException>(() => round.Participants[2].Unmask(requests[2] with { Signatures = altered })).Message);
        // Fewer than t neighbours' signatures: nothing is revealed.
        var few = requests[3].Signatures!.Take(2).ToDictionary();
        Assert.Contains("fewer than the threshold", Assert.Throws<InvalidOperationException>(() => round.Participants[3].Unmask(requests[3] with { Signatures = few })).Message);
        // A gateway signs one survivor set only.
        Assert.Throws<InvalidOperationException>(() => round.Participants[4].SignSurvivors([1, 2, 3, 4]));
        // The honest requests are answered, and unmask the sum.
        var answers = new[] { 4, 5, 6 }.ToDictionary(i => i, i => round.Participants[i].Unmask(requests[i]));
        Assert.Equal(3, answers.Count);
    }

    [Fact]
    public void A_gateway_given_more_neighbours_than_the_round_has_takes_no_part()
    {
        // t > k / 2 keeps two disjoint groups of t neighbours from existing; a federation that relays more than k
        // neighbours to one gateway (all signed, all real) could otherwise ask one group for its self-mask shares and
        // the other for its mask-key shares.
        using var round = new SecAggRound(6, 2, 2, 16, 4, seed: 34, signed: true); // k = 2, t = 2
        var advertised = round.Participants.ToDictionary(p => p.Key, p => p.Value.AdvertiseKeys());
        var e = Assert.Throws<InvalidDataException>(() => round.Participants[1].ShareKeys([.. advertised.Values.Where(k => k.Index != 1)]));
        Assert.Contains("more than the 2 of this round", e.Message);
        // Nor does an aggregator take a graph that gives a gateway more than k, or a threshold of half of k.
        var wide = new Dictionary<int, int[]> { [1] = [2, 3, 4, 5], [2] = [1, 3, 4], [3] = [1, 2, 4], [4] = [1, 2, 3], [5] = [1] };
        Assert.Throws<ArgumentException>(() => new SecAggAggregator(round.Parameters, wide));
        Assert.Throws<ArgumentException>(() => new SecAggParticipant(1, round.Parameters with { Threshold = 2, Neighbours = 4 }));
    }

    [Fact]
    public void A_gateway_refuses_a_neighbourhood_in_which_one_other_site_could_with_the_federation_rebuild_its_secrets()
    {
        // 5 gateways, classic (4 neighbours), threshold 3: a site holding 2t - m = 2 of gateway 1's neighbours gives
        // both kinds of its shares, and one honest neighbour more on each side completes two sets of 3.
        using var round = new SecAggRound(5, 4, 3, 16, 4, seed: 35, signed: true);
        using var colluding = new TestPki();
        var parameters = round.Parameters;
        using var target = new SecAggParticipant(1, parameters, colluding.Identity("u"));
        using var a = new SecAggParticipant(2, parameters, colluding.Identity("site-m-1"));
        using var b = new SecAggParticipant(3, parameters, colluding.Identity("site-m-2", siteOf: "site-m-1"));
        using var c = new SecAggParticipant(4, parameters, colluding.Identity("v"));
        using var d = new SecAggParticipant(5, parameters, colluding.Identity("w"));
        target.AdvertiseKeys();
        var e = Assert.Throws<InvalidDataException>(() => target.ShareKeys([a.AdvertiseKeys(), b.AdvertiseKeys(), c.AdvertiseKeys(), d.AdvertiseKeys()]));
        Assert.Contains("one site signs 2 of this gateway's 4 neighbours (site-m-1, site-m-2)", e.Message);
        Assert.Contains("raise aggregation.secure.threshold to at least 4", e.Message);
        // Its own site's other gateways are no such risk to it: they hold its data already.
        using var own = new SecAggParticipant(1, parameters, colluding.Identity("u2", siteOf: "site-m-1"));
        own.AdvertiseKeys();
        var again = new[] { (2, "site-m-1"), (3, "site-m-2"), (4, "v"), (5, "w") }
            .Select(p => new SecAggParticipant(p.Item1, parameters, colluding.Identity(p.Item2 + "-again", siteOf: p.Item2))).ToList();
        Assert.Equal(4, own.ShareKeys([.. again.Select(p => p.AdvertiseKeys())]).Count);
        foreach (var p in again) p.Dispose();
    }
}

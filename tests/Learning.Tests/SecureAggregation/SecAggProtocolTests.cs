using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Learning.Tests.SecureAggregation;

public sealed class SecAggProtocolTests
{
    private static Dictionary<int, uint[]> Inputs(int count, int length, int bits, Random random) =>
        Enumerable.Range(1, count).ToDictionary(i => i, _ => Enumerable.Range(0, length).Select(_ => (uint)random.NextInt64(1L << bits)).ToArray());

    private static uint[] NaiveSum(IReadOnlyDictionary<int, uint[]> inputs, IEnumerable<int> who, int bits)
    {
        var sum = new uint[inputs.Values.First().Length];
        foreach (var i in who) ModularArithmetic.AddInPlace(sum, inputs[i], bits);
        return sum;
    }

    [Theory]
    [InlineData(10, 4, 3, 16, 1)]
    [InlineData(12, 11, 6, 32, 2)]  // classic SecAgg: complete graph
    [InlineData(20, 6, 4, 20, 3)]
    [InlineData(5, 4, 3, 8, 4)]   // complete graph with room to drop
    public void The_sum_of_the_survivors_inputs_is_recovered_exactly_whatever_drops_within_tolerance(int count, int neighbours, int threshold, int bits, int seed)
    {
        // Property over random dropout patterns at every stage: at most (neighbours - threshold) of any gateway's
        // neighbourhood may go, so drop a random few overall and keep each neighbourhood above the threshold.
        var random = new Random(seed);
        for (int trial = 0; trial < 8; trial++)
        {
            using var round = new SecAggRound(count, neighbours, threshold, bits, length: 37, seed: random.Next());
            var inputs = Inputs(count, 37, bits, random);
            var stages = new[] { new HashSet<int>(), new HashSet<int>(), new HashSet<int>(), new HashSet<int>() };
            var gone = new HashSet<int>();
            foreach (var candidate in Enumerable.Range(1, count).OrderBy(_ => random.Next()))
            {
                gone.Add(candidate);
                bool tolerable = round.Graph.All(p => p.Value.Count(v => !gone.Contains(v)) >= threshold) && count - gone.Count >= threshold;
                if (!tolerable || random.NextDouble() < 0.5) { gone.Remove(candidate); continue; }
                stages[random.Next(4)].Add(candidate);
            }
            var (sum, survivors) = round.Run(inputs, stages[0], stages[1], stages[2], stages[3]);

            var sent = Enumerable.Range(1, count).Where(i => !stages[0].Contains(i) && !stages[1].Contains(i) && !stages[2].Contains(i)).ToArray();
            Assert.Equal(sent, survivors);
            Assert.Equal(NaiveSum(inputs, sent, bits), sum);
            Assert.Equal(stages[0].Order(), round.Aggregator.Dropouts.BeforeKeys);
            Assert.Equal(stages[3].Order(), round.Aggregator.Dropouts.BeforeUnmask);
        }
    }

    [Fact]
    public void Too_many_dropouts_abort_the_round_without_unmasking_anything()
    {
        using var round = new SecAggRound(6, 4, 3, 16, 10, seed: 5);
        var inputs = Inputs(6, 10, 16, new Random(1));
        // 4 of 6 send no masked input: only 2 survive, fewer than the threshold 3.
        var e = Assert.Throws<SecAggAbortedException>(() => round.Run(inputs, dropBeforeInput: new HashSet<int> { 1, 2, 3, 4 }));
        Assert.Contains("threshold 3", e.Message);
    }

    [Fact]
    public void One_survivor_is_never_unmasked_even_at_threshold_one()
    {
        using var round = new SecAggRound(2, 1, 1, 16, 10, seed: 7);
        var inputs = Inputs(2, 10, 16, new Random(3));
        // A sum of one input is that input, whatever the threshold allows.
        var e = Assert.Throws<SecAggAbortedException>(() => round.Run(inputs, dropBeforeInput: new HashSet<int> { 1 }));
        Assert.Contains("never fewer than 2", e.Message);
        // Nor does a participant answer a request that names it the only survivor.
        using var other = new SecAggRound(2, 1, 1, 16, 10, seed: 8);
        var p = other.Participants[1];
        var keys = other.Participants.ToDictionary(q => q.Key, q => q.Value.AdvertiseKeys());
        var routed = other.Aggregator.RouteKeys(keys);
        var sent = routed.ToDictionary(r => r.Key, r => other.Participants[r.Key].ShareKeys(r.Value));
        var shares = other.Aggregator.RouteShares(sent);
        p.MaskInput(inputs[1].AsSpan(0, 10), shares[1]);
        Assert.Throws<InvalidOperationException>(() => p.Unmask(new UnmaskRequest([1], [2])));
    }

    [Fact]
    public void Too_few_unmask_answers_abort_the_round()
    {
        using var round = new SecAggRound(6, 4, 3, 16, 10, seed: 6);
        var inputs = Inputs(6, 10, 16, new Random(2));
        // Everyone masks, but only 2 answer: no survivor's self mask has 3 shares.
        Assert.Throws<SecAggAbortedException>(() => round.Run(inputs, dropBeforeUnmask: new HashSet<int> { 1, 2, 3, 4 }));
    }

    [Fact]
    public void A_participant_never_reveals_both_shares_of_one_gateway()
    {
        using var round = new SecAggRound(5, 4, 3, 16, 4, seed: 7);
        var inputs = Inputs(5, 4, 16, new Random(3));
        round.MaskAll(inputs);

        // A curious federation names gateway 2 both as survivor and as dropped, to get b_2 and s_2 and unmask y_2.
        var greedy = new UnmaskRequest([1, 2, 3, 4, 5], [2]);
        Assert.Contains("both", Assert.Throws<InvalidDataException>(() => round.Participants[1].Unmask(greedy)).Message);

        // Each participant answers one request only: a second, different request after the first is refused.
        var honest = new UnmaskRequest([1, 2, 3, 4, 5], []);
        var answer = round.Participants[3].Unmask(honest);
        Assert.Empty(answer.MaskKeyShares);
        Assert.Throws<InvalidOperationException>(() => round.Participants[3].Unmask(new UnmaskRequest([1, 3, 4, 5], [2])));
    }

    [Fact]
    public void The_aggregator_sets_aside_an_answer_with_a_share_it_did_not_ask_for_or_from_another_sender()
    {
        using var round = new SecAggRound(6, 5, 3, 16, 4, seed: 8);
        var inputs = Inputs(6, 4, 16, new Random(4));
        var (request, answers) = round.AnswerAll(inputs);
        // Gateway 1 volunteers mask-key shares of survivors, and gateway 2 answers in 3's name: both set aside unread,
        // and the other neighbours' shares (at least three of each gateway's five) still recover every self mask.
        answers[1] = answers[1] with { MaskKeyShares = answers[1].SelfMaskShares };
        answers[2] = answers[3];
        var sum = round.Aggregator.Unmask(answers);
        Assert.Equal(NaiveSum(inputs, [1, 2, 3, 4, 5, 6], 16), sum);
        Assert.Equal([1, 2], round.Aggregator.Dropouts.BeforeUnmask);
    }

    [Fact]
    public void A_self_mask_seed_rebuilt_from_an_altered_share_fails_its_commitment_and_aborts_the_round_instead_of_a_wrong_sum()
    {
        // Threshold = neighbours: every share of a seed is needed, so the altered one is used.
        using var round = new SecAggRound(4, 3, 3, 16, 4, seed: 2);
        var inputs = Inputs(4, 4, 16, new Random(9));
        var (request, answers) = round.AnswerAll(inputs);
        var (owner, share) = answers[1].SelfMaskShares.First();
        var altered = share with { Y = [.. share.Y] };
        altered.Y[0] ^= 1;
        answers[1] = answers[1] with { SelfMaskShares = answers[1].SelfMaskShares.ToDictionary(p => p.Key, p => p.Key == owner ? altered : p.Value) };

        var aborted = Assert.Throws<SecAggAbortedException>(() => round.Aggregator.Unmask(answers));
        Assert.Equal($"no 3 of the 3 shares of gateway {owner}'s self-mask seed that arrived rebuild the one matching the commitment it advertised (altered shares): the round is aborted", aborted.Message);
    }

    [Fact]
    public void An_unmask_answer_outlives_its_participant_which_zeroes_its_own_secrets_and_runs_no_stage_after_disposal()
    {
        using var round = new SecAggRound(5, 4, 3, 16, 4, seed: 4);
        var inputs = Inputs(5, 4, 16, new Random(11));
        var (request, answers) = round.AnswerAll(inputs);
        foreach (var p in round.Participants.Values) p.Dispose(); // as a gateway ends its attempt before its answer is sent
        Assert.Equal(NaiveSum(inputs, [1, 2, 3, 4, 5], 16), round.Aggregator.Unmask(answers));

        var disposed = new SecAggParticipant(1, round.Parameters);
        disposed.Dispose();
        Assert.Throws<InvalidOperationException>(() => disposed.AdvertiseKeys());
    }

    [Fact]
    public void With_more_shares_than_the_threshold_altered_shares_are_worked_around_and_the_sum_is_exact()
    {
        // 9 gateways, classic (8 neighbours), threshold 5; gateway 9 drops after sharing, so its mask key is rebuilt too.
        using var round = new SecAggRound(9, 8, 5, 16, 4, seed: 3);
        var inputs = Inputs(9, 4, 16, new Random(10));
        var (request, answers) = round.AnswerAll(inputs, withoutInput: 9);
        static ShamirShare Altered(ShamirShare share) { var y = share.Y.ToArray(); y[^1] ^= 1; return share with { Y = y }; }
        // Two of the seven shares of gateway 1's seed altered (by 2 and 3), one of gateway 9's mask key (by 4).
        foreach (var from in new[] { 2, 3 })
            answers[from] = answers[from] with { SelfMaskShares = answers[from].SelfMaskShares.ToDictionary(p => p.Key, p => p.Key == 1 ? Altered(p.Value) : p.Value) };
        answers[4] = answers[4] with { MaskKeyShares = answers[4].MaskKeyShares.ToDictionary(p => p.Key, p => Altered(p.Value)) };

        Assert.Equal(NaiveSum(inputs, Enumerable.Range(1, 8), 16), round.Aggregator.Unmask(answers));
    }

    [Fact]
    public void Keys_without_a_self_mask_commitment_are_refused()
    {
        using var round = new SecAggRound(4, 3, 2, 16, 4, seed: 2);
        var advertised = round.Participants.ToDictionary(p => p.Key, p => p.Value.AdvertiseKeys());
        advertised[2] = advertised[2] with { SelfMaskCommitment = [] };
        round.Aggregator.RouteKeys(advertised);
        Assert.Equal([2], round.Aggregator.Dropouts.BeforeKeys);
    }

    [Fact]
    public void An_altered_or_replayed_share_does_not_decrypt()
    {
        using var round = new SecAggRound(4, 3, 2, 16, 4, seed: 9);
        var keys = round.Aggregator.RouteKeys(round.Participants.ToDictionary(p => p.Key, p => p.Value.AdvertiseKeys()));
        var routed = round.Aggregator.RouteShares(keys.ToDictionary(p => p.Key, p => round.Participants[p.Key].ShareKeys(p.Value)));
        var shares = routed[1].ToList();
        var flipped = shares[0].Ciphertext.ToArray();
        flipped[3] ^= 1;
        shares[0] = shares[0] with { Ciphertext = flipped };
        Assert.Contains("does not decrypt", Assert.Throws<InvalidDataException>(() => round.Participants[1].MaskInput(new uint[4], shares)).Message);

    }

    [Fact]
    public void Pairwise_keys_are_bound_to_the_context_purpose_and_both_public_keys()
    {
        using var a = SecAggKeyAgreement.NewKeyPair();
        using var b = SecAggKeyAgreement.NewKeyPair();
        using var c = SecAggKeyAgreement.NewKeyPair();
        byte[] first = "job/1/0"u8.ToArray(), retry = "job/1/1"u8.ToArray();
        var key = SecAggKeyAgreement.Derive(a, b.PublicKey, "share", first, 1, 2);

        Assert.Equal(key, SecAggKeyAgreement.Derive(b, a.PublicKey, "share", first, 2, 1)); // both ends agree
        Assert.NotEqual(key, SecAggKeyAgreement.Derive(a, b.PublicKey, "share", retry, 1, 2)); // another attempt
        Assert.NotEqual(key, SecAggKeyAgreement.Derive(a, b.PublicKey, "mask", first, 1, 2)); // another purpose
        Assert.NotEqual(key, SecAggKeyAgreement.Derive(a, b.PublicKey, "share", first, 1, 3)); // other indices
        Assert.NotEqual(key, SecAggKeyAgreement.Derive(a, c.PublicKey, "share", first, 1, 2));
    }

    [Fact]
    public void Public_keys_that_are_not_32_bytes_or_are_low_order_points_are_refused()
    {
        using var own = SecAggKeyAgreement.NewKeyPair();
        // Low-order points of Curve25519 (u = 0, u = 1, a point of order 8): every agreement with them is all zero.
        var zero = new byte[32];
        var one = new byte[32]; one[0] = 1;
        var order8 = Convert.FromHexString("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
        var trailing = own.PublicKey.Append((byte)0).ToArray();
        foreach (var bad in new[] { zero, one, order8, trailing, own.PublicKey[..31], [1, 2, 3] })
            Assert.Throws<InvalidDataException>(() => SecAggKeyAgreement.Derive(own, bad, "mask", [1], 1, 2));
        // A gateway advertising such a key drops out at stage 1 instead of failing the round for its neighbours.
        using var round = new SecAggRound(5, 4, 3, 16, 4, seed: 21);
        var advertised = round.Participants.ToDictionary(p => p.Key, p => p.Value.AdvertiseKeys());
        advertised[2] = advertised[2] with { MaskPublicKey = order8 };
        advertised[3] = advertised[4]; // 3 relays 4's keys as its own
        advertised[5] = advertised[5] with { CipherPublicKey = trailing };
        var routed = round.Aggregator.RouteKeys(advertised);
        Assert.Equal([2, 3, 5], round.Aggregator.Dropouts.BeforeKeys);
        Assert.Equal([1, 4], routed.Keys.Order());
    }

    [Fact]
    public void The_low_order_list_is_exactly_the_keys_that_give_an_all_zero_agreement()
    {
        using var own = SecAggKeyAgreement.NewKeyPair();
        var listed = new[]
        {
            "0000000000000000000000000000000000000000000000000000000000000000", "0100000000000000000000000000000000000000000000000000000000000000",
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        }.Select(Convert.FromHexString).ToList();
        foreach (var point in listed.Concat(listed.Select(p => p[..31].Append((byte)(p[31] | 0x80)).ToArray()))) // the top bit is ignored
        {
            Assert.True(X25519Key.IsLowOrder(point));
            Assert.Throws<InvalidDataException>(() => own.Agree(point)); // libcrypto agrees: the secret would be all zero
        }
        var random = new Random(5);
        for (int i = 0; i < 200; i++)
        {
            var key = new byte[32];
            random.NextBytes(key);
            Assert.False(X25519Key.IsLowOrder(key));
            Assert.Equal(32, own.Agree(key).Length);
        }
    }

    [Fact]
    public void X25519_agrees_with_the_test_vectors_of_rfc_7748()
    {
        // RFC 7748 section 6.1: Alice's and Bob's key pairs and their shared secret.
        using var alice = new X25519Key(Convert.FromHexString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
        using var bob = new X25519Key(Convert.FromHexString("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
        Assert.Equal("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", Convert.ToHexStringLower(alice.PublicKey));
        Assert.Equal("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", Convert.ToHexStringLower(bob.PublicKey));
        var shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
        Assert.Equal(shared, Convert.ToHexStringLower(alice.Agree(bob.PublicKey)));
        Assert.Equal(shared, Convert.ToHexStringLower(bob.Agree(alice.PublicKey)));
    }

    [Fact]
    public void A_mask_key_rebuilt_from_its_shared_secret_is_the_same_key_and_another_keys_public_half_is_refused()
    {
        var secret = ShamirSharing.NewSecret();
        using var mask = SecAggKeyAgreement.MaskKeyPair(secret);
        using var other = SecAggKeyAgreement.MaskKeyPair(ShamirSharing.NewSecret());
        using var rebuilt = SecAggKeyAgreement.MaskKeyPair(secret, mask.PublicKey.ToArray());
        Assert.Equal(mask.Agree(other.PublicKey), rebuilt.Agree(other.PublicKey));
        Assert.Throws<System.Security.Cryptography.CryptographicException>(() => SecAggKeyAgreement.MaskKeyPair(secret, other.PublicKey.ToArray()));
    }

    [Fact]
    public void A_gateway_that_leaves_a_neighbour_out_of_its_shares_counts_as_dropped()
    {
        using var round = new SecAggRound(5, 4, 3, 16, 4, seed: 22);
        var inputs = Inputs(5, 4, 16, new Random(5));
        var keys = round.Aggregator.RouteKeys(round.Participants.ToDictionary(p => p.Key, p => p.Value.AdvertiseKeys()));
        var sent = keys.ToDictionary(p => p.Key, p => round.Participants[p.Key].ShareKeys(p.Value));
        sent[2] = sent[2].Skip(1).ToList();
        var routed = round.Aggregator.RouteShares(sent);
        Assert.Equal([2], round.Aggregator.Dropouts.BeforeShares);
        var masked = routed.ToDictionary(p => p.Key, p => round.Participants[p.Key].MaskInput(inputs[p.Key], p.Value));
        var request = round.Aggregator.RequestUnmask(masked);
        var sum = round.Aggregator.Unmask(request.Survivors.ToDictionary(i => i, i => round.Participants[i].Unmask(request)));
        Assert.Equal(NaiveSum(inputs, [1, 3, 4, 5], 16), sum);
    }

    [Fact]
    public void A_request_that_singles_a_gateway_out_among_strangers_is_refused()
    {
        using var round = new SecAggRound(6, 4, 3, 16, 4, seed: 23);
        var inputs = Inputs(6, 4, 16, new Random(6));
        round.MaskAll(inputs);
        // Gateway 1 with indices that are none of its neighbours: its neighbours' mask keys would all be asked for.
        var strangers = Enumerable.Range(1, 6).Where(v => v != 1 && !round.Graph[1].Contains(v)).Append(99).Append(98).Take(2).ToList();
        var e = Assert.Throws<InvalidOperationException>(() => round.Participants[1].Unmask(new UnmaskRequest([1, .. strangers], [])));
        Assert.Contains("of this gateway's neighbours are among the survivors", e.Message);
    }

    [Fact]
    public void Stages_run_once_and_in_order()
    {
        using var p = new SecAggParticipant(1, new SecAggParameters(16, 2, 3, 4, [1]));
        Assert.Throws<InvalidOperationException>(() => p.MaskInput(new uint[4], []));
        p.AdvertiseKeys();
        Assert.Throws<InvalidOperationException>(() => p.AdvertiseKeys());
    }

    [Fact]
    public void One_masked_input_is_indistinguishable_from_uniform()
    {
        // Chi-square over 16 buckets of the top 4 bits: an all-zero input, masked, must look uniform mod 2^16.
        const int bits = 16, length = 4096, buckets = 16;
        var counts = new long[buckets];
        for (int round = 0; round < 4; round++)
        {
            using var secAgg = new SecAggRound(5, 4, 3, bits, length, seed: 100 + round);
            var zero = Enumerable.Range(1, 5).ToDictionary(i => i, _ => new uint[length]);
            var keys = secAgg.Aggregator.RouteKeys(secAgg.Participants.ToDictionary(p => p.Key, p => p.Value.AdvertiseKeys()));
            var routed = secAgg.Aggregator.RouteShares(keys.ToDictionary(p => p.Key, p => secAgg.Participants[p.Key].ShareKeys(p.Value)));
            foreach (var v in secAgg.Participants[1].MaskInput(zero[1], routed[1])) counts[v >> (bits - 4)]++;
        }
        double expected = counts.Sum() / (double)buckets;
        double chiSquare = counts.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.True(chiSquare < 37.7, $"chi-square {chiSquare:F1} over 15 degrees of freedom (p = 0.001 bound 37.7)");
    }

    [Fact]
    public void The_neighbour_graph_is_regular_symmetric_and_logarithmic()
    {
        var graph = NeighbourGraph.Build(1000, NeighbourGraph.LogarithmicDegree(1000), new Random(1));
        Assert.All(graph, p => Assert.Equal(20, p.Value.Length));
        Assert.All(graph, p => Assert.All(p.Value, v => Assert.Contains(p.Key, graph[v])));
        Assert.Contains("even", Assert.Throws<ArgumentException>(() => NeighbourGraph.Build(10, 3, new Random(1))).Message);
    }

    [Fact]
    public void Encoded_updates_summed_securely_decode_to_the_sum_of_the_clipped_updates_of_the_survivors()
    {
        var random = new Random(11);
        var encoding = new SecureEncodingParameters(ClippingNorm: 1.0, Scale: 1000, Bits: 20);
        var rotationSeed = new byte[32];
        random.NextBytes(rotationSeed);
        const int length = 100, count = 8;
        var updates = Enumerable.Range(1, count).ToDictionary(i => i, _ => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() - 0.5) * 0.2f).ToArray());
        var encoded = updates.ToDictionary(p => p.Key, p => SecureEncoding.Encode(p.Value, encoding, rotationSeed, random));
        using var round = new SecAggRound(count, 4, 3, encoding.Bits, SecureEncoding.PaddedLength(length), seed: 12);

        var (sum, survivors) = round.Run(encoded, dropBeforeInput: new HashSet<int> { 5 });

        var decoded = SecureEncoding.Decode(sum, length, encoding, rotationSeed);
        for (int i = 0; i < length; i++)
        {
            double expected = survivors.Sum(g => (double)updates[g][i]); // each norm is ~0.58 < C: no clipping
            Assert.True(Math.Abs(expected - decoded[i]) < 0.01, $"value {i}: {decoded[i]} against {expected}");
        }
        Assert.DoesNotContain(5, survivors);
    }
}

using FedGrains.Learning.Aggregation;

namespace FedGrains.Learning.Tests.Aggregation;

/// <summary>Median and trimmed mean, computed by the SIMD sorting network or per column, against a naive sort of every coordinate.</summary>
public sealed class RobustRuleTests
{
    public static TheoryData<int, int> Cohorts()
    {
        var data = new TheoryData<int, int>();
        // Every network size, both parities, the column path above it; lengths that leave a tail after the vectors,
        // and one across two parallel chunks.
        foreach (int n in new[] { 1, 2, 3, 4, 5, 7, 10, 16, 31, 32, 33, 40 })
            foreach (int length in new[] { 1, 13, 1000 })
                data.Add(n, length);
        data.Add(10, (1 << 16) + 37);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cohorts))]
    public void Median_and_trimmed_mean_match_sorting_each_coordinate(int n, int length)
    {
        var rng = new Random(n * 1000 + length);
        var updates = Enumerable.Range(0, n).Select(k => new WeightedDelta(
            Enumerable.Range(0, length).Select(i => i % 7 == 0 ? (float)(k % 3) : (float)(rng.NextDouble() * 2 - 1) * (k == 0 ? 1e6f : 1f)).ToArray(), 1)).ToArray();

        var median = new CoordinateMedianRule().Aggregate(updates);
        var trimmed = new TrimmedMeanRule(0.2).Aggregate(updates);

        int trim = (int)Math.Floor(0.2 * n);
        for (int i = 0; i < length; i++)
        {
            var column = updates.Select(u => (double)u.Delta[i]).Order().ToArray();
            double expectedMedian = n % 2 == 1 ? column[n / 2] : 0.5 * (column[n / 2 - 1] + column[n / 2]);
            double expectedTrimmed = column[trim..(n - trim)].Average();
            Assert.True(Math.Abs(median[i] - expectedMedian) <= 1e-6 * Math.Max(1, Math.Abs(expectedMedian)), $"median at {i}: {median[i]} vs {expectedMedian}");
            Assert.True(Math.Abs(trimmed[i] - expectedTrimmed) <= 1e-5 * Math.Max(1, column.Max(Math.Abs)), $"trimmed mean at {i}: {trimmed[i]} vs {expectedTrimmed}");
        }
    }

    [Theory]
    [InlineData(7, 1, 1, 20_007)]
    [InlineData(10, 2, 4, 8192 * 3 + 1)]
    [InlineData(12, 3, 1, 5)]
    public void Krum_selects_what_naive_pairwise_distances_select(int n, int byzantine, int selected, int length)
    {
        var rng = new Random(n + length);
        var updates = Enumerable.Range(0, n).Select(k => new WeightedDelta(
            Enumerable.Range(0, length).Select(_ => (float)(rng.NextDouble() - 0.5) * (1 + k % 4)).ToArray(), 1)).ToArray();
        double Distance(int a, int b) => Enumerable.Range(0, length).Sum(i => Math.Pow((double)updates[a].Delta[i] - updates[b].Delta[i], 2));
        var scores = Enumerable.Range(0, n).Select(a => Enumerable.Range(0, n).Where(b => b != a).Select(b => Distance(a, b)).Order().Take(n - byzantine - 2).Sum()).ToArray();
        var best = Enumerable.Range(0, n).OrderBy(a => scores[a]).ThenBy(a => a).Take(selected).ToArray();
        var expected = Enumerable.Range(0, length).Select(i => best.Average(a => (double)updates[a].Delta[i])).ToArray();

        var krum = new KrumRule(byzantine, selected).Aggregate(updates);

        for (int i = 0; i < length; i++) Assert.Equal(expected[i], krum[i], 1e-6);
    }

    [Fact]
    public void A_median_ignores_a_minority_of_arbitrary_updates_exactly()
    {
        var honest = Enumerable.Range(0, 7).Select(k => new WeightedDelta(Enumerable.Repeat(0.5f + k * 0.01f, 20).ToArray(), 1));
        var attackers = Enumerable.Range(0, 3).Select(_ => new WeightedDelta(Enumerable.Repeat(1e30f, 20).ToArray(), 1));
        var median = new CoordinateMedianRule().Aggregate([.. honest, .. attackers]);
        Assert.All(median, v => Assert.Equal(0.5f + 0.04f + 0.005f, v, 1e-6f)); // ranks 4 and 5 of ten: two honest values
    }
}

using System.Numerics;

namespace FedGrains.Learning.Aggregation;

/// <summary>
/// Per coordinate, the mean of the values at sorted ranks [from, to) across the updates: the median (one or two middle
/// ranks) and the trimmed mean (all but the trimmed ends) are both this. For cohorts up to
/// <see cref="MaxNetworkSize"/> the values of <c>Vector&lt;float&gt;.Count</c> coordinates at a time are sorted
/// together by a sorting network of SIMD min/max (odd-even transposition sort, Knuth TAOCP 5.3.4), so no coordinate
/// is gathered or sorted on its own; larger cohorts sort each coordinate's column. No library offers a batched
/// small-column sort, hence this. Inputs must be finite (the pipeline validates every update first).
/// </summary>
internal static class SortedRanks
{
    /// <summary>Cohorts up to this size use the network (n(n-1)/2 compare-exchanges per block of coordinates).</summary>
    public const int MaxNetworkSize = 32;

    /// <summary>Coordinates per parallel task: a few hundred KB of each update, so a task's reads stay in cache lines it owns.</summary>
    private const int Chunk = 1 << 16;

    public static float[] Mean(IReadOnlyList<float[]> updates, int from, int to)
    {
        int n = updates.Count, length = updates[0].Length;
        if (from < 0 || to > n || from >= to) throw new ArgumentOutOfRangeException(nameof(from), $"ranks [{from}, {to}) of {n} updates");
        var result = new float[length];
        Parallel.For(0, (length + Chunk - 1) / Chunk, c =>
        {
            int start = c * Chunk, end = Math.Min(length, start + Chunk);
            int vectorEnd = n <= MaxNetworkSize && Vector.IsHardwareAccelerated ? start + (end - start) / Vector<float>.Count * Vector<float>.Count : start;
            if (vectorEnd > start) Network(updates, from, to, start, vectorEnd, result);
            Columns(updates, from, to, vectorEnd, end, result);
        });
        return result;
    }

    private static void Network(IReadOnlyList<float[]> updates, int from, int to, int start, int end, float[] result)
    {
        int n = updates.Count, width = Vector<float>.Count;
        Span<Vector<float>> v = stackalloc Vector<float>[n];
        var scale = new Vector<float>(1f / (to - from));
        for (int i = start; i < end; i += width)
        {
            for (int k = 0; k < n; k++) v[k] = new Vector<float>(updates[k], i);
            // n rounds of compare-exchange on alternating neighbour pairs sort any n values (odd-even transposition).
            for (int round = 0; round < n; round++)
                for (int k = round & 1; k + 1 < n; k += 2)
                {
                    var (a, b) = (v[k], v[k + 1]);
                    v[k] = Vector.Min(a, b);
                    v[k + 1] = Vector.Max(a, b);
                }
            var sum = v[from];
            for (int k = from + 1; k < to; k++) sum += v[k];
            (to - from == 1 ? sum : sum * scale).CopyTo(result, i);
        }
    }

    private static void Columns(IReadOnlyList<float[]> updates, int from, int to, int start, int end, float[] result)
    {
        var column = new float[updates.Count];
        for (int i = start; i < end; i++)
        {
            for (int k = 0; k < column.Length; k++) column[k] = updates[k][i];
            Array.Sort(column);
            double sum = 0;
            for (int k = from; k < to; k++) sum += column[k];
            result[i] = (float)(sum / (to - from));
        }
    }
}

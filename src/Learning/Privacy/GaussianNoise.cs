namespace FedGrains.Learning.Privacy;

/// <summary>
/// The default noise source: <see cref="FastGaussian"/> streams from one 64-bit seed, one per core, each filling its
/// own slice of a large buffer. Fast, not cryptographic: seed it from OS entropy outside tests, or use
/// <see cref="SecureNoise"/> when the stream must be unpredictable.
/// </summary>
public sealed class GaussianNoise(ulong seed) : INoiseSource
{
    private const int ParallelFrom = 16384;
    private readonly FastGaussian[] streams = FastGaussian.Streams(seed, Math.Max(1, Environment.ProcessorCount));
    private readonly float[] scalars = new float[16];
    private int nextScalar = 16;

    public void Fill(Span<float> destination, double std)
    {
        int length = destination.Length;
        if (length < ParallelFrom)
        {
            streams[0].Fill(destination, (float)std);
            return;
        }
        unsafe
        {
            fixed (float* start = destination)
            {
                var pointer = (nint)start;
                int slice = (length / streams.Length + 15) / 16 * 16;
                Parallel.For(0, streams.Length, k =>
                {
                    int from = Math.Min(length, k * slice), to = k == streams.Length - 1 ? length : Math.Min(length, from + slice);
                    streams[k].Fill(new Span<float>((float*)pointer + from, to - from), (float)std);
                });
            }
        }
    }

    public double Next()
    {
        if (nextScalar == scalars.Length)
        {
            streams[0].Fill(scalars, 1f);
            nextScalar = 0;
        }
        return scalars[nextScalar++];
    }
}

using BenchmarkDotNet.Attributes;
using FedGrains.Learning.Privacy;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Bench;

/// <summary>
/// The Gaussian noise of one MLP step (203,530 values, one per parameter): FedGrains' vectorised FastGaussian,
/// libtorch's normal_ (what the trainer used before), and the OS-secure generator of privacy.secure_noise.
/// </summary>
public class NoiseBenchmark
{
    public const int Values = 784 * 256 + 256 + 256 * 10 + 10;
    private readonly float[] values = new float[Values];
    private readonly FastGaussian fast = new(1);
    private Tensor buffer = null!;
    private Generator generator = null!;

    [GlobalSetup]
    public void Setup()
    {
        buffer = torch.empty(Values);
        generator = new Generator(1);
    }

    [Benchmark(Baseline = true, Description = "libtorch normal_")]
    public Tensor Libtorch() => buffer.normal_(0, 1, generator: generator);

    [Benchmark(Description = "FastGaussian")]
    public float Fast()
    {
        fast.Fill(values, 1f);
        return values[0];
    }

    [Benchmark(Description = "SecureGaussian")]
    public float Secure()
    {
        SecureGaussian.Fill(values, 1.0);
        return values[0];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        buffer.Dispose();
        generator.Dispose();
    }
}

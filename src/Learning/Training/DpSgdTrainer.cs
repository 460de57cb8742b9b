using FedGrains.Learning.Privacy;
using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Training;

/// <summary>
/// Local training with differential privacy (DP-SGD, Abadi et al. 2016, Alg. 1): each step draws a Poisson sample
/// (every example independently with probability q), clips each example's gradient to the clipping norm C, adds
/// Gaussian noise N(0, (sigma C)^2) to the sum, and divides by the expected batch size q n.
/// </summary>
/// <remarks>
/// Dividing by the expected (not the drawn) batch size keeps the sensitivity of the whole step at C; dividing by the
/// drawn size would leak it. An empty sample still takes a step of pure noise, as the accountant assumes.
/// </remarks>
public sealed class DpSgdTrainer : IDisposable
{
    private readonly Sequential model;
    private readonly TrainerSettings settings;
    private readonly Random sampler;
    private readonly INoiseSource noise;
    private readonly GradientStep optimizer;
    private readonly List<Parameter> parameters;
    private readonly List<Tensor>? anchor;
    private readonly Dictionary<IntPtr, Tensor> noiseBuffers = [];
    private float[] noiseValues = [];

    /// <param name="sampler">Draws the Poisson samples; derive it from the job seed for reproducible batches.</param>
    /// <param name="noise">Draws the Gaussian noise (see <see cref="INoiseSourceFactory"/>: seeded in tests, from OS entropy or the secure generator otherwise).</param>
    public DpSgdTrainer(Sequential model, TrainerSettings settings, Random sampler, INoiseSource noise)
    {
        settings.Validate();
        if (settings.NoiseLevel != NoiseLevel.None) PrivateModelValidator.Validate(model);
        this.model = model;
        this.settings = settings;
        this.sampler = sampler;
        this.noise = noise;
        parameters = model.parameters().Where(p => p.requires_grad).ToList(); // frozen layers are not trained
        // FedProx's anchor: the weights the round started from. The proximal gradient mu (w - anchor) does not touch
        // the data, so adding it after the noise costs no privacy.
        anchor = settings.ProximalMu > 0 ? parameters.Select(p => p.detach().clone().DetachFromDisposeScope()).ToList() : null;
        optimizer = new GradientStep(parameters, settings.Optimizer, settings.LearningRate, settings.Momentum);
    }

    /// <summary>Runs <see cref="TrainerSettings.Steps"/> steps over the examples (features <paramref name="x"/>, labels <paramref name="y"/>).</summary>
    public LocalRunResult Run(Tensor x, Tensor y, CancellationToken cancellationToken = default)
    {
        long n = x.shape[0];
        var batchSizes = new int[settings.Steps];
        double lossSum = 0;
        long examples = 0;
        model.train();
        for (int step = 0; step < settings.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var indices = PoissonSample(n);
            batchSizes[step] = indices.Length;
            var index = torch.tensor(indices, dtype: ScalarType.Int64, device: x.device);
            var result = Step(x.index_select(0, index), y.index_select(0, index), n);
            lossSum += result;
            examples += indices.Length;
        }
        return new LocalRunResult(settings.Steps, batchSizes, examples == 0 ? double.NaN : lossSum / examples);
    }

    /// <summary>One step on a given batch drawn from <paramref name="populationSize"/> examples; returns the summed loss.</summary>
    public double Step(Tensor bx, Tensor by, long populationSize)
    {
        double expectedBatch = settings.SampleRate * populationSize;
        double lossSum = 0;
        bool addNoise = settings.NoiseLevel != NoiseLevel.None && settings.NoiseMultiplier > 0;
        // The noise does not depend on the data: draw it on another thread while this one computes the gradients.
        var noiseReady = addNoise ? Task.Run(DrawNoise) : Task.CompletedTask;
        List<(Parameter Parameter, Tensor Gradient)> grads;
        if (bx.shape[0] == 0)
            grads = parameters.Select(p => (p, torch.zeros_like(p))).ToList();
        else if (settings.NoiseLevel == NoiseLevel.Sample)
            (grads, _, lossSum) = PerExampleClipping.Compute(model, bx, by, settings.ClippingNorm, settings.PerExampleNorms);
        else
            (grads, lossSum) = BatchGradient(bx, by);

        // Scalars held by `using` stay alive across the native calls (see HeldScalars).
        using var divisor = (settings.NoiseLevel == NoiseLevel.None ? Math.Max(1, bx.shape[0]) : expectedBatch).ToScalar();
        using var mu = settings.ProximalMu.ToScalar();
        noiseReady.Wait();
        using (torch.no_grad())
        {
            foreach (var (p, g) in grads)
            {
                if (addNoise) g.add_(noiseBuffers[p.Handle].view(g.shape), alpha: HeldScalars.One);
                g.div_(divisor);
            }
            if (anchor is not null)
            {
                for (int k = 0; k < parameters.Count; k++)
                    grads[k].Gradient.add_(parameters[k] - anchor[k], alpha: mu);
            }
        }
        optimizer.Apply(grads.Select(g => g.Gradient).ToList());
        return lossSum;
    }

    // Fills one buffer per trainable parameter with N(0, (sigma C)^2) from the noise source; only this method touches
    // the buffers and the source. The values are drawn on the CPU (the vectorised FastGaussian is ~3x faster than
    // libtorch's serial Mersenne Twister here) and copied in; one host array is reused, since fresh large arrays every
    // step would keep the GC busy on other threads while libtorch runs.
    private void DrawNoise()
    {
        using var _ = torch.no_grad();
        double std = settings.NoiseMultiplier * settings.ClippingNorm;
        foreach (var p in parameters)
        {
            if (!noiseBuffers.TryGetValue(p.Handle, out var buffer))
                noiseBuffers[p.Handle] = buffer = torch.empty(p.shape, ScalarType.Float32, p.device).DetachFromDisposeScope();
            int length = (int)buffer.numel();
            if (noiseValues.Length < length) noiseValues = new float[length];
            noise.Fill(noiseValues.AsSpan(0, length), std);
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(noiseValues.AsSpan(0, length));
            // The bytes setter is one memcpy; TensorAccessor.CopyFrom goes element by element (~70x slower).
            if (buffer.device_type == DeviceType.CPU) buffer.bytes = bytes;
            else
            {
                using var host = torch.empty(p.shape, ScalarType.Float32);
                host.bytes = bytes;
                buffer.copy_(host);
            }
        }
    }

    // Summed batch gradient; for NoiseLevel.Batch the whole batch's gradient is clipped to C as one vector.
    private (List<(Parameter, Tensor)>, double) BatchGradient(Tensor bx, Tensor by)
    {
        var loss = nn.functional.cross_entropy(model.call(bx), by, reduction: nn.Reduction.Sum);
        var g = torch.autograd.grad([loss], parameters.Cast<Tensor>().ToList());
        if (settings.NoiseLevel == NoiseLevel.Batch)
        {
            var norm = torch.stack(g.Select(t => t.Squared().sum()).ToList()).sum().sqrt().ToDouble();
            using var factor = Math.Min(1.0, settings.ClippingNorm / (norm + 1e-6)).ToScalar();
            foreach (var t in g) t.mul_(factor);
        }
        return (parameters.Zip(g, (p, t) => (p, t.detach())).ToList(), loss.ToDouble());
    }

    private long[] PoissonSample(long n)
    {
        var chosen = new List<long>((int)Math.Min(n, settings.SampleRate * n * 2 + 16));
        for (long i = 0; i < n; i++)
            if (sampler.NextDouble() < settings.SampleRate) chosen.Add(i);
        return chosen.ToArray();
    }

    public void Dispose()
    {
        optimizer.Dispose();
        foreach (var buffer in noiseBuffers.Values) buffer.Dispose();
        anchor?.ForEach(t => t.Dispose());
    }
}

/// <summary>What a local run did: steps taken, the Poisson batch size of each step, mean training loss per example.</summary>
public sealed record LocalRunResult(int Steps, int[] BatchSizes, double MeanLoss);

using FedGrains.Learning.Privacy;
using TorchSharp;
using TorchSharp.Modules;
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
    private readonly Generator noise;
    private readonly GradientStep optimizer;
    private readonly List<Parameter> parameters;
    private readonly List<Tensor>? anchor;
    private readonly Dictionary<long, float[]> secureBuffers = [];
    private readonly Dictionary<IntPtr, Tensor> noiseBuffers = [];
    private FastGaussian[]? fastNoise;
    private float[] noiseValues = [];

    /// <param name="sampler">Draws the Poisson samples; derive it from the job seed for reproducible batches.</param>
    /// <param name="noise">Draws the Gaussian noise; seed it from OS entropy outside tests.</param>
    public DpSgdTrainer(Sequential model, TrainerSettings settings, Random sampler, Generator noise)
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
        var noiseReady = addNoise && !settings.SecureNoise ? Task.Run(DrawNoise) : Task.CompletedTask;
        List<(Parameter Parameter, Tensor Gradient)> grads;
        if (bx.shape[0] == 0)
            grads = parameters.Select(p => (p, torch.zeros_like(p))).ToList();
        else if (settings.NoiseLevel == NoiseLevel.Sample)
            (grads, _, lossSum) = PerExampleClipping.Compute(model, bx, by, settings.ClippingNorm, settings.PerExampleNorms);
        else
            (grads, lossSum) = BatchGradient(bx, by);

        // Scalars held by `using` stay alive across the native calls (see HeldScalars).
        using var noiseScale = (settings.NoiseMultiplier * settings.ClippingNorm).ToScalar();
        using var divisor = (settings.NoiseLevel == NoiseLevel.None ? Math.Max(1, bx.shape[0]) : expectedBatch).ToScalar();
        using var mu = settings.ProximalMu.ToScalar();
        noiseReady.Wait();
        using (torch.no_grad())
        {
            foreach (var (p, g) in grads)
            {
                if (addNoise)
                {
                    if (settings.SecureNoise) g.add_(SecureNoise(g), alpha: noiseScale);
                    else g.add_(noiseBuffers[p.Handle].view(g.shape), alpha: HeldScalars.One);
                }
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

    // Fills one buffer per trainable parameter with N(0, (sigma C)^2); only this method touches the buffers and the
    // generators. On the CPU the vectorised FastGaussian replaces libtorch's normal_ (a serial Mersenne Twister, ~3x
    // slower here), with one stream per core, each filling its own slice of every large buffer, seeded from the
    // caller's generator.
    private void DrawNoise()
    {
        using var _ = torch.no_grad();
        float std = (float)(settings.NoiseMultiplier * settings.ClippingNorm);
        foreach (var p in parameters)
        {
            if (!noiseBuffers.TryGetValue(p.Handle, out var buffer))
                noiseBuffers[p.Handle] = buffer = torch.empty_like(p).DetachFromDisposeScope();
            if (buffer.device_type != DeviceType.CPU || buffer.dtype != ScalarType.Float32)
            {
                buffer.normal_(0, std, generator: noise);
                continue;
            }
            fastNoise ??= FastGaussian.Streams(unchecked((ulong)noise.initial_seed()), Math.Max(1, Environment.ProcessorCount));
            int length = (int)buffer.numel();
            if (noiseValues.Length < length) noiseValues = new float[length];
            var values = noiseValues;
            int streams = length < 16384 ? 1 : fastNoise.Length;
            int slice = (length / streams + 15) / 16 * 16;
            Parallel.For(0, streams, k =>
            {
                int from = Math.Min(length, k * slice), to = k == streams - 1 ? length : Math.Min(length, from + slice);
                fastNoise[k].Fill(values.AsSpan(from, to - from), std);
            });
            // The bytes setter is one memcpy; TensorAccessor.CopyFrom goes element by element (~70x slower).
            buffer.bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan(0, length));
        }
    }

    // Standard normal noise from the OS's secure generator, shaped like the gradient.
    private Tensor SecureNoise(Tensor like)
    {
        // Reuse one buffer per tensor size: fresh large arrays every step would keep the GC busy on other threads while
        // libtorch runs, and TorchSharp's temporary scalars do not survive a collection mid-call.
        if (!secureBuffers.TryGetValue(like.numel(), out var values))
            secureBuffers[like.numel()] = values = new float[like.numel()];
        Privacy.SecureGaussian.Fill(values, 1.0);
        return torch.tensor(values, like.shape, dtype: ScalarType.Float32).to(like.dtype).to(like.device);
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

using FedGrains.Learning.Models;
using FedGrains.Learning.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning.Federation;

/// <summary>The federation's side of the model: its initial weights and its evaluation on held-out data.</summary>
public static class GlobalModel
{
    /// <summary>Initial weights from the job seed, as a flat array, with the layout hash deltas must match.</summary>
    public static (float[] Weights, ulong LayoutHash) Initial(ModelSpec spec, int[] exampleShape, int classes, long jobSeed)
    {
        using var model = ModelFactory.Create(spec, exampleShape, classes, Seeds.Derive(jobSeed, "init"));
        PrivateModelValidator.Validate(model);
        return (ModelWeights.Read(model), ModelWeights.LayoutHash(model));
    }

    /// <summary>The model's tensors in flat order, and whether each is frozen (the segments of a delta on the wire).</summary>
    public static Codecs.DeltaSegment[] Segments(ModelSpec spec, int[] exampleShape, int classes)
    {
        using var model = ModelFactory.Create(spec, exampleShape, classes, seed: 0);
        return model.parameters().Select(p => new Codecs.DeltaSegment(p.numel(), !p.requires_grad)).ToArray();
    }

    /// <summary>Test loss and accuracy of <paramref name="weights"/>.</summary>
    public static (double Loss, double Accuracy) Evaluate(ModelSpec spec, float[] weights, Tensor x, Tensor y, int classes)
    {
        var shape = x.shape.Skip(1).Select(s => (int)s).ToArray();
        using var model = ModelFactory.Create(spec, shape, classes, seed: 0);
        model.to(x.device);
        ModelWeights.Write(model, weights);
        return Evaluator.Evaluate(model, x, y);
    }
}

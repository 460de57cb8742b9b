namespace FedGrains.Learning.Training;

/// <summary>Where DP-SGD clips before adding noise.</summary>
public enum NoiseLevel
{
    /// <summary>No clipping and no noise: ordinary minibatch training, no privacy claimed (a baseline).</summary>
    None,

    /// <summary>Per-example clipping (DP-SGD of Abadi et al. 2016): each example's influence is bounded; epsilon is claimed.</summary>
    Sample,

    /// <summary>
    /// Whole-batch clipping: the summed batch gradient is clipped and noised. One example's influence is not bounded
    /// by the clipping norm, so no epsilon is claimed; kept for comparison with the seed script.
    /// </summary>
    Batch,
}

namespace FedGrains.Learning.Models;

/// <summary>Which model a job trains.</summary>
/// <param name="Kind">"mlp" (fully connected, ReLU) or "cnn" (small tanh conv net for 28x28 images).</param>
/// <param name="Hidden">Hidden layer widths of the MLP; ignored by the CNN.</param>
public sealed record ModelSpec(string Kind = "mlp", int[]? Hidden = null)
{
    public int[] HiddenOrDefault => Hidden ?? [256];
}

namespace FedGrains.Learning.Privacy;

/// <summary>
/// One run of the Poisson-subsampled Gaussian mechanism: <paramref name="Steps"/> steps at sample rate
/// <paramref name="SampleRate"/> with noise standard deviation <paramref name="NoiseMultiplier"/> x clipping norm.
/// </summary>
public sealed record PrivacyCharge(double SampleRate, double NoiseMultiplier, long Steps);

using FedGrains.Learning.Privacy;

namespace FedGrains.Grains.Interfaces;

/// <summary>
/// Carries a <see cref="PrivacyCharge"/> across the wire and into storage, so the one charge type stays in the
/// Orleans-free Learning library.
/// </summary>
[GenerateSerializer, Immutable, Alias("fedgrains.privacy-charge")]
public readonly struct PrivacyChargeSurrogate
{
    [Id(0)] public readonly double SampleRate;
    [Id(1)] public readonly double NoiseMultiplier;
    [Id(2)] public readonly long Steps;
    [Id(3)] public readonly Mechanism Mechanism;

    public PrivacyChargeSurrogate(double sampleRate, double noiseMultiplier, long steps, Mechanism mechanism) =>
        (SampleRate, NoiseMultiplier, Steps, Mechanism) = (sampleRate, noiseMultiplier, steps, mechanism);
}

[RegisterConverter]
public sealed class PrivacyChargeConverter : IConverter<PrivacyCharge, PrivacyChargeSurrogate>
{
    public PrivacyCharge ConvertFromSurrogate(in PrivacyChargeSurrogate s) => new(s.SampleRate, s.NoiseMultiplier, s.Steps, s.Mechanism);

    public PrivacyChargeSurrogate ConvertToSurrogate(in PrivacyCharge c) => new(c.SampleRate, c.NoiseMultiplier, c.Steps, c.Mechanism);
}

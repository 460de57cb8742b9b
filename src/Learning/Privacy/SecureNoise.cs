namespace FedGrains.Learning.Privacy;

/// <summary>Noise from the OS's cryptographically secure generator (<see cref="SecureGaussian"/>), for privacy.secure_noise.</summary>
public sealed class SecureNoise : INoiseSource
{
    public void Fill(Span<float> destination, double std) => SecureGaussian.Fill(destination, std);

    public double Next()
    {
        Span<float> one = stackalloc float[1];
        SecureGaussian.Fill(one, 1.0);
        return one[0];
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace FedGrains.Learning;

/// <summary>
/// Tensor arithmetic that never hands libtorch a Scalar nobody holds.
/// </summary>
/// <remarks>
/// A TorchSharp Scalar owns native memory and has a finalizer. One made for a single call (an implicit conversion such
/// as <c>t * 2.0</c>, or one TorchSharp makes itself: <c>a + b</c> passes alpha = 1, <c>add_(s)</c> likewise,
/// <c>square()</c> is <c>pow(2)</c>) is unreachable while the native call runs, so a collection started by another
/// thread (noise generation, grains, other gateways) can free it mid-call: libtorch then fails with "INTERNAL ASSERT
/// FAILED at Scalar.h" or "Unknown scalar type". Use these instead, and hold any other Scalar in a `using` local or
/// a static field; a test scans the compiled library for violations.
/// </remarks>
internal static class HeldScalars
{
    public static readonly Scalar One = 1.0, Zero = 0.0, Tiny = 1e-6;

    /// <summary>a + b.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary>a + s, for a Scalar the caller holds.</summary>
    public static Tensor Plus(this Tensor a, Scalar s) => a.add(s, One);

    /// <summary>Element-wise a^2 (exactly what pow(2) computes).</summary>
    public static Tensor Squared(this Tensor a) => a.mul(a);
}

using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Codecs;

namespace FedGrains.Grains.Federation;

/// <summary>Checks a gateway's update before it may touch the global model: right kind, version, layout, size, finite values.</summary>
internal static class UpdateValidator
{
    /// <summary>The decoded delta, or the reason it is refused.</summary>
    public static (float[]? Delta, string? Reason) Validate(GatewayUpdate update, long modelVersion, ulong layoutHash, int parameterCount)
    {
        if (update.RefusedReason is { } refused) return (null, refused);
        if (update.Delta is null) return (null, "no delta was sent");
        DecodedDelta decoded;
        try { decoded = DeltaCodec.Decode(update.Delta); }
        catch (InvalidDataException e) { return (null, e.Message); }
        if (decoded.ModelVersion != modelVersion) return (null, $"delta is for model version {decoded.ModelVersion}, the current one is {modelVersion}");
        if (decoded.LayoutHash != layoutHash) return (null, "delta was computed for a different model layout");
        if (decoded.Values.Length != parameterCount) return (null, $"delta has {decoded.Values.Length} values, the model has {parameterCount}");
        int bad = Array.FindIndex(decoded.Values, v => !float.IsFinite(v));
        if (bad >= 0) return (null, $"delta value {bad} is {decoded.Values[bad]} (not finite)");
        if (update.Examples <= 0) return (null, $"example count {update.Examples} must be > 0");
        return (decoded.Values, null);
    }
}

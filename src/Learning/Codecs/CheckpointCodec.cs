namespace FedGrains.Learning.Codecs;

/// <summary>What the pipeline carries from round to round; persisted with the round so a resumed job continues exactly.</summary>
public sealed record AggregationCheckpoint(double? ZeroingEstimate, double? ClippingEstimate, float[]? FirstMoment, float[]? SecondMoment);

/// <summary>An <see cref="AggregationCheckpoint"/> as bytes, for the federation's state.</summary>
public static class CheckpointCodec
{
    private const int Version = 1;

    public static byte[] Encode(AggregationCheckpoint c)
    {
        using var stream = new MemoryStream();
        using var w = new BinaryWriter(stream);
        w.Write(Version);
        WriteOptional(w, c.ZeroingEstimate);
        WriteOptional(w, c.ClippingEstimate);
        WriteArray(w, c.FirstMoment);
        WriteArray(w, c.SecondMoment);
        w.Flush();
        return stream.ToArray();
    }

    public static AggregationCheckpoint? Decode(byte[]? bytes)
    {
        if (bytes is null || bytes.Length == 0) return null;
        using var r = new BinaryReader(new MemoryStream(bytes));
        if (r.ReadInt32() != Version) throw new InvalidDataException("aggregation checkpoint version is not supported.");
        return new AggregationCheckpoint(ReadOptional(r), ReadOptional(r), ReadArray(r), ReadArray(r));
    }

    private static void WriteOptional(BinaryWriter w, double? v)
    {
        w.Write(v.HasValue);
        if (v.HasValue) w.Write(v.Value);
    }

    private static double? ReadOptional(BinaryReader r) => r.ReadBoolean() ? r.ReadDouble() : null;

    private static void WriteArray(BinaryWriter w, float[]? values)
    {
        w.Write(values?.Length ?? -1);
        if (values is not null) foreach (var v in values) w.Write(v);
    }

    private static float[]? ReadArray(BinaryReader r)
    {
        int n = r.ReadInt32();
        if (n < 0) return null;
        var values = new float[n];
        for (int i = 0; i < n; i++) values[i] = r.ReadSingle();
        return values;
    }
}

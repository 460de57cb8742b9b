using System.Runtime.InteropServices;
using System.Security.Cryptography;
using FedGrains.Learning.Data;

namespace FedGrains.Learning.Features;

/// <summary>
/// Computed features on disk, keyed by the transform and the exact pixels they came from, so a new process (a
/// restarted silo, the next tuning run) reads them instead of spending about 50 s of CPU on 70k images again. Files
/// are written whole under a temporary name and then renamed, so concurrent processes never read half a file; the
/// least recently used are deleted beyond the size cap.
/// </summary>
/// <remarks>
/// The features are a function of a site's private images: the folder needs the same protection as the data.
/// </remarks>
public sealed class FeatureCache(string directory, long maxBytes)
{
    /// <summary>Environment variable naming the folder; unset means no cache.</summary>
    public const string DirectoryVariable = "FEDGRAINS_FEATURE_CACHE";

    /// <summary>Environment variable with the cap in GB (default 8).</summary>
    public const string LimitVariable = "FEDGRAINS_FEATURE_CACHE_GB";

    private static readonly Lazy<FeatureCache?> shared = new(() =>
        FromSettings(Environment.GetEnvironmentVariable(DirectoryVariable), Environment.GetEnvironmentVariable(LimitVariable)));

    /// <summary>The process's cache from <see cref="DirectoryVariable"/> and <see cref="LimitVariable"/>, or null.</summary>
    public static FeatureCache? Shared => shared.Value;

    public string Directory { get; } = directory;

    /// <summary>A cache in <paramref name="directory"/> (none when empty) holding at most <paramref name="limitGb"/> GB (default 8).</summary>
    public static FeatureCache? FromSettings(string? directory, string? limitGb)
    {
        if (string.IsNullOrWhiteSpace(directory)) return null;
        if (limitGb is null) return new FeatureCache(directory, 8L << 30);
        if (!double.TryParse(limitGb, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double gb) || !(gb > 0))
            throw new ArgumentException($"{LimitVariable}='{limitGb}' is not a positive number of GB: set it to e.g. 8, or unset it for the default.");
        return new FeatureCache(directory, (long)(gb * (1L << 30)));
    }

    /// <summary>The features of <paramref name="images"/> under <paramref name="transform"/>: read if cached, else computed and stored.</summary>
    /// <param name="transform">Names the transform and its settings; change it whenever the features would change.</param>
    /// <param name="length">How many values the features have.</param>
    public float[] GetOrCompute(string transform, LabeledData images, long length, Func<float[]> compute)
    {
        string path = Path.Combine(Directory, $"{Key(transform, images)}.f32");
        if (TryRead(path, length) is { } cached) return cached;
        var features = compute();
        Write(path, features);
        return features;
    }

    private static string Key(string transform, LabeledData images)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes($"{transform}|{string.Join("x", images.ExampleShape)}|{images.Count}|"));
        hash.AppendData(MemoryMarshal.AsBytes(images.Features.AsSpan()));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    // A missing, short or concurrently deleted file is a miss: the features are computed again.
    private static float[]? TryRead(string path, long length)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length != length * sizeof(float)) return null;
            var values = new float[length];
            using (var file = File.OpenRead(path)) file.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow); // least recently used goes first
            return values;
        }
        catch (IOException) { return null; }
    }

    // A folder that cannot be written (full, read-only, not a folder) costs the next run a recomputation, never this
    // run its features.
    private void Write(string path, float[] features)
    {
        string temporary = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            using (var file = File.Create(temporary)) file.Write(MemoryMarshal.AsBytes(features.AsSpan()));
            File.Move(temporary, path, overwrite: true);
            Trim(keep: path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(temporary); }
            catch (Exception again) when (again is IOException or UnauthorizedAccessException) { }
        }
    }

    // Deletes the least recently used files until the folder fits the cap (the one just written stays).
    private void Trim(string keep)
    {
        var files = new DirectoryInfo(Directory).GetFiles("*.f32").OrderBy(f => f.LastWriteTimeUtc).ToList();
        long total = files.Sum(f => f.Length);
        foreach (var file in files)
        {
            if (total <= maxBytes) break;
            if (file.FullName == Path.GetFullPath(keep)) continue;
            long size = file.Length; // read first: a deleted FileInfo no longer knows its length
            file.Delete();
            total -= size;
        }
    }
}

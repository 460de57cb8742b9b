using System.Security.Cryptography;
using FedGrains.Learning.Jobs;

namespace FedGrains.Cli.Running;

/// <summary>The file a spec's model.initial_weights names, read once at submission and pinned in the spec by its SHA-256.</summary>
internal static class InitialWeightsUpload
{
    /// <summary>Orleans refuses messages above 100 MB; a larger model needs chunked transport, which is not built yet.</summary>
    public const long MaxBytes = 95L << 20;

    /// <summary>The spec with the file's SHA-256 filled in, and the file's bytes (null when the spec names no file).</summary>
    /// <exception cref="JobSpecException">The file is missing, too large, or not the one the spec's own SHA-256 pins.</exception>
    public static (JobSpec Spec, byte[]? Bytes) Attach(JobSpec spec)
    {
        if (spec.Model.InitialWeights is not { Length: > 0 } path) return (spec, null);
        var file = new FileInfo(path);
        if (Directory.Exists(path)) throw Refused($"{path} is a folder; name the .safetensors file in it.");
        if (!file.Exists) throw Refused($"file {path} does not exist (a relative path is read from the spec file's folder).");
        if (file.Length > MaxBytes)
            throw Refused($"{path} has {file.Length:N0} bytes, more than the {MaxBytes:N0} a job submission can carry (chunked upload of larger models is not built yet); start from a smaller model, or save it as F16/BF16.");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw Refused($"{path} cannot be read: {e.Message}"); }
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (spec.Model.InitialWeightsSha256 is { } pinned && pinned != sha)
            throw Refused($"{path} has SHA-256 {sha}, but model.initial_weights_sha256 pins {pinned}: the file changed since the spec was written; use the pinned file, or leave the SHA-256 out to take this one.");
        return (spec with { Model = spec.Model with { InitialWeightsSha256 = sha } }, bytes);
    }

    private static JobSpecException Refused(string why) => new([$"model.initial_weights: {why}"]);
}

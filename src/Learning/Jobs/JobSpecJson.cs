using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json;

namespace FedGrains.Learning.Jobs;

/// <summary>
/// Reads and writes job specs as JSON with snake_case names. A spec a person wrote is read strictly (unknown fields are
/// refused, so typos do not pass silently); a spec the system stored is read tolerantly (<see cref="ParseStored"/>), so
/// a silo can read what another release stored.
/// </summary>
public static class JobSpecJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
        // A second "privacy" object would otherwise silently win over the first (a DP job turned into one without noise).
        AllowDuplicateProperties = false,
    };

    private static readonly JsonSerializerOptions StoredOptions = new(Options) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip };

    // A person's "privacy": null (or any section) is refused naming the field, not left for the validator to trip on.
    private static readonly JsonSerializerOptions UserOptions = new(Options) { RespectNullableAnnotations = true };

    /// <summary>Fields the first stored format named differently: (object path, old name, new name).</summary>
    private static readonly (string[] Path, string Old, string New)[] Renamed =
    [
        (["privacy", "local_update_dp"], "clipping_bound", "clipping_norm"),
    ];

    public static string Serialize(JobSpec spec) => JsonSerializer.Serialize(spec, Options);

    /// <summary>The spec's SHA-256 (hex) over its canonical JSON: what a site admin approves names exactly this spec.</summary>
    public static string Digest(JobSpec spec) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Serialize(spec))));

    /// <summary>
    /// Reads a spec this system stored (in grain state or on the wire): fields of a newer release are ignored, and
    /// fields an older release named differently are read under their new name. Never for user input.
    /// </summary>
    public static JobSpec ParseStored(string json)
    {
        var root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })?.AsObject()
            ?? throw new JobSpecException(["stored job spec is empty."]);
        foreach (var (path, old, renamed) in Renamed)
        {
            var node = path.Aggregate((JsonNode?)root, (n, key) => n?[key]) as JsonObject;
            if (node is not null && node.Remove(old, out var value) && !node.ContainsKey(renamed)) node[renamed] = value;
        }
        return root.Deserialize<JobSpec>(StoredOptions) ?? throw new JobSpecException(["stored job spec is empty."]);
    }

    /// <summary>Parses a spec; a malformed document or an unknown/mistyped field gives a <see cref="JobSpecException"/> naming it.</summary>
    public static JobSpec Parse(string json, string source = "job spec")
    {
        try
        {
            return JsonSerializer.Deserialize<JobSpec>(json, UserOptions) ?? throw new JobSpecException([$"{source} is empty: expected a JSON object."]);
        }
        catch (JsonException e)
        {
            var field = string.IsNullOrEmpty(e.Path) ? "" : $" at {e.Path}";
            if (e.Message.StartsWith("Duplicate property", StringComparison.Ordinal))
                throw new JobSpecException([$"{source}{field}: this field is given twice; give each field once (nothing is taken from either copy)."]);
            if (e.Message.Contains("doesn't allow setting null values", StringComparison.Ordinal))
                throw new JobSpecException([$"{source}{field}: null is not a value of this field; give one (see docs/job-spec.md), or leave the field out for its default."]);
            if (Renamed.FirstOrDefault(r => e.Path == "$." + string.Join(".", r.Path.Append(r.Old))) is { Old: not null } renamed)
                throw new JobSpecException([$"{source}{field}: {string.Join(".", renamed.Path)}.{renamed.Old} was renamed {renamed.New}; write \"{renamed.New}\"."]);
            throw new JobSpecException([$"{source}{field}: {e.Message.Split(" Path:")[0]} See docs/job-spec.md for the fields and their types."]);
        }
    }

    /// <summary>Reads a spec file; its relative paths (dataset.data_dir, gateways[].source) are relative to the file's folder.</summary>
    public static JobSpec Load(string path)
    {
        if (!File.Exists(path)) throw new JobSpecException([$"--spec: file {path} does not exist."]);
        return RelativeTo(Parse(File.ReadAllText(path), path), Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    // A spec names its files as seen from where it lies, so it means the same from any working directory (and a
    // spec shipped next to its data runs as it is); absolute paths stay exactly as written.
    private static JobSpec RelativeTo(JobSpec spec, string folder)
    {
        string? Full(string? path) => string.IsNullOrWhiteSpace(path) || Path.IsPathRooted(path) ? path : Path.Join(folder, path);
        return spec with
        {
            Dataset = spec.Dataset with { DataDir = Full(spec.Dataset.DataDir) },
            Model = spec.Model with { InitialWeights = Full(spec.Model.InitialWeights) },
            Gateways = spec.Gateways?.Select(g => g.Source is { } s
                ? g with { Source = s with { Csv = Full(s.Csv), Images = Full(s.Images), Labels = Full(s.Labels), Folder = Full(s.Folder) } }
                : g).ToList(),
        };
    }
}

/// <summary>A job spec that cannot run; <see cref="Problems"/> name each field and the fix.</summary>
public sealed class JobSpecException(IReadOnlyList<string> problems)
    : Exception("invalid job spec:\n  - " + string.Join("\n  - ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

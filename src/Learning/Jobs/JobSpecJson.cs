using System.Text.Json;
using System.Text.Json.Serialization;

namespace FedGrains.Learning.Jobs;

/// <summary>Reads and writes job specs as JSON with snake_case names; unknown fields are refused so typos do not pass silently.</summary>
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
    };

    public static string Serialize(JobSpec spec) => JsonSerializer.Serialize(spec, Options);

    /// <summary>Parses a spec; a malformed document or an unknown/mistyped field gives a <see cref="JobSpecException"/> naming it.</summary>
    public static JobSpec Parse(string json, string source = "job spec")
    {
        try
        {
            return JsonSerializer.Deserialize<JobSpec>(json, Options) ?? throw new JobSpecException([$"{source} is empty: expected a JSON object."]);
        }
        catch (JsonException e)
        {
            var field = string.IsNullOrEmpty(e.Path) ? "" : $" at {e.Path}";
            throw new JobSpecException([$"{source}{field}: {e.Message.Split(" Path:")[0]} See docs/job-spec.md for the fields and their types."]);
        }
    }

    public static JobSpec Load(string path)
    {
        if (!File.Exists(path)) throw new JobSpecException([$"--spec: file {path} does not exist."]);
        return Parse(File.ReadAllText(path), path);
    }
}

/// <summary>A job spec that cannot run; <see cref="Problems"/> name each field and the fix.</summary>
public sealed class JobSpecException(IReadOnlyList<string> problems)
    : Exception("invalid job spec:\n  - " + string.Join("\n  - ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

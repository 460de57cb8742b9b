using System.CommandLine;
using FedGrains.Learning.Jobs;

namespace FedGrains.Cli.Commands;

/// <summary>
/// Job ids given on the command line: the same rule as gateway ids (they become grain keys and file names), checked
/// by the parser, so "", ".." or "a/b" exit 2 naming the flag before anything starts.
/// </summary>
internal static class JobIds
{
    public static Option<string?> Option(string description)
    {
        var option = new Option<string?>("--job-id") { Description = description };
        option.Validators.Add(r =>
        {
            if (JobSpecValidator.IdProblem("--job-id", r.GetValueOrDefault<string?>()) is { } problem) r.AddError(problem);
        });
        return option;
    }

    public static Argument<string> Argument()
    {
        var argument = new Argument<string>("job") { Description = "Job id." };
        argument.Validators.Add(r =>
        {
            if (JobSpecValidator.IdProblem("job", r.GetValueOrDefault<string>()) is { } problem) r.AddError(problem);
        });
        return argument;
    }

    /// <summary>A fresh id from the UTC time, e.g. job-20261202-114512.</summary>
    public static string New() => $"job-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
}

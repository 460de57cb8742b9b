using FedGrains.Grains.Storage;

namespace FedGrains.Cli.Running;

/// <summary>`run --output`: checked before the silo starts, so a file or an unwritable folder is a clear refusal, not a silo crash.</summary>
internal static class OutputFolder
{
    /// <summary>Throws <see cref="InvalidOperationException"/> naming --output when the folder cannot hold the job's state and report.</summary>
    public static void CheckWritable(string dir)
    {
        if (File.Exists(dir)) throw new InvalidOperationException($"--output: '{dir}' is a file; give a folder (it is created if missing).");
        var state = Path.Combine(dir, "state");
        if (File.Exists(state)) throw new InvalidOperationException($"--output: '{state}' is a file where the job's state folder goes; move it or give another --output.");
        try
        {
            Directory.CreateDirectory(state);
            var probe = Path.Combine(state, $".write-check-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"--output: cannot write to '{dir}' ({e.Message}); give a folder you can write to.");
        }
    }

    /// <summary>
    /// The job state an --output holds, checked before the silo opens it: a damaged store is refused
    /// (<see cref="StateStoreDamagedException"/>), and so is a missing one where a report shows there was one (a re-run
    /// would start its job over and spend its privacy again).
    /// </summary>
    public static void CheckState(string dir)
    {
        var database = Path.Combine(dir, "state", "fedgrains.db");
        if (!File.Exists(database) && File.Exists(Path.Combine(dir, "report.json")))
            throw new InvalidOperationException($"--output '{dir}' holds the report.json of an earlier run but not its state: {database} is missing. Restore it from a backup to resume or report that run; to start a new job deliberately, give another --output (or move report.json away).");
        SqliteStoreCheck.Verify(database);
    }
}

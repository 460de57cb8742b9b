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
}

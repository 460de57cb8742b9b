using System.CommandLine;
using FedGrains.Cli.Commands;
using FedGrains.Learning;

NativeMemoryTuning.Apply();
// Into a file or a pipe there is no screen to fit: a line wrapped at 80 columns breaks mid-phrase for whoever reads
// the log, and for grep. Lines stay whole there; a terminal still gets its own width.
if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = 4096;
var root = CliRoot.Create();
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0) return ParseErrors.Report(parsed);
try
{
    return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (OperationCanceledException)
{
    return 130; // interrupted (Ctrl+C), as a shell reports SIGINT
}
catch (Exception e)
{
    // A failure no command mapped to its own exit code: the message, never a stack trace (it can hold paths and
    // values of a site's data); the trace goes to the log only when asked for.
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine("This is a failure FedGrains did not expect; set FEDGRAINS_TRACE=1 to print its stack trace, and report it.");
    if (Environment.GetEnvironmentVariable("FEDGRAINS_TRACE") == "1") Console.Error.WriteLine(e);
    return 1;
}

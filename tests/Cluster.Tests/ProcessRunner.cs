using System.Diagnostics;
using System.Text;

namespace FedGrains.Cluster.Tests;

/// <summary>Starts the project's executables (and redis-server) as real processes, capturing their output.</summary>
internal sealed class ProcessRunner : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();

    private ProcessRunner(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => process.Id;
    public bool HasExited => process.HasExited;

    public string Output
    {
        get { lock (output) return output.ToString(); }
    }

    public static ProcessRunner Start(string fileName, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        return new ProcessRunner(Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}"));
    }

    /// <summary>Runs `dotnet DLL args` from the test's output folder (where the project's executables are copied).</summary>
    public static ProcessRunner StartDotnet(string dll, IEnumerable<string> args) =>
        Start("dotnet", new[] { Path.Combine(AppContext.BaseDirectory, dll) }.Concat(args));

    public async Task<int> WaitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cancel.Token);
        process.WaitForExit(); // flush the asynchronous output readers
        return process.ExitCode;
    }

    /// <summary>Waits until the process has printed <paramref name="text"/>; false if it exits or the time runs out first.</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Output.Contains(text, StringComparison.Ordinal)) return true;
            if (process.HasExited) break;
            await Task.Delay(100);
        }
        return Output.Contains(text, StringComparison.Ordinal);
    }

    /// <summary>SIGKILL: no graceful shutdown, as when a machine dies.</summary>
    public void Kill() => process.Kill(entireProcessTree: true);

    private bool disposed;

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.Dispose();
    }
}

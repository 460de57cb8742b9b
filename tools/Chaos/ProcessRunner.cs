using System.Diagnostics;
using System.Text;

namespace FedGrains.Chaos;

/// <summary>
/// Starts the project's executables (and redis-server) as real processes, capturing their output. The executables are
/// found in the calling program's folder: a project that uses this references src/Silo and src/Cli.
/// </summary>
public sealed class ProcessRunner : IDisposable
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

    public static ProcessRunner Start(string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        return new ProcessRunner(Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}"));
    }

    /// <summary>Runs `dotnet DLL args` from the test's output folder (where the project's executables are copied).</summary>
    public static ProcessRunner StartDotnet(string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        Start("dotnet", new[] { Path.Combine(AppContext.BaseDirectory, dll) }.Concat(args), environment);

    /// <summary>A redis-server on <paramref name="port"/> of loopback, in memory only, with any <paramref name="extra"/> arguments (e.g. a password).</summary>
    public static ProcessRunner StartRedis(int port, params string[] extra)
    {
        var server = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-server is not installed: run `apt-get install -y redis-server` (.ci/run does).");
        return Start(server, ["--port", port.ToString(), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1", .. extra]);
    }

    /// <summary>
    /// Polls <paramref name="url"/> (e.g. a silo's /readyz, 200 once it joined the cluster) until it answers 200 or
    /// <paramref name="timeout"/> passes: the last status seen (0 when nothing answered).
    /// </summary>
    public static async Task<System.Net.HttpStatusCode> WaitForHttpAsync(string url, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        System.Net.HttpStatusCode last = 0;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = (await http.GetAsync(url)).StatusCode;
                if (last == System.Net.HttpStatusCode.OK) return last;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            await Task.Delay(250);
        }
        return last;
    }

    /// <summary>Runs the CLI with <paramref name="args"/> to its end (at most two minutes): its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunCliAsync(params string[] args)
    {
        using var cli = StartDotnet("fedgrains.dll", args);
        var code = await cli.WaitAsync(TimeSpan.FromMinutes(2));
        return (code, cli.Output);
    }

    /// <summary>Retries a CLI call while the cluster is still starting (exit code 3: unreachable), for up to a minute.</summary>
    public static async Task<(int ExitCode, string Output)> RetryUntilUpAsync(Func<Task<(int ExitCode, string Output)>> call)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            var result = await call();
            if (result.ExitCode != 3 || DateTime.UtcNow > deadline) return result;
            await Task.Delay(500);
        }
    }

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
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000); // gone (and reaped) when this returns, not merely signalled
        }
        process.Dispose();
    }
}

using System.Globalization;
using FedGrains.Chaos;

namespace FedGrains.Bench;

/// <summary>`chaos [KILLS] [SEED]`: the chaos run at length (100 kills by default); prints its figures, exits 1 unless clean.</summary>
internal static class ChaosBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        int kills = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100;
        var options = new ChaosOptions { Kills = kills, Log = line => Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss.f} {line}") };
        if (args.Length > 1) options = options with { Seed = int.Parse(args[1], CultureInfo.InvariantCulture) };
        var report = await ChaosDriver.RunAsync(options);
        Console.WriteLine();
        Console.WriteLine(report);
        return report.Clean ? 0 : 1;
    }
}

using FedGrains.Grains.Interfaces;
using ScottPlot;

namespace FedGrains.Cli.Running;

/// <summary>PNG plots of a job's history: test accuracy per round, and each gateway's epsilon per round.</summary>
internal static class Plots
{
    public static void Write(IReadOnlyList<RoundRecord> history, string directory)
    {
        var rounds = history.Select(r => (double)r.Round).ToArray();

        var accuracy = new Plot();
        accuracy.Add.Scatter(rounds, history.Select(r => r.TestAccuracy * 100).ToArray());
        accuracy.Title("Test accuracy per round");
        accuracy.XLabel("round");
        accuracy.YLabel("test accuracy (%)");
        accuracy.SavePng(Path.Combine(directory, "accuracy.png"), 800, 500);

        var epsilon = new Plot();
        foreach (var gateway in history.SelectMany(r => r.Privacy).Select(p => p.GatewayId).Distinct().Order(StringComparer.Ordinal))
        {
            var points = history.Select(r => (r.Round, r.Privacy.FirstOrDefault(p => p.GatewayId == gateway)?.Epsilon))
                .Where(p => p.Epsilon is not null).ToArray();
            if (points.Length == 0) continue;
            var line = epsilon.Add.Scatter(points.Select(p => (double)p.Round).ToArray(), points.Select(p => p.Epsilon!.Value).ToArray());
            line.LegendText = gateway;
        }
        epsilon.Title("Epsilon spent per gateway");
        epsilon.XLabel("round");
        epsilon.YLabel("epsilon");
        epsilon.ShowLegend();
        epsilon.SavePng(Path.Combine(directory, "epsilon.png"), 800, 500);
    }
}

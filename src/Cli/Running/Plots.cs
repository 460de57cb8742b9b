using System.Globalization;
using FedGrains.Grains.Interfaces;
using FedGrains.Learning.Jobs;
using ScottPlot;

namespace FedGrains.Cli.Running;

/// <summary>
/// Plots of a job's history, each as PNG and SVG: test accuracy per round under the job's privacy setting; each
/// gateway's cumulative epsilon against its target (identical curves drawn once, with their count); and which
/// gateways took part in, or were rejected from, each round.
/// </summary>
internal static class Plots
{
    /// <summary>Rows of the participation strip: beyond this many gateways it shows the first ones only.</summary>
    public const int MaxStripGateways = 100;

    /// <summary>The names of the plots written, without extension (each as .png and .svg).</summary>
    public static readonly string[] Names = ["accuracy", "epsilon", "participation"];

    public static void Write(IReadOnlyList<RoundRecord> history, JobSpec spec, string directory)
    {
        Save(Accuracy(history, spec), directory, "accuracy", 800, 500);
        Save(Epsilon(history, spec), directory, "epsilon", 800, 500);
        var (strip, rows) = Participation(history, spec);
        Save(strip, directory, "participation", 800, Math.Clamp(140 + 16 * rows, 300, 1800));
    }

    private static void Save(Plot plot, string directory, string name, int width, int height)
    {
        plot.SavePng(Path.Combine(directory, name + ".png"), width, height);
        plot.SaveSvg(Path.Combine(directory, name + ".svg"), width, height);
    }

    private static string Setting(JobSpec spec) => string.Create(CultureInfo.InvariantCulture,
        $"{spec.ResolveGateways().Count} gateways, each at epsilon <= {spec.Privacy.TargetEpsilon:G4} (delta {spec.Privacy.Delta:G3}, {spec.Privacy.Accountant} accountant, noise level {spec.Privacy.NoiseLevel})");

    /// <summary>The x axis counts rounds: whole numbers only.</summary>
    private static void Rounds(Plot plot)
    {
        plot.XLabel("round");
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
    }

    private static Plot Accuracy(IReadOnlyList<RoundRecord> history, JobSpec spec)
    {
        var plot = new Plot();
        plot.Add.Scatter(history.Select(r => (double)r.Round).ToArray(), history.Select(r => r.TestAccuracy * 100).ToArray());
        plot.Title($"Test accuracy per round\n{Setting(spec)}", size: 14);
        Rounds(plot);
        plot.YLabel("test accuracy (%)");
        return plot;
    }

    /// <summary>
    /// One line per distinct epsilon curve: gateways with the same data size and plan spend the same, and ten identical
    /// lines drawn over each other leave nine legend entries pointing at nothing.
    /// </summary>
    private static Plot Epsilon(IReadOnlyList<RoundRecord> history, JobSpec spec)
    {
        var plot = new Plot();
        var curves = history.SelectMany(r => r.Privacy).Select(p => p.GatewayId).Distinct().Order(StringComparer.Ordinal)
            .Select(id => (Id: id, Points: history.Select(r => (r.Round, r.Privacy.FirstOrDefault(p => p.GatewayId == id)?.Epsilon))
                .Where(p => p.Epsilon is not null).Select(p => (Round: (double)p.Round, Epsilon: p.Epsilon!.Value)).ToArray()))
            .Where(c => c.Points.Length > 0)
            .GroupBy(c => string.Join(';', c.Points.Select(p => FormattableString.Invariant($"{p.Round}:{p.Epsilon:G6}"))));
        foreach (var same in curves)
        {
            var ids = same.Select(c => c.Id).ToArray();
            var points = same.First().Points;
            var line = plot.Add.Scatter(points.Select(p => p.Round).ToArray(), points.Select(p => p.Epsilon).ToArray());
            line.LegendText = ids.Length == 1 ? ids[0] : $"{ids[0]} and {ids.Length - 1} more ({ids.Length} identical curves)";
        }
        var budget = plot.Add.HorizontalLine(spec.Privacy.TargetEpsilon);
        budget.LinePattern = LinePattern.Dashed;
        budget.Color = Colors.Red;
        budget.LegendText = string.Create(CultureInfo.InvariantCulture, $"target epsilon {spec.Privacy.TargetEpsilon:G4} per gateway");
        plot.Title(string.Create(CultureInfo.InvariantCulture,
            $"Cumulative epsilon spent per gateway\ndelta {spec.Privacy.Delta:G3}, {spec.Privacy.Accountant} accountant, noise level {spec.Privacy.NoiseLevel}"), size: 14);
        Rounds(plot);
        plot.YLabel("epsilon (cumulative)");
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    /// <summary>A strip per gateway: a dot for each round it took part in, a cross for each round its update was rejected.</summary>
    private static (Plot Plot, int Rows) Participation(IReadOnlyList<RoundRecord> history, JobSpec spec)
    {
        var gateways = spec.ResolveGateways().Select(g => g.Id).Take(MaxStripGateways).ToArray();
        var row = gateways.Select((id, k) => (id, k)).ToDictionary(x => x.id, x => (double)(gateways.Length - 1 - x.k));
        var plot = new Plot();
        void Marks(Func<RoundRecord, IEnumerable<string>> who, Color color, MarkerShape shape, string legend)
        {
            var points = history.SelectMany(r => who(r).Where(row.ContainsKey).Select(id => ((double)r.Round, row[id]))).ToArray();
            if (points.Length == 0) return;
            var marks = plot.Add.ScatterPoints(points.Select(p => p.Item1).ToArray(), points.Select(p => p.Item2).ToArray(), color);
            marks.MarkerShape = shape;
            marks.MarkerSize = 8;
            marks.LegendText = legend;
        }
        Marks(r => r.Participants, Colors.Green, MarkerShape.FilledCircle, "update in the round");
        Marks(r => r.Rejected.Select(x => x.GatewayId), Colors.Red, MarkerShape.Cross, "update rejected");
        plot.Axes.Left.SetTicks([.. row.Values], [.. row.Keys]);
        plot.Axes.Margins(left: 0.05, right: 0.05, bottom: 0.1, top: 0.1);
        int total = spec.ResolveGateways().Count;
        plot.Title(total > gateways.Length ? $"Participation per round (the first {gateways.Length} of {total} gateways)" : "Participation per round", size: 14);
        Rounds(plot);
        plot.ShowLegend(Edge.Bottom);
        return (plot, gateways.Length);
    }
}

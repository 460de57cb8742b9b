using FedGrains.Grains.Interfaces;
using TorchSharp;

namespace FedGrains.Cli.Running;

/// <summary>
/// A job's rounds as TensorBoard event files (TorchSharp's SummaryWriter), so `tensorboard --logdir DIR/tensorboard`
/// shows accuracy, loss, epsilon, updates, rejections, bytes and time per round beside other experiments.
/// </summary>
internal static class TensorBoardLog
{
    /// <summary>Per-gateway epsilon curves are written up to this many gateways (a tag each); beyond, the maximum only.</summary>
    public const int MaxGatewayCurves = 50;

    public static void Write(IReadOnlyList<RoundRecord> history, string directory)
    {
        var folder = Path.Combine(directory, "tensorboard");
        // Written whole from the history each time (run, resume, export): the events of an earlier write would be shown twice.
        if (Directory.Exists(folder))
            foreach (var file in Directory.EnumerateFiles(folder, "events.out.tfevents.*")) File.Delete(file);
        var writer = torch.utils.tensorboard.SummaryWriter(folder);
        bool perGateway = history.SelectMany(r => r.Privacy).Select(p => p.GatewayId).Distinct().Count() <= MaxGatewayCurves;
        foreach (var r in history)
        {
            void Scalar(string tag, double value)
            {
                if (double.IsFinite(value)) writer.add_scalar(tag, (float)value, r.Round);
            }
            Scalar("test/accuracy", r.TestAccuracy);
            Scalar("test/loss", r.TestLoss);
            Scalar("train/loss", r.TrainLoss); // NaN (not released) is left out
            if (r.MaxEpsilon() is { } max) Scalar("privacy/max_epsilon", max);
            if (r.CentralEpsilon is { } central) Scalar("privacy/central_epsilon", central);
            if (perGateway)
                foreach (var p in r.Privacy.Where(p => p.Epsilon is not null)) Scalar($"privacy/epsilon/{p.GatewayId}", p.Epsilon!.Value);
            Scalar("round/updates", r.Participants.Count);
            Scalar("round/rejected", r.Rejected.Count);
            Scalar("round/seconds", r.Seconds);
            Scalar("round/bytes_up", r.BytesUp);
            Scalar("round/bytes_down", r.BytesDown);
        }
    }
}

using Microsoft.Extensions.Logging;

namespace FedGrains.Grains.Gateway;

internal static partial class Log
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information,
        Message = "Gateway {GatewayId} of job {JobId} trained round {Round}: {Examples} examples, {Steps} steps, q={SampleRate:F4}, sigma={NoiseMultiplier:F3}, epsilon={Epsilon}, {Seconds:F2}s")]
    public static partial void Trained(ILogger logger, string jobId, string gatewayId, int round, int examples, int steps,
        double sampleRate, double noiseMultiplier, string epsilon, double seconds);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Gateway {GatewayId} of job {JobId} refused round {Round}: {Reason}")]
    public static partial void Refused(ILogger logger, string jobId, string gatewayId, int round, string reason);

    // The exact accuracy stays on the site's own silo: it is logged here, and released only noised (or not at all).
    [LoggerMessage(EventId = 2007, Level = LogLevel.Information,
        Message = "Gateway {GatewayId} of job {JobId}: its own model on model version {ModelVersion} has accuracy {Accuracy:P2} on {Examples} held-out examples (exact, this silo only); released: {Released}")]
    public static partial void PersonalEvaluated(ILogger logger, string jobId, string gatewayId, long modelVersion, double accuracy, int examples, string released);
}

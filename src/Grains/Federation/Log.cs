using Microsoft.Extensions.Logging;

namespace FedGrains.Grains.Federation;

internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Job {JobId} started: {Rounds} rounds, {Gateways} gateways")]
    public static partial void Started(ILogger logger, string jobId, int rounds, int gateways);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information,
        Message = "Job {JobId} round {Round}/{Rounds}: {Participants} updates, {Rejected} rejected, test accuracy {Accuracy:F4}, loss {Loss:F4}, max epsilon {Epsilon}, {Seconds:F1}s")]
    public static partial void RoundCompleted(ILogger logger, string jobId, int round, int rounds, int participants, int rejected,
        double accuracy, double loss, string epsilon, double seconds);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Job {JobId} round {Round}: update from {GatewayId} rejected: {Reason}")]
    public static partial void UpdateRejected(ILogger logger, string jobId, int round, string gatewayId, string reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Job {JobId} finished as {State} after {Rounds} rounds")]
    public static partial void Finished(ILogger logger, string jobId, string state, int rounds);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Error, Message = "Job {JobId} failed: {Error}")]
    public static partial void Failed(ILogger logger, string jobId, string error);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "Job {JobId}: this activation's state is stale ({Reason}); deactivating")]
    public static partial void StaleActivation(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Job {JobId} resumes after round {Round}")]
    public static partial void Resumed(ILogger logger, string jobId, int round);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "Job {JobId} round {Round}: cluster call failed ({Reason}); retrying on the next tick")]
    public static partial void TransientFailure(ILogger logger, string jobId, int round, string reason);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Error, Message = "Job {JobId} stopped, nothing written: {Reason}")]
    public static partial void Held(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Warning, Message = "Job {JobId}: gateway {GatewayId} could not join yet: {Reason}")]
    public static partial void JoinFailed(ILogger logger, string jobId, string gatewayId, string reason);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "Job {JobId}: gateway {GatewayId} gave no personal accuracy: {Reason}")]
    public static partial void PersonalEvaluationFailed(ILogger logger, string jobId, string gatewayId, string reason);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Warning, Message = "Job {JobId}: its resume reminder could not be registered yet ({Reason}); the job runs, and the next tick tries again")]
    public static partial void ReminderDeferred(ILogger logger, string jobId, string reason);
}

namespace FedGrains.Learning.SecureAggregation;

/// <summary>A SecAgg+ round ended safely without a sum: too many gateways dropped, and nothing was unmasked.</summary>
public sealed class SecAggAbortedException(string message) : InvalidOperationException(message);

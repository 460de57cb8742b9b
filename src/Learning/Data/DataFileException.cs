namespace FedGrains.Learning.Data;

/// <summary>
/// A data file that cannot be used: missing, not readable, or malformed. The message names the file as the caller
/// chose to show it (a path, or a site's dataset name), where in it the problem is (line and column, or byte offset)
/// and how to fix it. It never holds the file's contents: a line of a site's file can be a patient's record.
/// </summary>
public sealed class DataFileException(string message) : IOException(message);

using System.Globalization;

namespace FedGrains.Learning.Data;

/// <summary>
/// A site's own data as CSV: one example per line, numeric features then the integer label in the last column.
/// A first line that is not numeric is taken as a header. Read only by the gateway that owns the file. A file that
/// cannot be used is refused with a <see cref="DataFileException"/> naming the line and column, never a cell's value.
/// </summary>
public static class CsvSource
{
    /// <summary>The longest line read (4 Mi characters: about half a million features); a longer one is refused before it fills memory.</summary>
    public const int MaxLineChars = 1 << 22;

    /// <summary>Reads <paramref name="path"/>; <paramref name="shownAs"/> is how messages name the file (default: the path).</summary>
    public static LabeledData Read(string path, int classes, string? shownAs = null)
    {
        var shown = shownAs ?? path;
        using var file = DataFile.OpenRead(path, shown);
        var features = new List<float>();
        var labels = new List<int>();
        int width = -1, firstRow = 0;
        bool header = false;
        foreach (var (lineNo, raw) in TextLines.Read(file, shown, MaxLineChars))
        {
            var line = raw.Trim();
            if (line.Length == 0) continue;
            var cells = line.Split(',');
            if (lineNo == 1 && !double.TryParse(cells[0], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            {
                header = true;
                continue;
            }
            string at = $"{shown}:{lineNo}";
            if (cells.Length < 2) throw new DataFileException($"{at}: the row has one column; a row needs at least one feature and then the label, separated by commas.");
            if (width < 0) (width, firstRow) = (cells.Length, lineNo);
            else if (cells.Length != width)
                throw new DataFileException($"{at}: the row has {cells.Length} columns, but line {firstRow} has {width}; every row needs the same features and then the label (a missing value, or a comma inside one?).");
            for (int j = 0; j < cells.Length - 1; j++)
            {
                if (!float.TryParse(cells[j], NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                    throw new DataFileException($"{at}: column {j + 1} is {(cells[j].Trim().Length == 0 ? "empty" : "not a number")}; every feature must be a decimal number such as 0.25 or -1.5e-3.");
                if (!float.IsFinite(v))
                    throw new DataFileException($"{at}: column {j + 1} is not a finite number (NaN, infinity, or beyond +-3.4e38); replace missing or infinite values before training on the file.");
                features.Add(v);
            }
            if (LabelProblem(cells[^1], classes, out var label) is { } problem)
                throw new DataFileException($"{at}: column {cells.Length} (the label) {problem}; a label is a class index, a whole number from 0 to {classes - 1}.");
            labels.Add(label);
        }
        if (labels.Count == 0)
            throw new DataFileException(header
                ? $"{shown} has a header line but no examples; add one row per example (features, then the label)."
                : $"{shown} is empty: it holds no examples; add one row per example (features, then the label), e.g. 0.5,1.2,3.");
        return new LabeledData(features.ToArray(), labels.ToArray(), [width - 1], classes);
    }

    /// <summary>What is wrong with a label cell, said without its value; null when it is a class index.</summary>
    private static string? LabelProblem(string cell, int classes, out int label)
    {
        bool integer = int.TryParse(cell, NumberStyles.Integer, CultureInfo.InvariantCulture, out label);
        if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) return "is not a number";
        if (!double.IsFinite(value) || value != Math.Floor(value)) return "is not a whole number";
        if (value < 0) return "is negative";
        if (value >= classes) return $"is {classes} or more, beyond the job's {classes} classes";
        return integer ? null : "is not written as a whole number (write 3, not 3.0)";
    }
}

using System.Globalization;

namespace FedGrains.Learning.Data;

/// <summary>
/// A site's own data as CSV: one example per line, numeric features then the integer label in the last column.
/// A first line that is not numeric is taken as a header. Read only by the gateway that owns the file.
/// </summary>
public static class CsvSource
{
    public static LabeledData Read(string path, int classes)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"site data file {path} does not exist; check the gateway's source path in the job spec.", path);
        var features = new List<float>();
        var labels = new List<int>();
        int width = -1, lineNo = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0) continue;
            var cells = line.Split(',');
            if (lineNo == 1 && !double.TryParse(cells[0], NumberStyles.Float, CultureInfo.InvariantCulture, out _)) continue;
            if (cells.Length < 2) throw new InvalidDataException($"{path}:{lineNo}: a row needs at least one feature and a label.");
            if (width < 0) width = cells.Length;
            else if (cells.Length != width) throw new InvalidDataException($"{path}:{lineNo}: {cells.Length} columns, but earlier rows have {width}.");
            for (int j = 0; j < cells.Length - 1; j++)
            {
                if (!float.TryParse(cells[j], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !float.IsFinite(v))
                    throw new InvalidDataException($"{path}:{lineNo}: column {j + 1} ('{cells[j]}') is not a finite number.");
                features.Add(v);
            }
            if (!int.TryParse(cells[^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var label) || label < 0 || label >= classes)
                throw new InvalidDataException($"{path}:{lineNo}: label '{cells[^1]}' must be an integer in [0, {classes}).");
            labels.Add(label);
        }
        if (labels.Count == 0) throw new InvalidDataException($"{path} holds no examples.");
        return new LabeledData(features.ToArray(), labels.ToArray(), [width - 1], classes);
    }
}

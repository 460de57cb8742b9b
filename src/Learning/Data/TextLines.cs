using System.Text;

namespace FedGrains.Learning.Data;

/// <summary>
/// Reads a text data file line by line with a cap on a line's length, so one endless line (a binary file, a file
/// without newlines) is refused instead of read into memory whole, and refuses binary content by its line.
/// </summary>
internal static class TextLines
{
    // Bytes that are not UTF-8 decode to U+FFFF, a noncharacter that text does not hold (a NUL replacement would be
    // dropped), so they are found on their own line like a NUL byte.
    private const char NotText = '\uFFFF';
    private static readonly Encoding Utf8 = Encoding.GetEncoding("utf-8", EncoderFallback.ReplacementFallback, new DecoderReplacementFallback(NotText.ToString()));

    /// <summary>The lines of <paramref name="stream"/> (numbered from 1, without the line break and a leading UTF-8 byte order mark).</summary>
    public static IEnumerable<(int Number, string Text)> Read(Stream stream, string shown, int maxChars)
    {
        using var reader = new StreamReader(stream, Utf8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
        var buffer = new char[1 << 16];
        var line = new StringBuilder();
        int number = 1, read;
        while ((read = Read(reader, buffer, number, shown)) > 0)
        {
            int start = 0, end;
            while ((end = buffer.AsSpan(start, read - start).IndexOf('\n')) >= 0)
            {
                var text = line.Length == 0 ? new string(buffer, start, end) : line.Append(buffer, start, end).ToString();
                yield return (number, Finish(text, number, shown, maxChars));
                line.Clear();
                number++;
                start += end + 1;
            }
            line.Append(buffer, start, read - start);
            if (line.Length > maxChars) throw TooLong(number, shown, maxChars);
        }
        if (line.Length > 0) yield return (number, Finish(line.ToString(), number, shown, maxChars));
    }

    private static int Read(StreamReader reader, char[] buffer, int number, string shown)
    {
        try { return reader.Read(buffer, 0, buffer.Length); }
        catch (IOException e) when (e is not DataFileException)
        {
            throw new DataFileException($"{shown}:{number}: the file cannot be read on from here (an I/O error from the disk or file system): check the file and the disk.");
        }
    }

    private static string Finish(string text, int number, string shown, int maxChars)
    {
        if (text.Length > maxChars) throw TooLong(number, shown, maxChars);
        if (number == 1 && text.StartsWith('\uFEFF')) text = text[1..];
        if (text.EndsWith('\r')) text = text[..^1];
        if (text.AsSpan().IndexOfAny('\0', NotText) is >= 0 and var at)
            throw new DataFileException($"{shown}:{number}: character {at + 1} is binary data (a NUL byte or bytes that are not UTF-8 text): this is not a CSV text file; export the data as UTF-8 CSV.");
        return text;
    }

    private static DataFileException TooLong(int number, string shown, int maxChars) =>
        new($"{shown}:{number}: the line is longer than {maxChars:N0} characters, the most one example's row may have: this is not a CSV file of examples (or it has no line breaks); put one example per line.");
}

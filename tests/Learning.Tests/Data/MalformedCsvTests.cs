using System.Text;
using FedGrains.Learning.Data;

namespace FedGrains.Learning.Tests.Data;

/// <summary>
/// Every kind of broken site CSV is refused with a <see cref="DataFileException"/> that names the file, the line and
/// column and the problem, and never shows a cell: each file plants <see cref="Secret"/> next to the fault.
/// </summary>
public sealed class MalformedCsvTests : IDisposable
{
    private const string Secret = "31337.4242";
    private readonly string dir = Directory.CreateTempSubdirectory("fedgrains-csv-").FullName;

    public void Dispose() => Directory.Delete(dir, true);

    [Theory]
    [InlineData("ragged", "1,2,0\n" + Secret + ",1\n", ":2:", "2 columns, but line 1 has 3")]
    [InlineData("nan", Secret + ",nan,0\n", ":1:", "column 2 is not a finite number")]
    [InlineData("infinity", "1,2,0\n" + Secret + ",-Infinity,1\n", ":2:", "column 2 is not a finite number")]
    [InlineData("overflow to infinity", Secret + ",1e39,0\n", ":1:", "column 2 is not a finite number")]
    [InlineData("text in a feature", "f,g,label\n" + Secret + ",x" + Secret + ",1\n", ":2:", "column 2 is not a number")]
    [InlineData("empty cell", Secret + ",,1\n", ":1:", "column 2 is empty")]
    [InlineData("label too large", Secret + ",1,2\n", ":1:", "column 3 (the label) is 2 or more")]
    [InlineData("negative label", Secret + ",1,-1\n", ":1:", "column 3 (the label) is negative")]
    [InlineData("fractional label", Secret + ",1,0.5\n", ":1:", "column 3 (the label) is not a whole number")]
    [InlineData("label written as a float", Secret + ",1,1.0\n", ":1:", "not written as a whole number")]
    [InlineData("label not a number", Secret + ",1,sick\n", ":1:", "column 3 (the label) is not a number")]
    [InlineData("one column", "1,2,0\n" + Secret + "\n", ":2:", "one column")]
    [InlineData("header only", "age,weight,label\n", "", "has a header line but no examples")]
    [InlineData("empty", "", "", "is empty")]
    [InlineData("blank lines only", "\n  \n\r\n", "", "is empty")]
    [InlineData("NUL byte", "1,2,0\n" + Secret + ",\0,1\n", ":2:", "binary data")]
    public void A_malformed_csv_is_refused_naming_the_place_and_not_the_value(string name, string text, string where, string problem)
    {
        var path = Path.Combine(dir, "site.csv");
        File.WriteAllText(path, text);

        var message = Assert.Throws<DataFileException>(() => CsvSource.Read(path, classes: 2)).Message;

        Assert.Contains(path + where, message);
        Assert.Contains(problem, message);
        Assert.DoesNotContain(Secret, message);
        Assert.DoesNotContain("sick", message);
        _ = name;
    }

    [Fact]
    public void Bytes_that_are_not_utf8_are_refused_on_their_line()
    {
        var path = Path.Combine(dir, "binary.csv");
        File.WriteAllBytes(path, [.. Encoding.UTF8.GetBytes("1,2,0\n" + Secret + ",1,"), 0xff, 0xfe, (byte)'1', (byte)'\n']);

        var message = Assert.Throws<DataFileException>(() => CsvSource.Read(path, classes: 2)).Message;

        Assert.Contains(path + ":2: character 14 is binary data", message);
        Assert.DoesNotContain(Secret, message);
    }

    [Fact]
    public void A_line_longer_than_the_cap_is_refused_without_reading_it_whole()
    {
        var path = Path.Combine(dir, "one-line.csv");
        File.WriteAllText(path, Secret + "," + new string('1', CsvSource.MaxLineChars) + ",0\n");
        long before = GC.GetAllocatedBytesForCurrentThread();

        var message = Assert.Throws<DataFileException>(() => CsvSource.Read(path, classes: 2)).Message;

        Assert.Contains(path + ":1: the line is longer than", message);
        Assert.DoesNotContain(Secret, message);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 64L << 20, $"{allocated} bytes allocated for a {CsvSource.MaxLineChars}-character line");
    }

    [Fact]
    public void A_missing_file_a_missing_folder_and_a_folder_are_each_named()
    {
        Assert.Contains("nope.csv does not exist", Assert.Throws<DataFileException>(() => CsvSource.Read(Path.Combine(dir, "nope.csv"), 2)).Message);
        Assert.Contains("nor does the folder", Assert.Throws<DataFileException>(() => CsvSource.Read(Path.Combine(dir, "gone", "site.csv"), 2)).Message);
        Assert.Contains("is a folder, not a file", Assert.Throws<DataFileException>(() => CsvSource.Read(dir, 2)).Message);
    }

    [Fact]
    public void A_file_that_opens_but_cannot_be_read_is_refused_as_an_io_error()
    {
        // Reading this process's memory at offset 0 (an unmapped address) fails with EIO, as a failing disk would.
        const string unreadable = "/proc/self/mem";

        Assert.Contains("/proc/self/mem:1: the file cannot be read", Assert.Throws<DataFileException>(() => CsvSource.Read(unreadable, 2)).Message);
        Assert.Contains("/proc/self/mem cannot be read (an I/O error", Assert.Throws<DataFileException>(() => IdxReader.ReadImages(unreadable)).Message);
    }

    [Fact]
    public void Messages_name_the_file_as_the_caller_shows_it()
    {
        var path = Path.Combine(dir, "ward.csv");
        File.WriteAllText(path, "1,2,9\n");

        var message = Assert.Throws<DataFileException>(() => CsvSource.Read(path, 2, shownAs: "site dataset 'ward'")).Message;

        Assert.StartsWith("site dataset 'ward':1: column 3 (the label)", message);
        Assert.DoesNotContain(dir, message);
    }

    [Fact]
    public void A_valid_file_with_a_byte_order_mark_crlf_blank_lines_and_no_final_newline_reads_as_before()
    {
        var path = Path.Combine(dir, "windows.csv");
        File.WriteAllText(path, "\uFEFFf1,f2,label\r\n0.5, 1.5,1\r\n\r\n-2,3e-1,0", new UTF8Encoding(true));

        var data = CsvSource.Read(path, classes: 2);

        Assert.Equal([0.5f, 1.5f, -2f, 0.3f], data.Features);
        Assert.Equal([1, 0], data.Labels);
    }
}

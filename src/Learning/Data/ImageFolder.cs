using System.Globalization;

namespace FedGrains.Learning.Data;

/// <summary>
/// A site's own data as a folder of labelled images in the ImageFolder layout (torchvision's ImageFolder, Keras'
/// image_dataset_from_directory): <c>&lt;folder&gt;/&lt;class&gt;/&lt;image files&gt;</c>, each class folder named by
/// its class index, 0 to classes - 1. Names starting with '.' are skipped; anything else that is not an image in a
/// class folder is refused, so no data is silently left out. Examples are ordered by class, then by file name
/// (ordinal), so the same folder always gives the same dataset. A problem is refused with a
/// <see cref="DataFileException"/> that names the class folder and the file's position in name order, never a file's
/// name (it can be a patient's id) nor its contents.
/// </summary>
public static class ImageFolder
{
    /// <summary>
    /// Reads the folder at <paramref name="path"/> as one-channel images of <paramref name="rows"/> x
    /// <paramref name="cols"/> pixels scaled to [0, 1], shaped [1, rows, cols]. <paramref name="shownAs"/> is how
    /// messages name the folder (default: the path); <paramref name="availableBytes"/> is the memory the pixels may take
    /// (default: what the process may use), checked after counting the files and before decoding any.
    /// </summary>
    public static LabeledData Read(string path, int classes, int rows, int cols, string? shownAs = null, long? availableBytes = null)
    {
        var shown = shownAs ?? path;
        var listing = ClassFolders(path, classes, shown);
        long count = listing.Sum(c => (long)c.Files.Length);
        if (count == 0)
            throw new DataFileException($"{shown}: its class folders hold no images; put each class's images (PNG or JPEG) in the folder named by its index, 0 to {classes - 1}.");
        int pixels = rows * cols;
        CheckMemory(count, pixels, rows, cols, availableBytes ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, shown);
        var features = new float[count * pixels];
        var labels = new int[count];
        int k = 0;
        foreach (var (label, files) in listing)
            for (int i = 0; i < files.Length; i++, k++)
            {
                ImageFile.ReadGray(files[i], $"{shown}: file {i + 1} (in name order) of class folder '{label}'", rows, cols, features.AsSpan(k * pixels, pixels));
                labels[k] = label;
            }
        return new LabeledData(features, labels, [1, rows, cols], classes);
    }

    // The pixels as floats and the labels: the large buffers only, so a folder refused here could never have loaded.
    private static void CheckMemory(long count, int pixels, int rows, int cols, long available, string shown)
    {
        double bytes = count * ((double)pixels * sizeof(float) + sizeof(int));
        if (bytes <= available && count * pixels <= Array.MaxLength) return;
        throw new DataFileException(string.Create(CultureInfo.InvariantCulture,
            $"{shown} holds {count:N0} images of {cols}x{rows} pixels, which need at least {Size(bytes)} of memory{(count * pixels > Array.MaxLength ? $", more than one array can hold ({Array.MaxLength:N0} values)" : "")}, and this process may use {Size(available)}: split the images among several datasets, or give the silo more memory."));
    }

    private static string Size(double bytes)
    {
        var (unit, scale) = bytes >= 1 << 30 ? ("GiB", 1 << 30) : bytes >= 1 << 20 ? ("MiB", 1 << 20) : ("KiB", 1 << 10);
        return (bytes / scale).ToString("0.##", CultureInfo.InvariantCulture) + " " + unit;
    }

    /// <summary>Each class folder that is there, in class order, with its image files in ordinal name order.</summary>
    private static List<(int Label, string[] Files)> ClassFolders(string path, int classes, string shown)
    {
        if (File.Exists(path))
            throw new DataFileException($"{shown} is a file, not a folder: give the folder that holds one sub-folder per class (0 to {classes - 1}).");
        if (!Directory.Exists(path))
            throw new DataFileException($"{shown} does not exist: check the path (a relative path in a spec file is relative to the spec file's folder).");
        var found = new List<(int Label, string[] Files)>();
        foreach (var entry in Entries(path, shown))
        {
            var name = Path.GetFileName(entry);
            if (!Directory.Exists(entry))
                throw new DataFileException($"{shown} holds a file at its top level, outside the class folders: move each image into the folder of its class (0 to {classes - 1}), or remove the file (a name starting with '.' is skipped).");
            if (!int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out int label) || label >= classes || label.ToString(CultureInfo.InvariantCulture) != name)
                throw new DataFileException(BadClassName(shown, name, classes));
            found.Add((label, ImageFiles(entry, $"{shown}: class folder '{name}'")));
        }
        if (found.Count == 0)
            throw new DataFileException($"{shown} holds no class folders: put each class's images in a sub-folder named by its index, 0 to {classes - 1}.");
        found.Sort((a, b) => a.Label.CompareTo(b.Label));
        return found;
    }

    // A name of digits (an out-of-range or zero-padded index) is shown; any other folder name is not, since a site may
    // have named folders after people.
    private static string BadClassName(string shown, string name, int classes) =>
        (name.All(char.IsAsciiDigit)
            ? $"{shown} holds a class folder '{name}', which is not one of the job's class indexes"
            : $"{shown} holds a folder whose name is not a class index")
        + $": the job's dataset has {classes} classes, so class folders are named 0 to {classes - 1} (no leading zeros); rename or remove it (a name starting with '.' is skipped).";

    private static string[] ImageFiles(string classFolder, string shown)
    {
        var files = Entries(classFolder, shown);
        if (files.Any(Directory.Exists))
            throw new DataFileException($"{shown} holds a sub-folder: images go directly in their class folder (nested folders are not read); move them up, or remove the sub-folder (a name starting with '.' is skipped).");
        return files;
    }

    /// <summary>The entries of <paramref name="folder"/> not starting with '.', in ordinal name order.</summary>
    private static string[] Entries(string folder, string shown)
    {
        try
        {
            var entries = Directory.GetFileSystemEntries(folder).Where(e => !Path.GetFileName(e).StartsWith('.')).ToArray();
            Array.Sort(entries, StringComparer.Ordinal);
            return entries;
        }
        catch (UnauthorizedAccessException) { throw new DataFileException($"{shown} cannot be listed (permission denied): let the user that runs FedGrains read it."); }
        catch (IOException e) when (e is not DataFileException) { throw new DataFileException($"{shown} cannot be listed (an I/O error from the disk or file system): check the folder and the disk."); }
    }
}

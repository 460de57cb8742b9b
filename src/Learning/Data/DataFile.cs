namespace FedGrains.Learning.Data;

/// <summary>Opens data files, refusing a missing file, a folder or an unreadable file with a <see cref="DataFileException"/> that says which.</summary>
internal static class DataFile
{
    /// <summary>The file at <paramref name="path"/> for reading; <paramref name="shown"/> is how messages name it.</summary>
    public static FileStream OpenRead(string path, string shown)
    {
        try
        {
            if (Directory.Exists(path)) throw new DataFileException($"{shown} is a folder, not a file: give the path of the data file itself.");
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (FileNotFoundException) { throw new DataFileException($"{shown} does not exist: check the path (a relative path in a spec file is relative to the spec file's folder)."); }
        catch (DirectoryNotFoundException) { throw new DataFileException($"{shown} does not exist, nor does the folder it names: check the path."); }
        catch (UnauthorizedAccessException) { throw new DataFileException($"{shown} cannot be read (permission denied): let the user that runs FedGrains read it."); }
        catch (ArgumentException) { throw new DataFileException($"{shown} is not a valid file path (it holds a character no path may hold)."); }
        catch (IOException e) when (e is not DataFileException) { throw new DataFileException($"{shown} cannot be read (an I/O error from the disk or file system): check the file and the disk."); }
    }
}

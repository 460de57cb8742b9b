using System.CommandLine;
using System.Text.RegularExpressions;

namespace FedGrains.Cli.Commands;

/// <summary>
/// Flags the parser refuses (unknown, not a number, not one of the listed values, missing): each reported in the
/// user's terms, without .NET type names, and exit code 2 like every other bad request.
/// </summary>
internal static partial class ParseErrors
{
    public const int ExitCode = 2;

    public static int Report(ParseResult parsed)
    {
        foreach (var error in parsed.Errors) Console.Error.WriteLine("error: " + Plain(error.Message));
        Console.Error.WriteLine($"Run `fedgrains {string.Join(' ', CommandPath(parsed))} --help` for the flags and their values.");
        return ExitCode;
    }

    /// <summary>A bad request found after parsing: the message on standard error, exit code 2.</summary>
    public static int Refuse(string message)
    {
        Console.Error.WriteLine("error: " + message);
        return ExitCode;
    }

    /// <summary>"as expected type 'System.Nullable`1[System.Int32]'" becomes "as a whole number", and so on.</summary>
    public static string Plain(string message) => ExpectedType().Replace(message, m => "as " + Describe(m.Groups[1].Value));

    private static string Describe(string type) => type switch
    {
        _ when type.Contains("Int32") || type.Contains("Int64") => "a whole number",
        _ when type.Contains("Double") || type.Contains("Single") => "a number (e.g. 0.5 or 1e-5)",
        _ when type.Contains("Boolean") => "true or false",
        _ when type.Contains("DirectoryInfo") || type.Contains("FileInfo") => "a path",
        _ => "a value of the listed kind",
    };

    private static IEnumerable<string> CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var result = parsed.CommandResult; result is not null && result.Command is not RootCommand; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, result.Command.Name);
        return names;
    }

    [GeneratedRegex(@"as expected type '([^']*)'")]
    private static partial Regex ExpectedType();
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FedGrains.Grains.Interfaces;
using Orleans.Serialization.Invocation;

namespace FedGrains.Grains.Security;

/// <summary>
/// A digest of a call's arguments, so a client token covers what was asked, not only which method: a token captured
/// off the wire cannot be reused with other arguments. Computed the same way by the client that signs and the silo
/// that checks, from the arguments' meaning (a grain reference by its id, a job submission by its JSON), not from
/// their in-memory types.
/// </summary>
public static class ArgumentDigest
{
    public static string Of(IInvokable request) => Of(Enumerable.Range(0, request.GetArgumentCount()).Select(request.GetArgument));

    public static string Of(IEnumerable<object?> arguments)
    {
        var text = new StringBuilder();
        foreach (var argument in arguments)
        {
            var canonical = Canonical(argument);
            if (canonical is null) continue;
            text.Append(canonical.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(canonical).Append(';');
        }
        return Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    // Null for arguments that say nothing about what is asked (a cancellation token is local to each side).
    private static string? Canonical(object? argument) => argument switch
    {
        null => "null",
        CancellationToken => null,
        string s => "s" + s,
        JobSubmission submission => "j" + submission.SpecJson,
        IAddressable reference => "g" + reference.GetGrainId(),
        IFormattable number => "n" + number.ToString(null, CultureInfo.InvariantCulture),
        byte[] bytes => "b" + Convert.ToBase64String(SHA256.HashData(bytes)),
        _ => "o" + System.Text.Json.JsonSerializer.Serialize(argument, argument.GetType()),
    };
}

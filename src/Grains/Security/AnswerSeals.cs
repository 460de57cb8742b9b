using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using FedGrains.Grains.Interfaces;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Security;

/// <summary>
/// Seals the answers a site's privacy depends on. Orleans matches a response to a pending call by its id alone, so a
/// client that writes the wire protocol itself could answer a call in flight, e.g. tell a gateway that its site's
/// ledger recorded a spend it refused. The caller sends a fresh random challenge; the answering silo returns an HMAC
/// with the cluster key over the answer's purpose, the challenge and the answer (its JSON); the caller opens it or
/// refuses the answer. A client holds no cluster key, and a sealed answer to another call carries another challenge.
/// </summary>
public sealed class AnswerSeals(IOptions<AuthOptions> options)
{
    private readonly byte[] key = options.Value.SigningKey();

    // Doubles as written by the runtime (shortest round trip), infinities included (a charge may claim no epsilon).
    private static readonly JsonSerializerOptions Canonical = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>A fresh challenge for one call.</summary>
    public static string NewChallenge() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));

    public Sealed<T> Seal<T>(string purpose, string challenge, T value) => new(value, Mac(purpose, challenge, value));

    /// <summary>The answer's value, or <see cref="InvalidOperationException"/> naming <paramref name="purpose"/> when it is not sealed for this call.</summary>
    public T Open<T>(string purpose, string challenge, Sealed<T>? answer)
    {
        if (answer is null || !Valid(answer.Seal, Mac(purpose, challenge, answer.Value)))
            throw new InvalidOperationException($"the answer to {purpose} is not sealed by a silo of this cluster for this call (forged, or replayed from another call); it is refused and nothing was trained on it");
        return answer.Value;
    }

    private static bool Valid(string? seal, string expected) =>
        seal is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(seal), Encoding.ASCII.GetBytes(expected));

    private string Mac<T>(string purpose, string challenge, T value) =>
        Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"fedgrains.answer|{purpose}|{challenge}|{JsonSerializer.Serialize(value, Canonical)}")));
}

/// <summary>What each sealed answer is about, the same on both sides of the call (and in the refusal a forged one gets).</summary>
public static class SealedPurpose
{
    public static string Spend(string site, SiteSpend spend) =>
        $"site '{site}' ledger's decision on job '{spend.JobId}' round {spend.Round} ({spend.GatewayId})";

    public static string Spends(string site, string jobId, string gatewayId) => $"site '{site}' ledger's record of job '{jobId}' ({gatewayId})";

    public static string Approval(string site, ApprovalRequest request) => $"site '{site}' approvals' record of job '{request.JobId}' ({request.GatewayId})";

    /// <summary>A gateway's answer at one stage of a secure round (keys, shares, masked delta, unmask shares).</summary>
    public static string SecureStage(string jobId, string gatewayId, string stage) => $"gateway '{gatewayId}' of job '{jobId}' at the secure round's stage '{stage}'";

    public static string Listed(string site) => $"the site directory's listing of site '{site}'";

    public static string OwnSilo(string site) => $"the site directory's record of whether site '{site}' has a silo of its own";
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FedGrains.Grains.Security;

/// <summary>
/// HMAC-SHA256 signatures: client request tokens bound to one method on one grain at one time, and gateway update
/// signatures bound to the job, site, round, model version and the delta's bytes.
/// </summary>
public static class Signatures
{
    /// <summary>The RequestContext key a client's token travels in.</summary>
    public const string RequestContextKey = "fedgrains.auth";

    /// <summary>"v1:keyId:unixSeconds:base64(HMAC(secret, keyId|unixSeconds|method|grain))".</summary>
    public static string ClientToken(string keyId, byte[] secret, string method, string grain, DateTimeOffset now)
    {
        var seconds = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return $"v1:{keyId}:{seconds}:{Mac(secret, $"{keyId}|{seconds}|{method}|{grain}")}";
    }

    /// <summary>Null when the token is valid for this call; otherwise why it is refused.</summary>
    public static string? VerifyClientToken(string? token, IReadOnlyDictionary<string, byte[]> keys, string method, string grain, DateTimeOffset now, int maxSkewSeconds)
    {
        if (string.IsNullOrEmpty(token)) return "no credential: pass --credential KEY_ID:BASE64_SECRET or set FEDGRAINS_CREDENTIAL";
        var parts = token.Split(':');
        if (parts.Length != 4 || parts[0] != "v1" || !long.TryParse(parts[2], out var seconds)) return "malformed credential token";
        if (!keys.TryGetValue(parts[1], out var secret)) return $"unknown client key '{parts[1]}'";
        if (Math.Abs(now.ToUnixTimeSeconds() - seconds) > maxSkewSeconds) return "credential token expired or clock skew too large";
        var expected = Mac(secret, $"{parts[1]}|{parts[2]}|{method}|{grain}");
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(parts[3]))
            ? null : "invalid credential signature";
    }

    /// <summary>The signature of a gateway's update.</summary>
    public static string UpdateSignature(byte[] siteKey, string jobId, string gatewayId, int round, long modelVersion, byte[] delta) =>
        Mac(siteKey, $"{jobId}|{gatewayId}|{round}|{modelVersion}|{Convert.ToBase64String(SHA256.HashData(delta))}");

    public static bool VerifyUpdate(string? signature, byte[] siteKey, string jobId, string gatewayId, int round, long modelVersion, byte[] delta) =>
        signature is not null && CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(UpdateSignature(siteKey, jobId, gatewayId, round, modelVersion, delta)), Encoding.ASCII.GetBytes(signature));

    public static bool TryDecodeKey(string text, out byte[] key)
    {
        key = [];
        try { key = Convert.FromBase64String(text); }
        catch (FormatException) { return false; }
        return key.Length >= 16;
    }

    /// <summary>Parses "KEY_ID:BASE64_SECRET".</summary>
    public static (string KeyId, byte[] Secret) ParseCredential(string credential)
    {
        var colon = credential.IndexOf(':');
        if (colon <= 0 || !TryDecodeKey(credential[(colon + 1)..], out var secret))
            throw new ArgumentException("--credential must be KEY_ID:BASE64_SECRET with a secret of at least 16 bytes (e.g. operator:$(openssl rand -base64 32)).");
        return (credential[..colon], secret);
    }

    private static string Mac(byte[] key, string message) => Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(message)));
}

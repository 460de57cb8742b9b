using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FedGrains.Learning.Jobs;

namespace FedGrains.Grains.Security;

/// <summary>
/// HMAC-SHA256 signatures: client request tokens bound to one call (method, grain, arguments) at one time, and
/// gateway update signatures bound to the job, site, round, model version and the delta's bytes.
/// </summary>
public static class Signatures
{
    /// <summary>The RequestContext key a client's token travels in.</summary>
    public const string RequestContextKey = "fedgrains.auth";

    /// <summary>
    /// "v2:keyId:unixSeconds:nonce:base64(HMAC(secret, keyId|unixSeconds|nonce|interface|method|grain|arguments))":
    /// bound to one call (its arguments' <see cref="ArgumentDigest"/>), at one time, usable once (the nonce).
    /// </summary>
    public static string ClientToken(string keyId, byte[] secret, ClientCall call, DateTimeOffset now, string? nonce = null)
    {
        var seconds = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        nonce ??= Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        return $"v2:{keyId}:{seconds}:{nonce}:{Mac(secret, Signed(keyId, seconds, nonce, call))}";
    }

    /// <summary>The key id, nonce and the reason it is refused (null when valid) of a client token for <paramref name="call"/>.</summary>
    public static (string? KeyId, string? Nonce, string? Refusal) VerifyClientToken(string? token, IReadOnlyDictionary<string, byte[]> keys, ClientCall call,
        DateTimeOffset now, int maxSkewSeconds)
    {
        if (string.IsNullOrEmpty(token)) return (null, null, "no credential: pass --credential KEY_ID:BASE64_SECRET or set FEDGRAINS_CREDENTIAL");
        var parts = token.Split(':');
        if (parts is ["v1", ..]) return (null, null, "the credential token is of the first format, which did not cover the call's arguments: update the CLI");
        if (parts.Length != 5 || parts[0] != "v2" || !long.TryParse(parts[2], CultureInfo.InvariantCulture, out var seconds) || parts[3].Length is < 16 or > 64)
            return (null, null, "malformed credential token");
        if (!keys.TryGetValue(parts[1], out var secret)) return (null, null, $"unknown client key '{JobSpecValidator.Shown(parts[1])}'");
        if (Math.Abs(now.ToUnixTimeSeconds() - seconds) > maxSkewSeconds) return (parts[1], parts[3], "credential token expired or clock skew too large");
        var expected = Mac(secret, Signed(parts[1], parts[2], parts[3], call));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(parts[4]))
            ? (parts[1], parts[3], null)
            : (parts[1], parts[3], "invalid credential signature (the token was made for another call, other arguments or with another key)");
    }

    private static string Signed(string keyId, string seconds, string nonce, ClientCall call) =>
        $"{keyId}|{seconds}|{nonce}|{call.Interface}|{call.Method}|{call.Grain}|{call.Arguments}";

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
    public static ClientCredential ParseCredential(string credential)
    {
        var colon = credential.IndexOf(':');
        if (colon <= 0 || !TryDecodeKey(credential[(colon + 1)..], out var secret))
            throw new ArgumentException("--credential must be KEY_ID:BASE64_SECRET with a secret of at least 16 bytes (e.g. operator:$(openssl rand -base64 32)).");
        return new ClientCredential(credential[..colon], secret);
    }

    private static string Mac(byte[] key, string message) => Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(message)));
}

/// <summary>What a client token covers: the grain interface, the method, the target grain and the arguments' digest.</summary>
public sealed record ClientCall(string Interface, string Method, string Grain, string Arguments)
{
    public static ClientCall Of(IGrainCallContext context) =>
        new(context.InterfaceType.ToString(), context.InterfaceMethod?.Name ?? context.MethodName, context.TargetId.ToString(), ArgumentDigest.Of(context.Request));
}

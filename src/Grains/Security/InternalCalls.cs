using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Security;

/// <summary>
/// Proof that a call comes from inside the cluster. Orleans' client endpoint forwards a client's message with the
/// sender it claims, so a client that speaks the protocol itself could pose as a grain; every silo signs its
/// outgoing calls with an HMAC over the target grain and method (<see cref="AuthOptions.SigningKey"/>), and the
/// access filter treats a call without a valid one as a client's. Clients never see a proof
/// for a grain other than their own observers (mutual TLS keeps silo traffic off the wire).
/// </summary>
public static class InternalCalls
{
    public const string RequestContextKey = "fedgrains.internal";

    // Long enough for a call queued behind a gateway's training (the longest response timeout is two hours).
    private const long ValidSeconds = 3 * 3600;

    public static string Proof(byte[] clusterKey, string @interface, string method, string grain, DateTimeOffset now)
    {
        var seconds = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return $"{seconds}:{Mac(clusterKey, seconds, @interface, method, grain)}";
    }

    public static bool IsValid(string? proof, byte[] clusterKey, string @interface, string method, string grain, DateTimeOffset now)
    {
        if (proof?.Split(':') is not [var seconds, var mac] || !long.TryParse(seconds, CultureInfo.InvariantCulture, out var at)) return false;
        if (Math.Abs(now.ToUnixTimeSeconds() - at) > ValidSeconds) return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Mac(clusterKey, seconds, @interface, method, grain)), Encoding.ASCII.GetBytes(mac));
    }

    /// <summary>The request-context key of <see cref="SiteProof"/>.</summary>
    public const string SiteProofKey = "fedgrains.site-proof";

    /// <summary>
    /// Proof that a silo named <paramref name="site"/> as the site of a call to <paramref name="grain"/> (see
    /// SiteCalls): placement takes the site only with it, so a client cannot choose which site's silo activates a
    /// gateway by setting the site in its own request context.
    /// </summary>
    public static string SiteProof(byte[] clusterKey, string site, string grain, DateTimeOffset now) =>
        Proof(clusterKey, "site", site, grain, now);

    public static bool IsValidSite(string? proof, byte[] clusterKey, string site, string grain, DateTimeOffset now) =>
        IsValid(proof, clusterKey, "site", site, grain, now);

    private static string Mac(byte[] key, string seconds, string @interface, string method, string grain) =>
        Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{seconds}|{@interface}|{method}|{grain}")));
}

/// <summary>Signs every call a silo makes (from grains or its own start-up work) as internal, when the cluster has a key.</summary>
public sealed class InternalCallSigner(IOptions<AuthOptions> options, TimeProvider time) : IOutgoingGrainCallFilter
{
    private readonly byte[] key = options.Value.SigningKey();

    public Task Invoke(IOutgoingGrainCallContext context)
    {
        var now = time.GetUtcNow();
        RequestContext.Set(InternalCalls.RequestContextKey, InternalCalls.Proof(key, context.InterfaceType.ToString(),
                context.InterfaceMethod?.Name ?? context.MethodName, context.TargetId.ToString(), now));
        if (RequestContext.Get(Placement.SiteCalls.RequestContextKey) is string site)
            RequestContext.Set(InternalCalls.SiteProofKey, InternalCalls.SiteProof(key, site, context.TargetId.ToString(), now));
        return context.Invoke();
    }
}

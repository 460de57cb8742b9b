using FedGrains.Grains.Interfaces;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Security;

/// <summary>Signs a gateway's update with its gateway key, and checks that signature at the federation.</summary>
public sealed class UpdateAuthenticator(IOptions<AuthOptions> options)
{
    private readonly Dictionary<string, byte[]> gatewayKeys = options.Value.GatewayKeys.ToDictionary(k => k.Key, k => Convert.FromBase64String(k.Value));

    /// <summary>The update with its signature, when this silo holds the site's key.</summary>
    public GatewayUpdate Sign(GatewayUpdate update, string jobId, long modelVersion) =>
        update.Delta is { } delta && gatewayKeys.TryGetValue(update.GatewayId, out var key)
            ? update with { Signature = Signatures.UpdateSignature(key, jobId, update.GatewayId, update.Round, modelVersion, delta) }
            : update;

    /// <summary>Null when the update may be used; otherwise why it is refused. Checks only when authentication is on.</summary>
    public string? Check(GatewayUpdate update, string jobId, long modelVersion)
    {
        if (!options.Value.Enabled || update.Delta is null) return null;
        if (!gatewayKeys.TryGetValue(update.GatewayId, out var key))
            return $"no site key for '{update.GatewayId}' in {AuthOptions.Section}:GatewayKeys, so its update cannot be authenticated";
        return Signatures.VerifyUpdate(update.Signature, key, jobId, update.GatewayId, update.Round, modelVersion, update.Delta)
            ? null : "update signature is missing or invalid (the gateway does not hold this site's key)";
    }
}

namespace FedGrains.Grains.Security;

/// <summary>
/// Application-level authentication (configuration section "FedGrains:Auth"). The wire itself is not yet encrypted
/// by FedGrains (Orleans' TLS package, Microsoft.Orleans.Connections.Security, is available but not wired in; use a
/// service mesh's mTLS on Kubernetes); these keys make sure only holders of a client key can drive jobs and only a
/// gateway's key holder can submit that gateway's updates.
/// </summary>
public sealed class AuthOptions
{
    public const string Section = "FedGrains:Auth";

    /// <summary>When false (the embedded default), calls are not authenticated.</summary>
    public bool Enabled { get; set; }

    /// <summary>Client key id -> base64 secret (>= 16 bytes). A CLI holding one may submit, query and cancel jobs.</summary>
    public Dictionary<string, string> ClientKeys { get; set; } = [];

    /// <summary>Gateway id (as in the job spec, not the data site) -> base64 secret: the gateway signs its updates with it, the federation checks them.</summary>
    public Dictionary<string, string> GatewayKeys { get; set; } = [];

    /// <summary>The first format's name of <see cref="GatewayKeys"/>; refused at start with the new name, so old keys are not silently ignored.</summary>
    public Dictionary<string, string> SiteKeys { get; set; } = [];

    /// <summary>How far a request's timestamp may be from the silo's clock, in seconds.</summary>
    public int MaxClockSkewSeconds { get; set; } = 300;

    public IEnumerable<string> Problems()
    {
        if (SiteKeys.Count > 0)
            yield return $"{Section}:SiteKeys was renamed {Section}:GatewayKeys (it is keyed by gateway id); rename the {SiteKeys.Count} key(s) in your configuration.";
        if (!Enabled) yield break;
        if (ClientKeys.Count == 0) yield return $"{Section}:ClientKeys must hold at least one key when {Section}:Enabled=true.";
        foreach (var (id, key) in ClientKeys.Concat(GatewayKeys))
            if (!Signatures.TryDecodeKey(key, out _))
                yield return $"{Section}: key '{id}' must be base64 of at least 16 random bytes (e.g. `openssl rand -base64 32`).";
        if (MaxClockSkewSeconds is < 1 or > 3600) yield return $"{Section}:MaxClockSkewSeconds={MaxClockSkewSeconds} must be in 1..3600.";
    }
}

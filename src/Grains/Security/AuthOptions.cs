namespace FedGrains.Grains.Security;

/// <summary>
/// Application-level authentication and authorization (configuration section "FedGrains:Auth"): each client key has
/// a role that decides what its holder may do (<see cref="ClientSurface"/>), and only a gateway's key holder can
/// submit that gateway's updates.
/// </summary>
public sealed class AuthOptions
{
    public const string Section = "FedGrains:Auth";

    /// <summary>When false (the embedded default), calls are not authenticated.</summary>
    public bool Enabled { get; set; }

    /// <summary>Client key id -> base64 secret (>= 16 bytes), for the CLI's --credential KEY_ID:SECRET.</summary>
    public Dictionary<string, string> ClientKeys { get; set; } = [];

    /// <summary>Client key id -> its role: operator, submitter, viewer or site-admin:SITE. Every client key needs one.</summary>
    public Dictionary<string, string> ClientRoles { get; set; } = [];

    /// <summary>Gateway id (as in the job spec, not the data site) -> base64 secret: the gateway signs its updates with it, the federation checks them.</summary>
    public Dictionary<string, string> GatewayKeys { get; set; } = [];

    /// <summary>The first format's name of <see cref="GatewayKeys"/>; refused at start with the new name, so old keys are not silently ignored.</summary>
    public Dictionary<string, string> SiteKeys { get; set; } = [];

    /// <summary>
    /// Base64 secret (>= 16 bytes) shared by the cluster's silos only: they sign their calls to each other with it, so
    /// a client cannot pose as a grain. Required when authentication is on.
    /// </summary>
    public string? ClusterKey { get; set; }

    public byte[]? ClusterKeyBytes() => ClusterKey is { } text && Signatures.TryDecodeKey(text, out var key) ? key : null;

    // The silos of one process (the embedded default, in-process test clusters) share this when no key is configured,
    // so even then a client cannot pose as a grain; silos in other processes need FedGrains:Auth:ClusterKey.
    private static readonly byte[] ProcessKey = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    /// <summary>The key silos sign their calls with: <see cref="ClusterKey"/>, else one random key per process.</summary>
    public byte[] SigningKey() => ClusterKeyBytes() ?? ProcessKey;

    /// <summary>How far a request's timestamp may be from the silo's clock, in seconds.</summary>
    public int MaxClockSkewSeconds { get; set; } = 300;

    /// <summary>Each client key's identity (only valid once <see cref="Problems"/> is empty).</summary>
    public Dictionary<string, ClientIdentity> Identities() =>
        ClientKeys.Keys.Select(id => ClientIdentity.Parse(id, ClientRoles.GetValueOrDefault(id))).OfType<ClientIdentity>().ToDictionary(c => c.KeyId);

    public IEnumerable<string> Problems()
    {
        if (SiteKeys.Count > 0)
            yield return $"{Section}:SiteKeys was renamed {Section}:GatewayKeys (it is keyed by gateway id); rename the {SiteKeys.Count} key(s) in your configuration.";
        if (ClientKeys.ContainsKey(ClientIdentity.LocalOperator.KeyId))
            yield return $"{Section}:ClientKeys:{ClientIdentity.LocalOperator.KeyId} is reserved for clients of a cluster without authentication; name the key otherwise.";
        if (!Enabled) yield break;
        if (ClusterKey is not null && ClusterKeyBytes() is null)
            yield return $"{Section}:ClusterKey must be base64 of at least 16 random bytes (e.g. `openssl rand -base64 32`).";
        if (ClusterKeyBytes() is null)
            yield return $"{Section}:ClusterKey must be base64 of at least 16 random bytes (e.g. `openssl rand -base64 32`), the same on every silo and given to no client.";
        if (ClientKeys.Count == 0) yield return $"{Section}:ClientKeys must hold at least one key when {Section}:Enabled=true.";
        foreach (var (id, key) in ClientKeys.Concat(GatewayKeys))
            if (!Signatures.TryDecodeKey(key, out _))
                yield return $"{Section}: key '{id}' must be base64 of at least 16 random bytes (e.g. `openssl rand -base64 32`).";
        foreach (var id in ClientKeys.Keys.Where(id => ClientIdentity.Parse(id, ClientRoles.GetValueOrDefault(id)) is null))
            yield return $"{Section}:ClientRoles:{id} must be operator, submitter, viewer or site-admin:SITE (it is '{ClientRoles.GetValueOrDefault(id) ?? "not set"}'): every client key needs a role.";
        foreach (var id in ClientRoles.Keys.Where(id => !ClientKeys.ContainsKey(id)))
            yield return $"{Section}:ClientRoles:{id} names no key in {Section}:ClientKeys.";
        if (MaxClockSkewSeconds is < 1 or > 3600) yield return $"{Section}:MaxClockSkewSeconds={MaxClockSkewSeconds} must be in 1..3600.";
    }
}

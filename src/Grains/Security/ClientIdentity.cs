namespace FedGrains.Grains.Security;

/// <summary>
/// What a client may do. Operators run the cluster; submitters run their own jobs; viewers read every job; a site
/// admin reads its site's ledger and the jobs that train on its data.
/// </summary>
public enum ClientRole { Operator, Submitter, Viewer, SiteAdmin }

/// <summary>An authenticated client: its key id, its role and, for a site admin, its site.</summary>
public sealed record ClientIdentity(string KeyId, ClientRole Role, string? Site = null)
{
    /// <summary>Every client of a cluster without authentication (the embedded single-process default).</summary>
    public static readonly ClientIdentity LocalOperator = new("local", ClientRole.Operator);

    /// <summary>The role as configured: "operator", "submitter", "viewer" or "site-admin:SITE".</summary>
    public string RoleText => Role switch
    {
        ClientRole.Operator => "operator",
        ClientRole.Submitter => "submitter",
        ClientRole.Viewer => "viewer",
        _ => $"site-admin:{Site}",
    };

    /// <summary>Parses a configured role; null when it is none of the four.</summary>
    public static ClientIdentity? Parse(string keyId, string? role) => role?.Trim() switch
    {
        "operator" => new(keyId, ClientRole.Operator),
        "submitter" => new(keyId, ClientRole.Submitter),
        "viewer" => new(keyId, ClientRole.Viewer),
        { } r when r.StartsWith("site-admin:", StringComparison.Ordinal) && r.Length > "site-admin:".Length => new(keyId, ClientRole.SiteAdmin, r["site-admin:".Length..]),
        _ => null,
    };

    public override string ToString() => $"{KeyId} ({RoleText})";
}

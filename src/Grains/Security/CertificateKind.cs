namespace FedGrains.Grains.Security;

/// <summary>The role a FedGrains certificate was issued for (its SAN URI fedgrains:KIND:NAME).</summary>
public enum CertificateKind
{
    /// <summary>A federation/operator silo: fedgrains:silo:NAME.</summary>
    Silo,

    /// <summary>A data site's silo: fedgrains:site:SITE; the site is the silo's data site.</summary>
    Site,

    /// <summary>A client (the CLI, a job submitter): fedgrains:client:ID.</summary>
    Client,

    /// <summary>The Redis server the cluster keeps membership and state in: fedgrains:redis:NAME (PEM files, for redis-server's TLS).</summary>
    Redis,
}

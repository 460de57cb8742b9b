namespace FedGrains.Grains.Hosting;

/// <summary>How a silo finds its cluster and where it keeps state (configuration sections "FedGrains:Cluster" and "FedGrains:Storage").</summary>
public sealed class ClusterSettings
{
    public const string Section = "FedGrains:Cluster";

    /// <summary>
    /// "localhost" (single machine, default), "redis" (membership in Redis) or "kubernetes" (Orleans' Kubernetes
    /// hosting: endpoints and ids from the pod, dead pods deleted; membership in Redis).
    /// </summary>
    public string Provider { get; set; } = "localhost";

    /// <summary>Redis connection string for clustering, e.g. "localhost:6379" or "redis:6379,password=...".</summary>
    public string? Redis { get; set; }

    public int SiloPort { get; set; } = 11111;

    /// <summary>The client endpoint: the port clients (the CLI) connect to (Orleans calls it the gateway port).</summary>
    public int ClientPort { get; set; } = 30000;

    /// <summary>The first release's name of <see cref="ClientPort"/>; refused at start with the new name, so a set port is not silently ignored.</summary>
    public int? GatewayPort { get; set; }
    public string ClusterId { get; set; } = "fedgrains";
    public string ServiceId { get; set; } = "fedgrains";

    /// <summary>The address other silos reach this one at; default: the first non-loopback address (loopback for localhost).</summary>
    public string? AdvertisedIPAddress { get; set; }

    public IEnumerable<string> Problems()
    {
        if (Provider is not ("localhost" or "redis" or "kubernetes")) yield return $"{Section}:Provider='{Provider}' must be localhost, redis or kubernetes.";
        if (Provider is "redis" or "kubernetes" && string.IsNullOrWhiteSpace(Redis))
            yield return $"{Section}:Redis must be set (e.g. localhost:6379) when {Section}:Provider={Provider}.";
        if (SiloPort is < 1 or > 65535) yield return $"{Section}:SiloPort={SiloPort} must be a TCP port.";
        if (ClientPort is < 1 or > 65535) yield return $"{Section}:ClientPort={ClientPort} must be a TCP port.";
        if (GatewayPort is not null)
            yield return $"{Section}:GatewayPort was renamed {Section}:ClientPort (the port clients connect to; a gateway is a site's trainer); set ClientPort={GatewayPort} instead.";
    }
}

/// <summary>Where grain state and the job index live (configuration section "FedGrains:Storage").</summary>
public sealed class StorageSettings
{
    public const string Section = "FedGrains:Storage";

    /// <summary>"sqlite" (embedded file, default) or "redis" (grain state, job index and reminders in Redis).</summary>
    public string Provider { get; set; } = "sqlite";

    public string DatabasePath { get; set; } = Path.Combine("fedgrains-data", "fedgrains.db");

    /// <summary>Redis connection string for storage; defaults to FedGrains:Cluster:Redis.</summary>
    public string? Redis { get; set; }

    public IEnumerable<string> Problems(ClusterSettings cluster)
    {
        if (Provider is not ("sqlite" or "redis")) yield return $"{Section}:Provider='{Provider}' must be sqlite or redis.";
        if (Provider == "redis" && string.IsNullOrWhiteSpace(Redis ?? cluster.Redis))
            yield return $"{Section}:Redis (or {ClusterSettings.Section}:Redis) must be set when {Section}:Provider=redis.";
    }
}

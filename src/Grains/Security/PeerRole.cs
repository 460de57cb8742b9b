namespace FedGrains.Grains.Security;

/// <summary>What the other end of a TLS connection must be, and so which certificates it may present.</summary>
public enum PeerRole
{
    /// <summary>A silo connecting to this silo's silo port: a silo certificate used for client authentication.</summary>
    SiloConnectingIn,

    /// <summary>A silo this silo (or a client) connects to: a silo certificate used for server authentication.</summary>
    SiloServing,

    /// <summary>A client connecting to this silo's client port: a client certificate.</summary>
    Client,
}

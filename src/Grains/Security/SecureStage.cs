namespace FedGrains.Grains.Security;

/// <summary>The stages of a secure round whose answers are sealed, named alike by the gateway and the federation.</summary>
public static class SecureStage
{
    public const string Train = "keys", Share = "shares", Mask = "masked delta", Unmask = "unmask shares", Survivors = "survivor signature";
}

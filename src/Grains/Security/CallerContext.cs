namespace FedGrains.Grains.Security;

/// <summary>
/// The client a call serves, as the access filter established it. The filter overwrites whatever a client put under
/// this key, so grain code can trust it; calls between grains carry the identity of the client call that caused them.
/// </summary>
public static class CallerContext
{
    private const string Key = "fedgrains.caller";

    internal static void Set(ClientIdentity caller) => RequestContext.Set(Key, $"{caller.KeyId}\n{caller.RoleText}");

    /// <summary>The client this call serves; null for work no client call caused (a timer, a reminder, start-up).</summary>
    public static ClientIdentity? Current =>
        RequestContext.Get(Key) is string text && text.Split('\n') is [var keyId, var role] ? ClientIdentity.Parse(keyId, role) : null;
}

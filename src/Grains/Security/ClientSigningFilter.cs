
namespace FedGrains.Grains.Security;

/// <summary>Signs every outgoing call of a client (the CLI) with its credential.</summary>
public sealed class ClientSigningFilter(string keyId, byte[] secret, TimeProvider time) : IOutgoingGrainCallFilter
{
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        RequestContext.Set(Signatures.RequestContextKey,
            Signatures.ClientToken(keyId, secret, context.InterfaceMethod?.Name ?? context.MethodName, context.TargetId.ToString(), time.GetUtcNow()));
        return context.Invoke();
    }
}

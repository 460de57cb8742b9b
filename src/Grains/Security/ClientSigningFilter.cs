namespace FedGrains.Grains.Security;

/// <summary>A client's key: its id and secret.</summary>
public sealed record ClientCredential(string KeyId, byte[] Secret);

/// <summary>
/// Signs every outgoing call of a client (the CLI) with a fresh single-use token bound to the call's grain, method and
/// arguments. <paramref name="credential"/> is asked on each call (null: the call goes unsigned).
/// </summary>
public sealed class ClientSigningFilter(Func<ClientCredential?> credential, TimeProvider time) : IOutgoingGrainCallFilter
{
    public ClientSigningFilter(ClientCredential credential, TimeProvider time) : this(() => credential, time) { }

    public Task Invoke(IOutgoingGrainCallContext context)
    {
        if (credential() is { } key)
            RequestContext.Set(Signatures.RequestContextKey, Signatures.ClientToken(key.KeyId, key.Secret, ClientCall.Of(context), time.GetUtcNow()));
        return context.Invoke();
    }
}

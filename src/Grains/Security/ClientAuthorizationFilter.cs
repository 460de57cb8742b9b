using FedGrains.Grains.Interfaces;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Security;

/// <summary>
/// Refuses calls from clients (not from grains) to FedGrains' grains unless they carry a valid client token. Calls
/// between grains inside the cluster pass: they come from code the cluster runs. <see cref="IFederationGrain.WakeAsync"/>
/// is open to the silo's own start-up task: it only activates an existing job.
/// </summary>
public sealed class ClientAuthorizationFilter(IOptions<AuthOptions> options, TimeProvider time) : IIncomingGrainCallFilter
{
    private readonly Dictionary<string, byte[]> keys = options.Value.ClientKeys.ToDictionary(k => k.Key, k => Convert.FromBase64String(k.Value));

    public Task Invoke(IIncomingGrainCallContext context)
    {
        bool fromClient = context.SourceId is not { } source || GrainTypePrefix.IsClient(source);
        bool ours = context.InterfaceType.ToString().StartsWith("fedgrains.", StringComparison.Ordinal);
        if (!fromClient || !ours || context.InterfaceMethod?.Name == nameof(IFederationGrain.WakeAsync)) return context.Invoke();
        var token = RequestContext.Get(Signatures.RequestContextKey) as string;
        var refusal = Signatures.VerifyClientToken(token, keys, context.InterfaceMethod?.Name ?? context.MethodName, context.TargetId.ToString(), time.GetUtcNow(), options.Value.MaxClockSkewSeconds);
        if (refusal is not null)
            throw new UnauthorizedAccessException($"FedGrains refused {context.InterfaceName}.{context.MethodName}: {refusal}.");
        return context.Invoke();
    }
}

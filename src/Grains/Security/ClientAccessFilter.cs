using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FedGrains.Grains.Security;

/// <summary>
/// Every call from a client (not from a grain) passes here, authentication on or off. Deny by default: a client may
/// call only <see cref="ClientSurface"/>; gateways, site ledgers, model versions and Orleans' own grains answer only
/// grains of the cluster. With authentication on, the call must carry a fresh, unused token bound to its arguments
/// and signed with a client key, and the key's role (and for a job, its owner and sites) must allow the call. The
/// caller's identity is then set for the grain (<see cref="CallerContext"/>), replacing anything the client sent.
/// </summary>
public sealed partial class ClientAccessFilter(IOptions<AuthOptions> options, IReplayCache replays, TimeProvider time, ILogger<ClientAccessFilter> logger)
    : IIncomingGrainCallFilter
{
    private readonly Dictionary<string, byte[]> keys = options.Value.ClientKeys.ToDictionary(k => k.Key, k => Convert.FromBase64String(k.Value));
    private readonly Dictionary<string, ClientIdentity> identities = options.Value.Identities();
    private readonly byte[] clusterKey = options.Value.SigningKey();

    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (FromInsideTheCluster(context) || ClientSurface.IsOrleansRuntimeDelivery(context.InterfaceType.ToString())) return context.Invoke();
        var call = ClientCall.Of(context);
        if (ClientSurface.IsOrleansClientRead(call.Interface, call.Method)) return context.Invoke();
        return InvokeAsClientAsync(context, call);
    }

    private async Task InvokeAsClientAsync(IIncomingGrainCallContext context, ClientCall call)
    {
        var (caller, refusal) = await AuthorizeAsync(context, call);
        if (refusal is not null)
        {
            Refused(logger, caller?.KeyId ?? "(none)", call.Interface, call.Method, call.Grain, refusal);
            Telemetry.CallsRefused.Add(1);
            throw new UnauthorizedAccessException($"FedGrains refused {context.InterfaceName}.{call.Method}: {refusal}.");
        }
        RequestContext.Remove(Signatures.RequestContextKey); // used once; grains further down have no use for it
        // A site is named by silos only (SiteCalls): one a client set must not ride on the calls this one makes.
        RequestContext.Remove(Placement.SiteCalls.RequestContextKey);
        RequestContext.Remove(InternalCalls.SiteProofKey);
        CallerContext.Set(caller!);
        await context.Invoke();
    }

    // Only a silo's signature counts: a client chooses the sender its messages claim.
    private bool FromInsideTheCluster(IIncomingGrainCallContext context) =>
        InternalCalls.IsValid(RequestContext.Get(InternalCalls.RequestContextKey) as string, clusterKey, context.InterfaceType.ToString(),
            context.InterfaceMethod?.Name ?? context.MethodName, context.TargetId.ToString(), time.GetUtcNow());

    private async ValueTask<(ClientIdentity? Caller, string? Refusal)> AuthorizeAsync(IIncomingGrainCallContext context, ClientCall call)
    {
        if (ClientSurface.Of(call.Interface, call.Method) is not { } access)
            return (null, $"{call.Interface}.{call.Method} is internal to the cluster; clients may call only jobs (submit, status, watch, cancel, export) and privacy reports");
        var caller = ClientIdentity.LocalOperator;
        if (access == ClientAccess.WakeJob) return (caller, null); // activates a job that exists; reveals and changes nothing
        if (options.Value.Enabled)
        {
            var (keyId, nonce, invalid) = Signatures.VerifyClientToken(RequestContext.Get(Signatures.RequestContextKey) as string, keys, call, time.GetUtcNow(),
                options.Value.MaxClockSkewSeconds);
            if (invalid is not null) return (null, invalid);
            caller = identities[keyId!];
            // The role first: a key may fill the replay cache only with calls it may make.
            if (!ClientSurface.RoleAllows(caller, access)) return (caller, $"client '{caller.KeyId}' is a {caller.RoleText}, which may not {Describe(access)}");
            if (!await replays.TryUseAsync(keyId!, nonce!, options.Value.MaxClockSkewSeconds))
                return (caller, "this credential token was used before (each token is good for one call)");
        }
        if (!ClientSurface.RoleAllows(caller, access)) return (caller, $"client '{caller.KeyId}' is a {caller.RoleText}, which may not {Describe(access)}");
        if (access is ClientAccess.ReadSite or ClientAccess.DecideJob && caller.Role == ClientRole.SiteAdmin && context.TargetId.Key.ToString() != caller.Site)
            return (caller, $"client '{caller.KeyId}' is the admin of site '{caller.Site}' and may {(access == ClientAccess.DecideJob ? "approve or reject jobs only for that site" : "read only that site's ledger and approval requests")}");
        if (context.Grain is IJobAccessControl job && job.Refusal(caller, access) is { } notYours) return (caller, notYours);
        return (caller, null);
    }

    private static string Describe(ClientAccess access) => access switch
    {
        ClientAccess.SubmitJob => "submit jobs",
        ClientAccess.CancelJob => "cancel jobs",
        ClientAccess.ReadSite or ClientAccess.ListSites => "read site ledgers",
        ClientAccess.DecideJob => "approve or reject jobs for a site (only the site's own admin does)",
        _ => "read jobs",
    };

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Refused client call {Interface}.{Method} on {Grain} from key {KeyId}: {Reason}")]
    private static partial void Refused(ILogger logger, string keyId, string @interface, string method, string grain, string reason);
}

using FedGrains.Grains.Interfaces;

namespace FedGrains.Grains.Security;

/// <summary>What a call on the client surface does, which decides who may make it.</summary>
public enum ClientAccess { SubmitJob, ReadJob, CancelJob, ListJobs, ReadSite, ListSites, WakeJob, DecideJob }

/// <summary>
/// The only grain methods a client may call (deny by default): everything else, the gateways, site ledgers, model
/// versions and any Orleans system grain, accepts calls only from grains inside the cluster.
/// </summary>
public static class ClientSurface
{
    private static readonly Dictionary<(string Interface, string Method), ClientAccess> Methods = new()
    {
        [("fedgrains.federation", nameof(IFederationGrain.StartAsync))] = ClientAccess.SubmitJob,
        [("fedgrains.federation", nameof(IFederationGrain.WakeAsync))] = ClientAccess.WakeJob,
        [("fedgrains.federation", nameof(IFederationGrain.GetStatusAsync))] = ClientAccess.ReadJob,
        [("fedgrains.federation", nameof(IFederationGrain.GetModelAsync))] = ClientAccess.ReadJob,
        [("fedgrains.federation", nameof(IFederationGrain.GetModelVersionAsync))] = ClientAccess.ReadJob,
        [("fedgrains.federation", nameof(IFederationGrain.GetHistoryAsync))] = ClientAccess.ReadJob,
        [("fedgrains.federation", nameof(IFederationGrain.GetSpecAsync))] = ClientAccess.ReadJob,
        [("fedgrains.federation", nameof(IFederationGrain.SubscribeAsync))] = ClientAccess.ReadJob,
        [("fedgrains.federation", nameof(IFederationGrain.UnsubscribeAsync))] = ClientAccess.ReadJob,
        [("fedgrains.federation", nameof(IFederationGrain.GetGatewayPrivacyAsync))] = ClientAccess.ReadJob,
        [("fedgrains.federation", nameof(IFederationGrain.GetPersonalEvaluationsAsync))] = ClientAccess.ReadJob,
        [("fedgrains.federation", nameof(IFederationGrain.GetGatewaysAsync))] = ClientAccess.ReadJob,
        [("fedgrains.federation", nameof(IFederationGrain.CancelAsync))] = ClientAccess.CancelJob,
        [("fedgrains.job-directory", nameof(IJobDirectoryGrain.ListAsync))] = ClientAccess.ListJobs,
        [("fedgrains.site-ledger", nameof(ISiteLedgerGrain.GetReportAsync))] = ClientAccess.ReadSite,
        [("fedgrains.site-directory", nameof(ISiteDirectoryGrain.ListAsync))] = ClientAccess.ListSites,
        [("fedgrains.site-approvals", nameof(ISiteApprovalsGrain.ListAsync))] = ClientAccess.ReadSite,
        [("fedgrains.site-approvals", nameof(ISiteApprovalsGrain.DecideAsync))] = ClientAccess.DecideJob,
    };

    // What an Orleans client itself reads from the silo it connects to (the cluster's type manifest, and with
    // localhost clustering the membership table): read-only, needed to connect, so open without a token.
    private static readonly HashSet<(string Interface, string Method)> OrleansClientReads =
    [
        ("IClusterManifestSystemTarget", "GetClusterManifest"), ("IClusterManifestSystemTarget", "GetClusterManifestUpdate"),
        ("IMembershipTableSystemTarget", "ReadAll"), ("IMembershipTableSystemTarget", "ReadRow"),
    ];

    // What Orleans' runtime delivers to a grain on its own silo, unsigned: its timers' ticks, its reminders, and
    // cancellations of calls it made. A client that sent one would only make a job tick or wake early.
    private static readonly HashSet<string> OrleansRuntimeDeliveries = ["IGrainTimerInvoker", "IRemindable", "ICancellationSourcesExtension"];

    public static bool IsOrleansRuntimeDelivery(string interfaceType) => OrleansRuntimeDeliveries.Contains(interfaceType[(interfaceType.LastIndexOf('.') + 1)..]);

    /// <summary>Whether this is one of the read-only calls an Orleans client makes to connect.</summary>
    public static bool IsOrleansClientRead(string interfaceType, string method)
    {
        var name = interfaceType[(interfaceType.LastIndexOf('.') + 1)..];
        // Orleans' TestingHost registers this system target only in test silos, whose client polls it for silo statuses.
        return name == "ITestHooksSystemTarget"
               || OrleansClientReads.Contains((name, method.EndsWith("Async", StringComparison.Ordinal) ? method[..^5] : method));
    }

    /// <summary>The access a client call needs, or null when clients may not make it at all.</summary>
    public static ClientAccess? Of(string interfaceType, string method) =>
        Methods.TryGetValue((interfaceType, method), out var access) ? access : null;

    /// <summary>Whether <paramref name="caller"/>'s role allows <paramref name="access"/> at all (a job's owner and sites are checked by the job).</summary>
    public static bool RoleAllows(ClientIdentity caller, ClientAccess access) => (caller.Role, access) switch
    {
        (_, ClientAccess.WakeJob) => true,
        // A site's own admin decides on jobs over its data, not the cluster's operators; without authentication
        // (one trusted user, the embedded default) that user is every party.
        (ClientRole.Operator, ClientAccess.DecideJob) => caller == ClientIdentity.LocalOperator,
        (ClientRole.SiteAdmin, ClientAccess.DecideJob) => true,
        (ClientRole.Operator, _) => true,
        (ClientRole.Submitter, ClientAccess.SubmitJob or ClientAccess.ReadJob or ClientAccess.CancelJob or ClientAccess.ListJobs) => true,
        (ClientRole.Viewer, ClientAccess.ReadJob or ClientAccess.ListJobs) => true,
        (ClientRole.SiteAdmin, ClientAccess.ReadJob or ClientAccess.ListJobs or ClientAccess.ReadSite or ClientAccess.ListSites) => true,
        _ => false,
    };

    /// <summary>Whether <paramref name="caller"/> may see or act on a job owned by <paramref name="owner"/> that trains on <paramref name="sites"/>.</summary>
    public static bool JobAllows(ClientIdentity caller, ClientAccess access, string? owner, IEnumerable<string> sites) => caller.Role switch
    {
        ClientRole.Operator => true,
        ClientRole.Viewer => access == ClientAccess.ReadJob,
        ClientRole.Submitter => owner == caller.KeyId,
        ClientRole.SiteAdmin => access == ClientAccess.ReadJob && sites.Contains(caller.Site),
        _ => false,
    };
}

namespace FedGrains.Grains.Security;

/// <summary>A grain that decides itself who may see or act on it (a job: its owner, the admins of its sites).</summary>
public interface IJobAccessControl
{
    /// <summary>Null when <paramref name="caller"/> may make a call of <paramref name="access"/>; otherwise why not.</summary>
    string? Refusal(ClientIdentity caller, ClientAccess access);
}

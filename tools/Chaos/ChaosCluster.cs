using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using FedGrains.Grains.Hosting;

namespace FedGrains.Chaos;

/// <summary>
/// A production-shaped cluster on this machine: redis-server with a password, persisting every write to an
/// append-only file in <see cref="Directory"/> before it answers (appendfsync always), one federation silo and
/// gateway silos, authentication on. Each member keeps its ports across restarts, as a machine that reboots does:
/// a silo that comes back on its address supersedes its dead generation at once.
/// </summary>
internal sealed class ChaosCluster : IDisposable
{
    private readonly string redisPassword = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
    private readonly string clientKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private readonly string clusterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private readonly int redisPort = StablePort();
    private readonly int gateways;

    public ChaosCluster(string directory, int gatewaySilos, int gateways)
    {
        Directory = directory;
        this.gateways = gateways;
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "redis"));
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "logs"));
        Members = [new Member("redis", null), new Member("silo-0 (federation)", new SiloPorts()),
            .. Enumerable.Range(1, gatewaySilos).Select(k => new Member($"silo-{k} (gateways)", new SiloPorts()))];
    }

    public string Directory { get; }
    public IReadOnlyList<Member> Members { get; }
    public string Redis => $"127.0.0.1:{redisPort},password={redisPassword}";
    public string Cluster => $"redis://{Redis}";
    public string Credential => $"operator:{clientKey}";
    public IEnumerable<int> HealthPorts => Members.Where(m => m.Ports is not null).Select(m => m.Ports!.Health);

    public void StartAll()
    {
        foreach (var m in Members) Start(m);
    }

    /// <summary>The id of every process this cluster started, each incarnation of each member.</summary>
    public List<int> ProcessIds { get; } = [];

    public void Start(Member member)
    {
        member.Incarnation++;
        member.Process = member.Ports is null
            ? ProcessRunner.StartRedis(redisPort, "--requirepass", redisPassword, "--appendonly", "yes", "--appendfsync", "always",
                "--dir", Path.Combine(Directory, "redis"))
            : ProcessRunner.StartDotnet("FedGrains.Silo.dll", SiloArguments(member));
        ProcessIds.Add(member.Process.Id);
    }

    /// <summary>SIGKILL, as when the machine dies; its output so far goes to logs/NAME.INCARNATION.log.</summary>
    public async Task KillAsync(Member member)
    {
        var process = member.Process!;
        process.Kill();
        await process.WaitAsync(TimeSpan.FromSeconds(30));
        Retire(member);
    }

    /// <summary>A member whose process ended without being killed (e.g. a silo that could not reach redis at start): its exit code.</summary>
    public async Task<int?> ExitedAsync(Member member)
    {
        if (member.Process is not { HasExited: true } process) return null;
        int code = await process.WaitAsync(TimeSpan.FromSeconds(5));
        Retire(member);
        return code;
    }

    /// <summary>Stops the member's process (a SIGKILL if it still runs) and keeps its output.</summary>
    private void Retire(Member member)
    {
        var process = member.Process!;
        member.Process = null;
        process.Dispose();
        File.WriteAllText(Path.Combine(Directory, "logs", $"{member.FileName}.{member.Incarnation}.log"), process.Output);
    }

    /// <summary>Stops every process, then deletes the folder unless <paramref name="keepLogs"/>; stopping again is a no-op.</summary>
    public void Stop(bool keepLogs)
    {
        foreach (var m in Members)
        {
            if (m.Process is null) continue;
            // Every process must go, even if one of them fails to stop: a stray silo would outlive the run.
            try { Retire(m); }
            catch (Exception e) when (e is InvalidOperationException or IOException) { }
        }
        if (!keepLogs && System.IO.Directory.Exists(Directory)) System.IO.Directory.Delete(Directory, true);
    }

    /// <summary>A run that ended early keeps its logs.</summary>
    public void Dispose() => Stop(keepLogs: true);

    private IEnumerable<string> SiloArguments(Member member)
    {
        var ports = member.Ports!;
        bool federation = member == Members[1];
        return
        [
            "--FedGrains:Cluster:Provider=redis", $"--FedGrains:Cluster:Redis={Redis}", "--FedGrains:Storage:Provider=redis",
            "--FedGrains:Cluster:AdvertisedIPAddress=127.0.0.1", $"--FedGrains:Cluster:SiloPort={ports.Silo}",
            $"--FedGrains:Cluster:ClientPort={ports.Client}", $"--FedGrains:Health:Port={ports.Health}",
            $"--FedGrains:Silo:HostsGateways={!federation}", $"--FedGrains:Silo:Role={(federation ? "federation" : "gateway")}",
            "--FedGrains:Silo:TorchThreads=1", "--FedGrains:Silo:Device=cpu",
            "--FedGrains:Telemetry:Exporter=none", "--Logging:LogLevel:Default=Warning",
            "--FedGrains:Auth:Enabled=true", $"--FedGrains:Auth:ClusterKey={clusterKey}",
            $"--FedGrains:Auth:ClientKeys:operator={clientKey}", "--FedGrains:Auth:ClientRoles:operator=operator",
            .. Enumerable.Range(0, gateways).Select(g => $"--FedGrains:Auth:GatewayKeys:gw-{g:D2}={GatewayKey(g)}"),
        ];
    }

    // Each site's key, the same on every silo (as from one Kubernetes secret).
    private string GatewayKey(int gateway) =>
        Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes($"{clusterKey}/site/{gateway}")));

    internal sealed record SiloPorts
    {
        public int Silo { get; } = StablePort();
        public int Client { get; } = StablePort();
        public int Health { get; } = StablePort();
    }

    /// <summary>
    /// A free port below the ephemeral range, so that while its member is down no outgoing connection of another
    /// process can be given it as a local port and block the restart.
    /// </summary>
    private static int StablePort()
    {
        var range = File.Exists(EphemeralRange) ? File.ReadAllText(EphemeralRange).Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries) : [];
        int below = range.Length > 0 && int.TryParse(range[0], out var low) ? low : 32768;
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            int port = Random.Shared.Next(10_000, below);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException) { }
        }
        return HostBuilderExtensions.FreeTcpPort();
    }

    private const string EphemeralRange = "/proc/sys/net/ipv4/ip_local_port_range";

    /// <summary>Redis (no <see cref="Ports"/>) or a silo; <see cref="Process"/> is null while it is down.</summary>
    internal sealed class Member(string name, SiloPorts? ports)
    {
        public string Name { get; } = name;
        public SiloPorts? Ports { get; } = ports;
        public ProcessRunner? Process { get; set; }
        public int Incarnation { get; set; }
        public string FileName => Name.Split(' ')[0];
    }
}

using System.Diagnostics;
using Path = System.IO.Path;
using YamlDotNet.RepresentationModel;

namespace FedGrains.Cluster.Tests.Hosting;

/// <summary>
/// The Kubernetes manifests and Dockerfiles, checked without a cluster or a Docker engine: every document parses and
/// has what its kind needs, every name one object uses refers to an object that exists, GPU silos ask for GPUs, and
/// the images build the projects that exist. With kubectl present, each overlay also renders with kustomize.
/// </summary>
public sealed class DeploymentTests
{
    private static readonly string Root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
    private static readonly string K8s = Path.Combine(Root, "deploy/k8s");

    private static readonly Lazy<List<YamlMappingNode>> Documents = new(() =>
        Directory.GetFiles(Path.Combine(K8s, "base"), "*.yaml").Where(f => !f.EndsWith("kustomization.yaml"))
            .SelectMany(Load).ToList());

    [Fact]
    public void Every_manifest_parses_and_names_its_kind()
    {
        Assert.NotEmpty(Documents.Value);
        foreach (var doc in Documents.Value)
        {
            Assert.False(string.IsNullOrEmpty(Scalar(doc, "apiVersion")), "apiVersion missing");
            Assert.False(string.IsNullOrEmpty(Scalar(doc, "kind")), "kind missing");
            Assert.False(string.IsNullOrEmpty(Scalar(doc, "metadata", "name")), $"{Scalar(doc, "kind")} without metadata.name");
        }
        var kinds = Documents.Value.Select(d => Scalar(d, "kind")).ToHashSet();
        foreach (var kind in new[] { "Namespace", "StatefulSet", "Deployment", "Service", "ConfigMap", "Secret", "ServiceAccount", "Role", "RoleBinding", "Job" })
            Assert.Contains(kind, kinds);
    }

    [Fact]
    public void The_kustomizations_list_files_that_exist()
    {
        var kustomization = Load(Path.Combine(K8s, "base/kustomization.yaml")).Single();
        var resources = ((YamlSequenceNode)kustomization["resources"]).Select(n => n.ToString()).ToList();
        Assert.Equal(Directory.GetFiles(Path.Combine(K8s, "base"), "*.yaml").Select(Path.GetFileName).Where(f => f != "kustomization.yaml").Order(),
            resources.Order());
        foreach (var overlay in new[] { "dev-cpu", "gpu-prod" })
        {
            var o = Load(Path.Combine(K8s, "overlays", overlay, "kustomization.yaml")).Single();
            foreach (var r in (YamlSequenceNode)o["resources"])
                Assert.True(Directory.Exists(Path.Combine(K8s, "overlays", overlay, r.ToString())), $"{overlay} refers to missing {r}");
        }
    }

    [Fact]
    public void Workloads_refer_only_to_objects_that_exist_and_services_select_pods()
    {
        var names = Documents.Value.Select(d => (Scalar(d, "kind"), Scalar(d, "metadata", "name"))).ToHashSet();
        var workloads = Documents.Value.Where(d => Scalar(d, "kind") is "Deployment" or "StatefulSet" or "Job").ToList();
        var podLabels = new List<Dictionary<string, string>>();
        foreach (var w in workloads)
        {
            var pod = (YamlMappingNode)At(w, "spec", "template")!;
            if (At(pod, "metadata", "labels") is YamlMappingNode labels) podLabels.Add(labels.ToDictionary(k => k.Key.ToString(), k => k.Value.ToString()));
            if (Scalar(pod, "spec", "serviceAccountName") is { } sa) Assert.Contains(("ServiceAccount", sa), names);
            foreach (var container in (YamlSequenceNode)At(pod, "spec", "containers")!)
            {
                var c = (YamlMappingNode)container;
                Assert.False(string.IsNullOrEmpty(Scalar(c, "image")), "container without image");
                if (At(c, "envFrom") is YamlSequenceNode envFrom)
                    foreach (var source in envFrom.Cast<YamlMappingNode>())
                    {
                        if (Scalar(source, "configMapRef", "name") is { } cm) Assert.Contains(("ConfigMap", cm), names);
                        if (Scalar(source, "secretRef", "name") is { } secret) Assert.Contains(("Secret", secret), names);
                    }
            }
            if (At(pod, "spec", "volumes") is YamlSequenceNode volumes)
                foreach (var v in volumes.Cast<YamlMappingNode>())
                {
                    if (Scalar(v, "configMap", "name") is { } cm) Assert.Contains(("ConfigMap", cm), names);
                    if (Scalar(v, "secret", "secretName") is { } secret) Assert.Contains(("Secret", secret), names);
                }
            if (Scalar(w, "kind") != "Job")
            {
                var selector = ((YamlMappingNode)At(w, "spec", "selector", "matchLabels")!).ToDictionary(k => k.Key.ToString(), k => k.Value.ToString());
                Assert.True(selector.All(s => podLabels[^1].TryGetValue(s.Key, out var v) && v == s.Value), $"{Scalar(w, "metadata", "name")}: selector does not match its pods");
            }
        }
        foreach (var service in Documents.Value.Where(d => Scalar(d, "kind") == "Service"))
        {
            var selector = ((YamlMappingNode)At(service, "spec", "selector")!).ToDictionary(k => k.Key.ToString(), k => k.Value.ToString());
            Assert.True(podLabels.Any(l => selector.All(s => l.TryGetValue(s.Key, out var v) && v == s.Value)),
                $"service {Scalar(service, "metadata", "name")} selects no pods");
        }
        var binding = Documents.Value.Single(d => Scalar(d, "kind") == "RoleBinding");
        Assert.Contains(("Role", Scalar(binding, "roleRef", "name")!), names);
        foreach (var subject in ((YamlSequenceNode)binding["subjects"]).Cast<YamlMappingNode>())
            Assert.Contains(("ServiceAccount", Scalar(subject, "name")!), names);
    }

    [Fact]
    public void Gpu_silos_request_gpus_host_gateways_and_cpu_silos_do_not()
    {
        var gpu = Workload("fedgrains-silo-gpu");
        var cpu = Workload("fedgrains-silo-cpu");

        Assert.Equal("1", Scalar(Container(gpu), "resources", "limits", "nvidia.com/gpu"));
        Assert.NotNull(At(gpu, "spec", "template", "spec", "nodeSelector"));
        Assert.Contains(((YamlSequenceNode)At(gpu, "spec", "template", "spec", "tolerations")!).Cast<YamlMappingNode>(), t => Scalar(t, "key") == "nvidia.com/gpu");
        Assert.Equal("true", Env(gpu, "FedGrains__Silo__HostsGateways"));
        Assert.Equal("false", Env(cpu, "FedGrains__Silo__HostsGateways"));
        Assert.Null(At(Container(cpu), "resources", "limits", "nvidia.com/gpu"));
        foreach (var silo in new[] { gpu, cpu })
        {
            foreach (var env in new[] { "ORLEANS_SERVICE_ID", "ORLEANS_CLUSTER_ID", "POD_NAME", "POD_NAMESPACE", "POD_IP" })
                Assert.True(EnvNames(silo).Contains(env), $"{env} missing (Orleans Kubernetes hosting needs it)");
            Assert.Equal("/healthz", Scalar(Container(silo), "livenessProbe", "httpGet", "path"));
            Assert.Equal("/readyz", Scalar(Container(silo), "readinessProbe", "httpGet", "path"));
        }
        Assert.EndsWith("silo-cuda:dev", Scalar(Container(gpu), "image"));
    }

    [Fact]
    public void Dockerfiles_build_existing_projects_and_only_the_cuda_image_uses_the_cuda_switch()
    {
        foreach (var (file, backend) in new[] { ("Dockerfile.cpu", "cpu"), ("Dockerfile.cuda", "cuda") })
        {
            var text = File.ReadAllText(Path.Combine(Root, "deploy/docker", file));
            var stages = text.Split('\n').Where(l => l.StartsWith("FROM ")).Select(l => l.Split(" AS ") is [_, var name] ? name.Trim() : null).ToList();
            Assert.Equal(2, stages.Count);
            foreach (var from in text.Split('\n').Where(l => l.Contains("COPY --from=")))
                Assert.Contains(from.Split("--from=")[1].Split(' ')[0], stages);
            Assert.Contains($"-p:TorchBackend={backend}", text);
            foreach (var project in text.Split(' ', '\n').Where(w => w.EndsWith(".csproj")))
                Assert.True(File.Exists(Path.Combine(Root, project)), $"{file} builds {project}, which does not exist");
            Assert.Contains("/app/silo/FedGrains.Silo.dll", text);
            // The hosts run on the ASP.NET Core shared framework (health endpoints): the plain runtime image lacks it.
            Assert.Contains("FROM mcr.microsoft.com/dotnet/aspnet:10.0", text);
            // Gateways train on pool threads: with their own malloc arenas, big tensors are mmapped afresh every step.
            Assert.Contains("MALLOC_ARENA_MAX=1", text);
        }
        Assert.DoesNotContain("TorchBackend=cuda", File.ReadAllText(Path.Combine(Root, "deploy/docker/Dockerfile.cpu")));
    }

    [Fact]
    public void Overlays_render_with_kustomize_when_kubectl_is_installed()
    {
        if (!File.Exists("/usr/bin/kubectl") && !File.Exists("/usr/local/bin/kubectl")) return; // CI machines have no kubectl; the checks above still ran
        foreach (var overlay in new[] { "dev-cpu", "gpu-prod" })
        {
            var info = new ProcessStartInfo("kubectl", ["kustomize", Path.Combine(K8s, "overlays", overlay)]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(info)!;
            var output = p.StandardOutput.ReadToEnd();
            var error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, error);
            var docs = new YamlStream();
            docs.Load(new StringReader(output));
            var gpu = docs.Documents.Select(d => (YamlMappingNode)d.RootNode).Single(d => Scalar(d, "metadata", "name") == "fedgrains-silo-gpu");
            var cpu = docs.Documents.Select(d => (YamlMappingNode)d.RootNode).Single(d => Scalar(d, "metadata", "name") == "fedgrains-silo-cpu");
            if (overlay == "dev-cpu")
            {
                Assert.Equal("0", Scalar(gpu, "spec", "replicas"));
                Assert.Equal("true", Env(cpu, "FedGrains__Silo__HostsGateways"));
            }
            else
            {
                Assert.Equal("4", Scalar(gpu, "spec", "replicas"));
                Assert.Equal("registry.example.com/fedgrains/silo-cuda:1.0.0", Scalar(Container(gpu), "image"));
            }
        }
    }

    [Fact]
    public void Silos_and_the_submit_job_use_mutual_tls_from_the_fedgrains_tls_secret()
    {
        var secret = Documents.Value.Single(d => Scalar(d, "kind") == "Secret" && Scalar(d, "metadata", "name") == "fedgrains-tls");
        Assert.NotNull(At(secret, "stringData", "ca.pem"));
        foreach (var file in new[] { "silo.pfx", "client.pfx" }) Assert.NotNull(At(secret, "data", file));
        Assert.Null(At(secret, "stringData", "ca.key.pem"));
        foreach (var silo in new[] { Workload("fedgrains-silo-gpu"), Workload("fedgrains-silo-cpu") })
        {
            Assert.Equal("true", Env(silo, "FedGrains__Tls__Enabled"));
            Assert.Equal("/tls/silo.pfx", Env(silo, "FedGrains__Tls__Certificate"));
            Assert.Equal("/tls/ca.pem", Env(silo, "FedGrains__Tls__CertificateAuthority"));
            Assert.Contains(TlsMounts(silo), m => m == "/tls");
        }
        var submit = Documents.Value.Single(d => Scalar(d, "kind") == "Job");
        Assert.Equal("/tls/client.pfx", Env(submit, "FEDGRAINS_TLS_CERTIFICATE"));
        Assert.Equal("/tls/ca.pem", Env(submit, "FEDGRAINS_TLS_CA"));
        Assert.Contains(TlsMounts(submit), m => m == "/tls");

        // The mount is the volume of the fedgrains-tls secret.
        static IEnumerable<string> TlsMounts(YamlMappingNode workload)
        {
            var volumes = ((YamlSequenceNode)At(workload, "spec", "template", "spec", "volumes")!).Cast<YamlMappingNode>()
                .Where(v => Scalar(v, "secret", "secretName") == "fedgrains-tls").Select(v => Scalar(v, "name")).ToHashSet();
            return ((YamlSequenceNode)At(Container(workload), "volumeMounts")!).Cast<YamlMappingNode>()
                .Where(m => volumes.Contains(Scalar(m, "name"))).Select(m => Scalar(m, "mountPath")!);
        }
    }

    [Fact]
    public void A_sites_silo_has_its_own_certificate_keys_ledger_volume_and_policy_and_no_other_clients_keys()
    {
        var folder = Path.Combine(K8s, "site");
        var kustomization = Load(Path.Combine(folder, "kustomization.yaml")).Single();
        var files = Directory.GetFiles(folder, "*.yaml").Select(Path.GetFileName).Where(f => f != "kustomization.yaml").ToList();
        Assert.Equal(files.Order(), ((YamlSequenceNode)kustomization["resources"]).Select(n => n.ToString()).Order());
        var site = files.SelectMany(f => Load(Path.Combine(folder, f!))).ToList();
        var names = site.Concat(Documents.Value).Select(d => (Scalar(d, "kind"), Scalar(d, "metadata", "name"))).ToHashSet();
        var silo = site.Single(d => Scalar(d, "kind") == "Deployment");
        var pod = At(silo, "spec", "template", "spec")!;
        Assert.Contains(("ServiceAccount", Scalar(pod, "serviceAccountName")), names);
        foreach (var source in ((YamlSequenceNode)At(Container(silo), "envFrom")!).Cast<YamlMappingNode>())
            Assert.Contains(Scalar(source, "configMapRef", "name") is { } cm ? ("ConfigMap", cm) : ("Secret", Scalar(source, "secretRef", "name")), names);
        var volumes = ((YamlSequenceNode)At(pod, "volumes")!).Cast<YamlMappingNode>().ToDictionary(v => Scalar(v, "name")!);
        var mounts = ((YamlSequenceNode)At(Container(silo), "volumeMounts")!).Cast<YamlMappingNode>().ToDictionary(m => Scalar(m, "mountPath")!, m => volumes[Scalar(m, "name")!]);

        // Its own certificate (the site's identity), not the federation's silo certificate.
        Assert.Equal("/tls/site.pfx", Env(silo, "FedGrains__Tls__Certificate"));
        Assert.Equal("fedgrains-site-hospital-a-tls", Scalar(mounts["/tls"], "secret", "secretName"));
        Assert.Contains(("Secret", "fedgrains-site-hospital-a-tls"), names);
        Assert.NotNull(At(site.Single(d => Scalar(d, "metadata", "name") == "fedgrains-site-hospital-a-tls"), "data", "site.pfx"));
        // Its ledger in its own file, on its own volume, written by one pod at a time.
        var settings = site.Single(d => Scalar(d, "kind") == "ConfigMap");
        var ledger = Scalar(settings, "data", "FedGrains__Site__LedgerPath")!;
        Assert.Equal("fedgrains-site-hospital-a-ledger", Scalar(mounts[Path.GetDirectoryName(ledger)!], "persistentVolumeClaim", "claimName"));
        Assert.Contains(("PersistentVolumeClaim", "fedgrains-site-hospital-a-ledger"), names);
        Assert.Equal(("1", "Recreate"), (Scalar(silo, "spec", "replicas"), Scalar(silo, "spec", "strategy", "type")));
        Assert.Equal("true", Scalar(settings, "data", "FedGrains__Site__Policy__RequireApproval"));
        // Keys: the site's own admin only; an operator's key on a site's silo would let the site sign as the operator.
        var auth = (YamlMappingNode)At(site.Single(d => Scalar(d, "metadata", "name") == "fedgrains-site-hospital-a-auth"), "stringData")!;
        var roles = auth.Children.Where(k => k.Key.ToString().StartsWith("FedGrains__Auth__ClientRoles__")).Select(k => k.Value.ToString()).ToList();
        Assert.Equal(["site-admin:hospital-a"], roles);
        Assert.Single(auth.Children, k => k.Key.ToString().StartsWith("FedGrains__Auth__ClientKeys__"));

        if (!File.Exists("/usr/bin/kubectl") && !File.Exists("/usr/local/bin/kubectl")) return;
        var info = new ProcessStartInfo("kubectl", ["kustomize", folder]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(info)!;
        p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, error);
    }

    [Fact]
    public void Redis_stores_every_write_on_its_volume_before_it_answers()
    {
        // Privacy ledgers live in Redis: a write it acknowledged and then lost with its pod (everysec loses up to a
        // second; no appendonly file loses everything since the last snapshot) is a spend nobody has on record.
        var redis = Documents.Value.Single(d => Scalar(d, "kind") == "StatefulSet" && Scalar(d, "metadata", "name") == "fedgrains-redis");
        var args = ((YamlSequenceNode)At(Container(redis), "args")!).Cast<YamlScalarNode>().Select(a => a.Value).ToList();
        string? Arg(string name) => args.IndexOf(name) is var i and >= 0 && i + 1 < args.Count ? args[i + 1] : null;
        Assert.Equal("yes", Arg("--appendonly"));
        Assert.Equal("always", Arg("--appendfsync"));
        var mounts = ((YamlSequenceNode)At(Container(redis), "volumeMounts")!).Cast<YamlMappingNode>();
        Assert.Contains(mounts, m => Scalar(m, "mountPath") == Arg("--dir") && Scalar(m, "name") == "data");
    }

    [Fact]
    public void Redis_speaks_only_tls_with_the_deployments_certificate_and_everyone_connects_with_ssl()
    {
        var redis = Documents.Value.Single(d => Scalar(d, "kind") == "StatefulSet" && Scalar(d, "metadata", "name") == "fedgrains-redis");
        var args = ((YamlSequenceNode)At(Container(redis), "args")!).Cast<YamlScalarNode>().Select(a => a.Value).ToList();
        string? Arg(string name) => args.IndexOf(name) is var i and >= 0 && i + 1 < args.Count ? args[i + 1] : null;
        Assert.Equal("0", Arg("--port")); // no plaintext port
        Assert.Equal("6379", Arg("--tls-port"));
        Assert.NotNull(Arg("--requirepass"));
        var volumes = ((YamlSequenceNode)At(redis, "spec", "template", "spec", "volumes")!).Cast<YamlMappingNode>();
        var tls = volumes.Single(v => Scalar(v, "secret", "secretName") == "fedgrains-redis-tls");
        var mount = ((YamlSequenceNode)At(Container(redis), "volumeMounts")!).Cast<YamlMappingNode>().Single(m => Scalar(m, "name") == Scalar(tls, "name"));
        foreach (var file in new[] { "--tls-cert-file", "--tls-key-file", "--tls-ca-cert-file" })
            Assert.StartsWith(Scalar(mount, "mountPath") + "/", Arg(file));
        var secret = Documents.Value.Single(d => Scalar(d, "kind") == "Secret" && Scalar(d, "metadata", "name") == "fedgrains-redis-tls");
        foreach (var file in new[] { "ca.pem", "redis.crt", "redis.key" }) Assert.NotNull(At(secret, "stringData", file));

        // Every connection string to Redis, the cluster's and the site's, asks for TLS.
        var site = Load(Path.Combine(K8s, "site", "site-secrets.yaml")).ToList();
        var strings = Documents.Value.Concat(site).Where(d => Scalar(d, "kind") == "Secret").SelectMany(d => At(d, "stringData") is YamlMappingNode data ? data.Children : Enumerable.Empty<KeyValuePair<YamlNode, YamlNode>>())
            .Where(k => k.Key.ToString() is "FedGrains__Cluster__Redis" or "FEDGRAINS_CLUSTER").Select(k => k.Value.ToString()).ToList();
        Assert.Equal(3, strings.Count);
        Assert.All(strings, c => Assert.Contains(",ssl=true", c));
    }

    private static YamlMappingNode Workload(string name) =>
        Documents.Value.Single(d => Scalar(d, "kind") == "Deployment" && Scalar(d, "metadata", "name") == name);

    private static YamlMappingNode Container(YamlMappingNode workload) =>
        (YamlMappingNode)((YamlSequenceNode)At(workload, "spec", "template", "spec", "containers")!)[0];

    private static IEnumerable<YamlMappingNode> EnvEntries(YamlMappingNode workload) =>
        ((YamlSequenceNode)At(Container(workload), "env")!).Cast<YamlMappingNode>();

    private static HashSet<string> EnvNames(YamlMappingNode workload) => EnvEntries(workload).Select(e => Scalar(e, "name")!).ToHashSet();

    private static string? Env(YamlMappingNode workload, string name) => Scalar(EnvEntries(workload).Single(e => Scalar(e, "name") == name), "value");

    private static IEnumerable<YamlMappingNode> Load(string file)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(file);
        stream.Load(reader);
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode);
    }

    private static YamlNode? At(YamlNode node, params string[] keys)
    {
        foreach (var key in keys)
        {
            if (node is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out var next)) return null;
            node = next;
        }
        return node;
    }

    private static string? Scalar(YamlNode node, params string[] keys) => (At(node, keys) as YamlScalarNode)?.Value;
}

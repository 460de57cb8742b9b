using System.CommandLine;
using FedGrains.Grains.Security;

namespace FedGrains.Cli.Commands;

/// <summary>`fedgrains provision`: the deployment's CA and one certificate per silo, site silo and client, for mutual TLS.</summary>
internal static class ProvisionCommand
{
    public static Command Create()
    {
        var output = new Option<DirectoryInfo>("--output") { Description = "Folder to write into; if it already holds a CA (ca.pem + ca.key.pem), that CA issues the new certificates.", Required = true };
        var silos = Names("--silo", "A federation/operator silo's name: writes silo-NAME.pfx (SAN fedgrains:silo:NAME). Repeatable.");
        var sites = Names("--site", "A data site: writes site-SITE.pfx for that site's silos (SAN fedgrains:site:SITE; the silo's data site). Repeatable.");
        var clients = Names("--client", "A client (CLI user, job submitter): writes client-ID.pfx (SAN fedgrains:client:ID). Repeatable.");
        var redis = Names("--redis", "The Redis server: writes redis-NAME.crt and redis-NAME.key (PEM, for redis-server --tls-cert-file/--tls-key-file; SAN fedgrains:redis:NAME, localhost, 127.0.0.1 and each --dns).");
        var dns = Names("--dns", "An extra DNS name for silo and Redis certificates (they always have localhost and 127.0.0.1). Repeatable.");
        var days = new Option<int?>("--days") { Description = "Validity of the new certificates in days (default 365; the CA's is 10 years)." };
        var command = new Command("provision",
            "Create the deployment's CA and a certificate per silo, site and client (ECDSA P-256, PKCS#12 without password, mode 0600). " +
            "Existing files are never overwritten: re-run with new names to add them.")
        {
            output, silos, sites, clients, redis, dns, days,
        };
        command.SetAction((r, _) => ClusterCommands.WithGrainsAsync(() =>
        {
            var request = new ProvisionRequest(r.GetValue(output)!.FullName, r.GetValue(silos) ?? [], r.GetValue(sites) ?? [], r.GetValue(clients) ?? [], r.GetValue(dns) ?? [],
                r.GetValue(days) ?? 365, r.GetValue(redis) ?? []);
            if (request.Silos.Count + request.Sites.Count + request.Clients.Count + request.Redis!.Count == 0)
                throw new ArgumentException("give at least one --silo, --site, --client or --redis to issue a certificate for.");
            var result = Provisioning.Run(request, TimeProvider.System);
            Console.WriteLine(result.AuthorityCreated ? $"created CA {result.Authority}" : $"using the existing CA {result.Authority}");
            foreach (var file in result.Files)
                Console.WriteLine($"{(file.Created ? "issued " : "kept   ")} {file.Identity.Uri,-40} {file.Path}{(file.Created ? "" : " (exists; not overwritten)")}");
            Console.WriteLine($"{result.AuthorityKey} is the CA's private key: keep it offline. Whoever holds it can mint silos and clients of this deployment; " +
                              "it is needed only to issue more certificates.");
            Console.WriteLine($"Silos: FedGrains:Tls:Enabled=true, FedGrains:Tls:Certificate=<their .pfx>, FedGrains:Tls:CertificateAuthority={result.Authority}; " +
                              "the CLI: --tls-certificate <client .pfx> --tls-ca " + result.Authority);
            return Task.FromResult(0);
        }));
        return command;
    }

    private static Option<string[]> Names(string name, string description) =>
        new(name) { Description = description + " (default none)", AllowMultipleArgumentsPerToken = false };
}

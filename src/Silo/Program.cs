using FedGrains.Grains.Hosting;
using FedGrains.Learning;
using FedGrains.Silo;
using Orleans.Dashboard;

// A FedGrains silo. Embedded default: localhost clustering + SQLite; FedGrains:Cluster:Provider=redis|kubernetes and
// FedGrains:Storage:Provider=redis for a cluster. Configure with appsettings.json, FedGrains__... environment variables
// or --FedGrains:Silo:HostsGateways=false style arguments. /healthz (liveness) and /readyz (cluster membership) on
// FedGrains:Health:Port.
NativeMemoryTuning.Apply();
// Content root = the executable's folder, so its appsettings.json applies whatever the working directory is.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
// The Orleans Dashboard is unauthenticated: enable it only where a network policy limits who reaches the health port.
var dashboard = builder.Configuration.GetValue("FedGrains:Dashboard:Enabled", false);
builder.AddFedGrainsSilo(silo => { if (dashboard) silo.AddDashboard(); });
builder.WebHost.UseUrls($"http://0.0.0.0:{builder.Configuration.GetValue("FedGrains:Health:Port", 8080)}");
builder.Services.AddHealthChecks().AddCheck<SiloReadiness>("orleans-membership", tags: ["ready"]);

var app = builder.Build();
app.MapHealthChecks("/healthz", new() { Predicate = _ => false });
app.MapHealthChecks("/readyz", new() { Predicate = check => check.Tags.Contains("ready") });
if (dashboard) app.MapOrleansDashboard("/dashboard");
await app.RunAsync();

using FedGrains.Grains.Hosting;
using FedGrains.Learning;
using Microsoft.Extensions.Hosting;

// A FedGrains silo on the embedded default (localhost clustering, SQLite in FedGrains:Storage:DatabasePath).
// Configure with appsettings.json, FEDGRAINS__... environment variables or --FedGrains:Silo:HostsGateways=false style arguments.
NativeMemoryTuning.Apply();
var builder = Host.CreateApplicationBuilder(args);
builder.AddFedGrainsSilo();
using var host = builder.Build();
await host.RunAsync();

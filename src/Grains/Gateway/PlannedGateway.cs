using FedGrains.Learning.Gateways;
using FedGrains.Learning.Jobs;

namespace FedGrains.Grains.Gateway;

/// <summary>A gateway's plan for a job with what its site policy needs to judge it: its data's size, example shape and classes.</summary>
internal sealed record PlannedGateway(GatewaySpec Gateway, int Examples, int[] ExampleShape, int Classes, LocalPlan Plan);

namespace FedGrains.Cluster.Tests.Cli.BadInput;

/// <summary>Every area's cases, gathered for the corpus test.</summary>
internal static class BadInputCases
{
    public static IEnumerable<BadInput> All() => [.. SpecCases.All(), .. CliFlagCases.All(), .. SiteDataCases.All(), .. StoreCases.All()];
}

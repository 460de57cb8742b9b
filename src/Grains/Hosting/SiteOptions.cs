namespace FedGrains.Grains.Hosting;

/// <summary>
/// What a data site sets on its own silo (configuration section "FedGrains:Site"): where its privacy ledger is kept
/// and its policy. The site's name is the silo's FedGrains:Silo:Site; a silo without one applies its policy to every
/// site it serves.
/// </summary>
public sealed class SiteOptions
{
    public const string Section = "FedGrains:Site";

    /// <summary>
    /// A SQLite file on this silo that holds the site ledgers kept here, apart from the cluster's store, so the site
    /// keeps (and backs up) its own ledger. Unset (default): site ledgers live in the cluster's store with the rest.
    /// </summary>
    public string? LedgerPath { get; set; }

    /// <summary>
    /// The datasets this site offers, by name (FedGrains:Site:Datasets:NAME:Csv, :Images and :Labels, or :Folder, a
    /// folder of images with one sub-folder per class): a job names one (gateways[].source.dataset) and the paths stay
    /// in the site's configuration.
    /// </summary>
    public Dictionary<string, Learning.Datasets.SiteSource> Datasets { get; set; } = [];

    /// <summary>The site's policy; null (no section): this silo applies none.</summary>
    public SitePolicyOptions? Policy { get; set; }

    public IEnumerable<string> Problems()
    {
        foreach (var problem in Policy?.Problems() ?? []) yield return problem;
        foreach (var (name, source) in Datasets)
        {
            bool images = !string.IsNullOrWhiteSpace(source.Images), labels = !string.IsNullOrWhiteSpace(source.Labels);
            int kinds = (string.IsNullOrWhiteSpace(source.Csv) ? 0 : 1) + (images || labels ? 1 : 0) + (string.IsNullOrWhiteSpace(source.Folder) ? 0 : 1);
            if (kinds != 1 || images != labels || source.Dataset is not null)
                yield return $"{Section}:Datasets:{name} must give exactly one of Csv, Images and Labels, or Folder (paths on this silo).";
        }
        if (LedgerPath is { } path && string.IsNullOrWhiteSpace(path))
            yield return $"{Section}:LedgerPath is blank: give a file path (e.g. /var/lib/fedgrains/site-ledger.db) or leave it out.";
    }
}

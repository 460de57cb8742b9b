using System.Security.Cryptography;
using FedGrains.Grains.Hosting;
using FedGrains.Grains.Interfaces;
using FedGrains.Grains.Security;
using FedGrains.Learning.Privacy;
using Orleans.TestingHost;

namespace FedGrains.Cluster.Tests.Security;

public sealed class SignatureTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);
    private static readonly Dictionary<string, byte[]> Keys = new() { ["operator"] = Key };
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
    private static readonly ClientCall Start = new("fedgrains.federation", "StartAsync", "fedgrains.federation/a", "digest-of-spec-1");

    [Fact]
    public void A_client_token_is_valid_only_for_its_method_grain_arguments_and_time()
    {
        var token = Signatures.ClientToken("operator", Key, Start, Now);

        Assert.Null(Signatures.VerifyClientToken(token, Keys, Start, Now.AddSeconds(30), 300).Refusal);
        Assert.Contains("invalid", Signatures.VerifyClientToken(token, Keys, Start with { Method = "CancelAsync" }, Now, 300).Refusal);
        Assert.Contains("invalid", Signatures.VerifyClientToken(token, Keys, Start with { Grain = "fedgrains.federation/b" }, Now, 300).Refusal);
        Assert.Contains("other arguments", Signatures.VerifyClientToken(token, Keys, Start with { Arguments = "digest-of-spec-2" }, Now, 300).Refusal);
        Assert.Contains("invalid", Signatures.VerifyClientToken(token, Keys, Start with { Interface = "fedgrains.gateway" }, Now, 300).Refusal);
        Assert.Contains("expired", Signatures.VerifyClientToken(token, Keys, Start, Now.AddMinutes(10), 300).Refusal);
        Assert.Contains("no credential", Signatures.VerifyClientToken(null, Keys, Start, Now, 300).Refusal);
        Assert.Contains("unknown client key", Signatures.VerifyClientToken(Signatures.ClientToken("stranger", Key, Start, Now), Keys, Start, Now, 300).Refusal);
        Assert.Contains("invalid", Signatures.VerifyClientToken(Signatures.ClientToken("operator", RandomNumberGenerator.GetBytes(32), Start, Now), Keys, Start, Now, 300).Refusal);
        Assert.Contains("first format", Signatures.VerifyClientToken("v1:operator:1800000000:abc", Keys, Start, Now, 300).Refusal);
        Assert.Contains("malformed", Signatures.VerifyClientToken("v2:operator:1800000000:short:abc", Keys, Start, Now, 300).Refusal);
    }

    [Fact]
    public async Task Each_token_carries_its_own_nonce_and_is_accepted_once()
    {
        var replays = new ReplayCache(TimeProvider.System);
        var first = Signatures.VerifyClientToken(Signatures.ClientToken("operator", Key, Start, Now), Keys, Start, Now, 300);
        var second = Signatures.VerifyClientToken(Signatures.ClientToken("operator", Key, Start, Now), Keys, Start, Now, 300);

        Assert.NotEqual(first.Nonce, second.Nonce);
        Assert.True(await replays.TryUseAsync("operator", first.Nonce!, 300));
        Assert.False(await replays.TryUseAsync("operator", first.Nonce!, 300));
        Assert.True(await replays.TryUseAsync("operator", second.Nonce!, 300));
    }

    [Fact]
    public void The_argument_digest_covers_what_the_arguments_mean()
    {
        static string Of(params object?[] args) => ArgumentDigest.Of(args);

        Assert.Equal(Of(new JobSubmission("{\"rounds\":3}")), Of(new JobSubmission("{\"rounds\":3}")));
        Assert.NotEqual(Of(new JobSubmission("{\"rounds\":3}")), Of(new JobSubmission("{\"rounds\":4}")));
        Assert.NotEqual(Of(1L), Of(2L));
        Assert.NotEqual(Of("ab", "c"), Of("a", "bc")); // lengths keep the arguments apart
        Assert.Equal(Of(), Of(CancellationToken.None)); // a cancellation token is local to each side
    }

    [Fact]
    public void Bad_keys_and_roles_in_configuration_are_named()
    {
        var options = new AuthOptions { Enabled = true, ClientKeys = { ["op"] = "short" }, ClientRoles = { ["op"] = "operator" } };
        Assert.Contains("key 'op' must be base64", string.Join("\n", options.Problems()));
        Assert.Contains("ClientKeys must hold", string.Join("\n", new AuthOptions { Enabled = true }.Problems()));
        var noRole = new AuthOptions { Enabled = true, ClientKeys = { ["alice"] = Convert.ToBase64String(Key) } };
        Assert.Contains("ClientRoles:alice must be operator, submitter, viewer or site-admin:SITE (it is 'not set')", string.Join("\n", noRole.Problems()));
        var badRole = new AuthOptions { Enabled = true, ClientKeys = { ["alice"] = Convert.ToBase64String(Key) }, ClientRoles = { ["alice"] = "root", ["bob"] = "viewer" } };
        Assert.Contains("(it is 'root')", string.Join("\n", badRole.Problems()));
        Assert.Contains("ClientRoles:bob names no key", string.Join("\n", badRole.Problems()));
        Assert.Throws<ArgumentException>(() => Signatures.ParseCredential("no-secret"));
    }
}

using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Learning.Tests.SecureAggregation;

public sealed class ShamirSharingTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 5)]
    [InlineData(7, 12)]
    public void Any_threshold_of_the_shares_recover_the_secret(int threshold, int count)
    {
        var secret = ShamirSharing.NewSecret();
        var shares = ShamirSharing.Split(secret, threshold, Enumerable.Range(1, count).ToArray());
        var random = new Random(threshold * 31 + count);
        for (int trial = 0; trial < 20; trial++)
        {
            var subset = shares.OrderBy(_ => random.Next()).Take(threshold).ToList();
            Assert.Equal(secret, ShamirSharing.Combine(subset, threshold));
        }
    }

    [Fact]
    public void The_field_inverse_agrees_with_fermats_little_theorem()
    {
        var prime = System.Numerics.BigInteger.Pow(2, 127) - 1;
        var random = new Random(9);
        var bytes = new byte[16];
        foreach (var _ in Enumerable.Range(0, 50))
        {
            random.NextBytes(bytes);
            var a = new System.Numerics.BigInteger(bytes, isUnsigned: true) % prime;
            if (a.IsZero) continue;
            Assert.Equal(System.Numerics.BigInteger.ModPow(a, prime - 2, prime), ShamirSharing.Inverse(a));
        }
        Assert.Equal(System.Numerics.BigInteger.One, ShamirSharing.Inverse(1));
        Assert.Equal(prime - 1, ShamirSharing.Inverse(prime - 1)); // -1 is its own inverse
        Assert.Throws<ArgumentException>(() => ShamirSharing.Inverse(prime));
    }

    [Fact]
    public void Fewer_shares_than_the_threshold_do_not_give_the_secret()
    {
        var secret = ShamirSharing.NewSecret();
        var shares = ShamirSharing.Split(secret, 4, [1, 2, 3, 4, 5, 6]);
        // Three shares interpolate another polynomial, whose constant is (but for a 2^-127 chance) not the secret.
        byte[]? recovered = null;
        try { recovered = ShamirSharing.Combine(shares.Take(3).ToList()); } catch (ArgumentException) { }
        Assert.NotEqual(secret, recovered);
    }

    [Fact]
    public void Bad_arguments_are_refused_with_the_reason()
    {
        Assert.Contains("threshold", Assert.Throws<ArgumentException>(() => ShamirSharing.Split(new byte[16], 4, [1, 2, 3])).Message);
        Assert.Contains("distinct", Assert.Throws<ArgumentException>(() => ShamirSharing.Split(new byte[16], 2, [1, 1, 2])).Message);
        Assert.Contains("16 bytes", Assert.Throws<ArgumentException>(() => ShamirSharing.Split(new byte[32], 1, [1])).Message);
        // 2^127 - 1 itself is not a field element: it would be shared as 0.
        Assert.Contains("below 2^127 - 1", Assert.Throws<ArgumentException>(() => ShamirSharing.Split([0x7f, .. Enumerable.Repeat((byte)0xff, 15)], 1, [1])).Message);
        var shares = ShamirSharing.Split(new byte[16], 2, [1, 2]);
        Assert.Contains("repeat", Assert.Throws<ArgumentException>(() => ShamirSharing.Combine([shares[0], shares[0]])).Message);
    }
}

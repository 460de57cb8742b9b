using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Grains.Interfaces;

// Carry the SecAgg+ messages across the wire, so the protocol's types stay in the Orleans-free Learning library.

[GenerateSerializer, Immutable, Alias("fedgrains.secagg-keys")]
public readonly struct SecAggKeysSurrogate(int index, byte[] cipherPublicKey, byte[] maskPublicKey, byte[] selfMaskCommitment, string? owner, byte[]? signer, byte[]? signature)
{
    [Id(0)] public readonly int Index = index;
    [Id(1)] public readonly byte[] CipherPublicKey = cipherPublicKey;
    [Id(2)] public readonly byte[] MaskPublicKey = maskPublicKey;
    [Id(3)] public readonly byte[] SelfMaskCommitment = selfMaskCommitment;
    [Id(4)] public readonly string? Owner = owner;
    [Id(5)] public readonly byte[]? Signer = signer;
    [Id(6)] public readonly byte[]? Signature = signature;
}

[RegisterConverter]
public sealed class SecAggKeysConverter : IConverter<SecAggKeys, SecAggKeysSurrogate>
{
    public SecAggKeys ConvertFromSurrogate(in SecAggKeysSurrogate s) => new(s.Index, s.CipherPublicKey, s.MaskPublicKey, s.SelfMaskCommitment, s.Owner, s.Signer, s.Signature);

    public SecAggKeysSurrogate ConvertToSurrogate(in SecAggKeys k) => new(k.Index, k.CipherPublicKey, k.MaskPublicKey, k.SelfMaskCommitment, k.Owner, k.Signer, k.Signature);
}

[GenerateSerializer, Immutable, Alias("fedgrains.secagg-share")]
public readonly struct EncryptedShareSurrogate(int from, int to, byte[] ciphertext, byte[] tag)
{
    [Id(0)] public readonly int From = from;
    [Id(1)] public readonly int To = to;
    [Id(2)] public readonly byte[] Ciphertext = ciphertext;
    [Id(3)] public readonly byte[] Tag = tag;
}

[RegisterConverter]
public sealed class EncryptedShareConverter : IConverter<EncryptedShare, EncryptedShareSurrogate>
{
    public EncryptedShare ConvertFromSurrogate(in EncryptedShareSurrogate s) => new(s.From, s.To, s.Ciphertext, s.Tag);

    public EncryptedShareSurrogate ConvertToSurrogate(in EncryptedShare e) => new(e.From, e.To, e.Ciphertext, e.Tag);
}

[GenerateSerializer, Immutable, Alias("fedgrains.secagg-unmask-request")]
public readonly struct UnmaskRequestSurrogate(int[] survivors, int[] dropped, int[]? signers, byte[][]? signatures)
{
    [Id(0)] public readonly int[] Survivors = survivors;
    [Id(1)] public readonly int[] Dropped = dropped;
    [Id(2)] public readonly int[]? Signers = signers;
    [Id(3)] public readonly byte[][]? Signatures = signatures;
}

[RegisterConverter]
public sealed class UnmaskRequestConverter : IConverter<UnmaskRequest, UnmaskRequestSurrogate>
{
    public UnmaskRequest ConvertFromSurrogate(in UnmaskRequestSurrogate s) => new(s.Survivors ?? [], s.Dropped ?? [],
        s.Signers is null || s.Signatures is null ? null
            : s.Signers.Length == s.Signatures.Length && s.Signers.Distinct().Count() == s.Signers.Length ? s.Signers.Zip(s.Signatures).ToDictionary(p => p.First, p => p.Second)
            : throw new InvalidDataException("an unmask request's signers and signatures do not pair up"));

    public UnmaskRequestSurrogate ConvertToSurrogate(in UnmaskRequest r) => new([.. r.Survivors], [.. r.Dropped],
        r.Signatures is null ? null : [.. r.Signatures.Keys], r.Signatures is null ? null : [.. r.Signatures.Values]);
}

/// <summary>Shares as (owner, x, y) triples: the owner is the gateway the secret belongs to.</summary>
[GenerateSerializer, Immutable, Alias("fedgrains.secagg-unmask-shares")]
public readonly struct UnmaskSharesSurrogate(int from, int[] selfOwners, int[] selfX, byte[][] selfY, int[] keyOwners, int[] keyX, byte[][] keyY)
{
    [Id(0)] public readonly int From = from;
    [Id(1)] public readonly int[] SelfOwners = selfOwners;
    [Id(2)] public readonly int[] SelfX = selfX;
    [Id(3)] public readonly byte[][] SelfY = selfY;
    [Id(4)] public readonly int[] KeyOwners = keyOwners;
    [Id(5)] public readonly int[] KeyX = keyX;
    [Id(6)] public readonly byte[][] KeyY = keyY;
}

[RegisterConverter]
public sealed class UnmaskSharesConverter : IConverter<UnmaskShares, UnmaskSharesSurrogate>
{
    public UnmaskShares ConvertFromSurrogate(in UnmaskSharesSurrogate s) => new(s.From, Shares(s.SelfOwners, s.SelfX, s.SelfY), Shares(s.KeyOwners, s.KeyX, s.KeyY));

    public UnmaskSharesSurrogate ConvertToSurrogate(in UnmaskShares u) => new(u.From,
        [.. u.SelfMaskShares.Keys], [.. u.SelfMaskShares.Values.Select(v => v.X)], [.. u.SelfMaskShares.Values.Select(v => v.Y)],
        [.. u.MaskKeyShares.Keys], [.. u.MaskKeyShares.Values.Select(v => v.X)], [.. u.MaskKeyShares.Values.Select(v => v.Y)]);

    private static Dictionary<int, ShamirShare> Shares(int[]? owners, int[]? x, byte[][]? y)
    {
        if (owners is null || x is null || y is null || owners.Length != x.Length || owners.Length != y.Length || owners.Distinct().Count() != owners.Length)
            throw new InvalidDataException("an unmask answer's shares are malformed (lengths differ, or a gateway's share is repeated)");
        return owners.Select((o, i) => (o, i)).ToDictionary(p => p.o, p => new ShamirShare(x[p.i], y[p.i]));
    }
}

using System.Buffers.Binary;
using System.Text;

namespace FedGrains.Learning.SecureAggregation;

/// <summary>Signs a gateway's SecAgg+ messages with a key the federation cannot forge (its site's certificate).</summary>
public interface ISecAggSigner
{
    /// <summary>Who signs (e.g. the DER of the site's certificate): sent with the keys and checked by an <see cref="ISecAggVerifier"/>.</summary>
    byte[] Signer { get; }

    byte[] Sign(byte[] message);
}

/// <summary>Checks a neighbour's signature, and that its signer may speak for that gateway.</summary>
public interface ISecAggVerifier
{
    /// <summary>True when <paramref name="signer"/> may speak for gateway <paramref name="owner"/> and made <paramref name="signature"/> over <paramref name="message"/>.</summary>
    bool Verify(string owner, byte[] signer, byte[] message, byte[] signature);
}

/// <summary>A gateway's identity in signed SecAgg+: its gateway id, how it signs, how it checks its neighbours.</summary>
public sealed record SecAggIdentity(string Owner, ISecAggSigner Signer, ISecAggVerifier Verifier);

/// <summary>
/// The messages signed in SecAgg+ against a malicious federation (Bell et al. 2020, section 5, after Bonawitz et al.
/// 2017, section 4.4): a gateway's round keys, bound to its gateway id, and the survivor set it is asked to unmask
/// for (the consistency check). Without them, a federation that lies about who survived could ask one neighbour for a
/// gateway's self-mask share and another for its mask-key share and so unmask that gateway's delta; and one that
/// makes up keys could pose as every neighbour of a gateway. Each field is length-prefixed, so no two messages share
/// their bytes.
/// </summary>
public static class SecAggSigned
{
    public static byte[] Keys(byte[] context, SecAggKeys keys) =>
        Fields("fedgrains.secagg.keys"u8.ToArray(), context, Int(keys.Index), Encoding.UTF8.GetBytes(keys.Owner ?? ""),
            keys.CipherPublicKey ?? [], keys.MaskPublicKey ?? [], keys.SelfMaskCommitment ?? []);

    /// <summary>The survivor set as one gateway signs it: bound to its own signed round keys, so one signature stands for one signer in one attempt.</summary>
    public static byte[] Survivors(byte[] context, SecAggKeys signer, IEnumerable<int> survivors) =>
        Fields("fedgrains.secagg.survivors"u8.ToArray(), context, System.Security.Cryptography.SHA256.HashData(Keys(context, signer)), signer.Signature ?? [],
            [.. survivors.Order().SelectMany(Int)]);

    private static byte[] Int(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] Fields(params byte[][] fields) => [.. fields.SelectMany(f => Int(f.Length).Concat(f))];
}

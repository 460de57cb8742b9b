namespace FedGrains.Learning.SecureAggregation;

/// <summary>What every party of one SecAgg+ round agrees on.</summary>
/// <param name="Bits">Values are summed mod 2^Bits (1..32).</param>
/// <param name="Threshold">Shares needed to recover a gateway's secret (t); up to Neighbours - Threshold of a gateway's neighbours may drop.</param>
/// <param name="Neighbours">The most neighbours a gateway may have (k). t > k / 2 is what keeps a federation from
/// asking two disjoint groups of t neighbours for the two kinds of one gateway's shares, so a gateway takes part with
/// no more than k.</param>
/// <param name="Length">The length of every encoded vector.</param>
/// <param name="Context">Names this round and attempt (job, round, attempt): bound into every key derivation and
/// encryption, so nothing from one round or retry can be replayed into another.</param>
public sealed record SecAggParameters(int Bits, int Threshold, int Neighbours, int Length, byte[] Context)
{
    /// <summary>Refuses parameters under which the protocol cannot hide an input.</summary>
    public void Check()
    {
        ModularArithmetic.Mask(Bits);
        if (Threshold < 1 || Neighbours < Threshold || 2 * Threshold <= Neighbours)
            throw new ArgumentException($"threshold {Threshold} must be more than half the neighbours ({Neighbours}) and at most all of them");
    }
}

/// <summary>
/// A gateway's two public keys for one round: one to encrypt shares to it, one for the pairwise masks (X25519, 32
/// bytes each), and its commitment to its self-mask seed (<see cref="SelfMaskCommitment.Of"/>), against which the seed
/// rebuilt from shares is checked: one altered share cannot spoil the sum unnoticed. Signed (<see cref="SecAggSigned.Keys"/>)
/// when the gateway has an identity: its gateway id, its signer and the signature.
/// </summary>
public sealed record SecAggKeys(int Index, byte[] CipherPublicKey, byte[] MaskPublicKey, byte[] SelfMaskCommitment,
    string? Owner = null, byte[]? Signer = null, byte[]? Signature = null);

/// <summary>
/// SHA-256 over the round's context, the owner's index and its self-mask seed: binding (a different seed would need a
/// SHA-256 collision) and, with a 256-bit random seed, hiding. Fixed by the gateway before any share is sent.
/// </summary>
public static class SelfMaskCommitment
{
    public static byte[] Of(byte[] context, int owner, byte[] seed) =>
        System.Security.Cryptography.SHA256.HashData([.. "fedgrains.secagg.self-mask|"u8, .. context, .. BitConverter.GetBytes(owner), .. seed]);
}

/// <summary>A gateway's Shamir shares for one neighbour, AES-GCM-encrypted to it; the federation only relays it.</summary>
public sealed record EncryptedShare(int From, int To, byte[] Nonce, byte[] Ciphertext, byte[] Tag);

/// <summary>
/// The federation's request after the masked inputs: self-mask shares of the survivors, mask-key shares of the
/// dropped. In signed rounds it carries the survivors' signatures of this survivor set (index to signature), so each
/// gateway can see that its neighbours were told the same set.
/// </summary>
public sealed record UnmaskRequest(IReadOnlyList<int> Survivors, IReadOnlyList<int> Dropped, IReadOnlyDictionary<int, byte[]>? Signatures = null);

/// <summary>A gateway's answer to an <see cref="UnmaskRequest"/>, keyed by the gateway each share belongs to.</summary>
public sealed record UnmaskShares(int From, IReadOnlyDictionary<int, ShamirShare> SelfMaskShares, IReadOnlyDictionary<int, ShamirShare> MaskKeyShares);

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
    string? Owner = null, byte[]? Signer = null, byte[]? Signature = null)
{
    /// <summary>Its size on the wire: the index, both keys, the commitment and, when signed, owner, signer and signature.</summary>
    public long WireBytes => sizeof(int) + (CipherPublicKey?.Length ?? 0) + (MaskPublicKey?.Length ?? 0) + (SelfMaskCommitment?.Length ?? 0)
        + System.Text.Encoding.UTF8.GetByteCount(Owner ?? "") + (Signer?.Length ?? 0) + (Signature?.Length ?? 0);
}

/// <summary>
/// SHA-256 over the round's context, the owner's index and its self-mask seed: binding (a different seed would need a
/// SHA-256 collision) and, with a random 127-bit seed (a Shamir field element), hiding: guessing it is a 2^127 search. Fixed by the gateway before any share is sent.
/// </summary>
public static class SelfMaskCommitment
{
    public static byte[] Of(byte[] context, int owner, byte[] seed) =>
        System.Security.Cryptography.SHA256.HashData([.. "fedgrains.secagg.self-mask|"u8, .. context, .. BitConverter.GetBytes(owner), .. seed]);
}

/// <summary>
/// A gateway's two Shamir shares for one neighbour, AES-GCM-encrypted to it; the federation only relays it. No nonce
/// travels: the key is the pair's for this round only, and the nonce is the direction (from, to), so it is never reused.
/// </summary>
public sealed record EncryptedShare(int From, int To, byte[] Ciphertext, byte[] Tag)
{
    /// <summary>Its size on the wire: ciphertext, tag and the receiver's index (the sender is the caller).</summary>
    public long WireBytes => (Ciphertext?.Length ?? 0) + (Tag?.Length ?? 0) + sizeof(int);
}

/// <summary>
/// The federation's request after the masked inputs: self-mask shares of the survivors, mask-key shares of the
/// dropped. In signed rounds it carries the survivors' signatures of this survivor set (index to signature), so each
/// gateway can see that its neighbours were told the same set.
/// </summary>
public sealed record UnmaskRequest(IReadOnlyList<int> Survivors, IReadOnlyList<int> Dropped, IReadOnlyDictionary<int, byte[]>? Signatures = null);

/// <summary>A gateway's answer to an <see cref="UnmaskRequest"/>, keyed by the gateway each share belongs to.</summary>
public sealed record UnmaskShares(int From, IReadOnlyDictionary<int, ShamirShare> SelfMaskShares, IReadOnlyDictionary<int, ShamirShare> MaskKeyShares)
{
    /// <summary>Its size on the wire: per share, the owner's index and the 16-byte value (the point is the sender's index).</summary>
    public long WireBytes => ((SelfMaskShares?.Count ?? 0) + (MaskKeyShares?.Count ?? 0)) * (long)(sizeof(int) + ShamirSharing.SecretBytes);
}

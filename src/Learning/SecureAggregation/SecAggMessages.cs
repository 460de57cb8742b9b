namespace FedGrains.Learning.SecureAggregation;

/// <summary>What every party of one SecAgg+ round agrees on.</summary>
/// <param name="Bits">Values are summed mod 2^Bits (1..32).</param>
/// <param name="Threshold">Shares needed to recover a gateway's secret (t); up to Neighbours - Threshold of a gateway's neighbours may drop.</param>
/// <param name="Length">The length of every encoded vector.</param>
/// <param name="Context">Names this round and attempt (job, round, attempt): bound into every key derivation and
/// encryption, so nothing from one round or retry can be replayed into another.</param>
public sealed record SecAggParameters(int Bits, int Threshold, int Length, byte[] Context);

/// <summary>A gateway's two public keys for one round: one to encrypt shares to it, one for the pairwise masks (DER SubjectPublicKeyInfo).</summary>
public sealed record SecAggKeys(int Index, byte[] CipherPublicKey, byte[] MaskPublicKey);

/// <summary>A gateway's Shamir shares for one neighbour, AES-GCM-encrypted to it; the federation only relays it.</summary>
public sealed record EncryptedShare(int From, int To, byte[] Nonce, byte[] Ciphertext, byte[] Tag);

/// <summary>The federation's request after the masked inputs: self-mask shares of the survivors, mask-key shares of the dropped.</summary>
public sealed record UnmaskRequest(IReadOnlyList<int> Survivors, IReadOnlyList<int> Dropped);

/// <summary>A gateway's answer to an <see cref="UnmaskRequest"/>, keyed by the gateway each share belongs to.</summary>
public sealed record UnmaskShares(int From, IReadOnlyDictionary<int, ShamirShare> SelfMaskShares, IReadOnlyDictionary<int, ShamirShare> MaskKeyShares);

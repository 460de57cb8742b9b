using System.Buffers.Binary;
using System.Security.Cryptography;

namespace FedGrains.Learning.SecureAggregation;

/// <summary>
/// A gateway's side of one SecAgg+ round (Bell et al. 2020, "Secure Single-Server Aggregation with (Poly)Logarithmic
/// Overhead", Algorithm 2; Bonawitz et al. 2017 for k = n - 1). Stages run once each, in order: advertise keys, share
/// keys, mask the input, answer the unmask request. A fresh participant, with fresh keys and seeds, is made for every
/// round and every retry, so no mask is ever reused.
/// </summary>
/// <remarks>
/// The gateway's masked input is y = x + PRG(b) + sum over neighbours v of +-PRG(s_uv) (mod 2^bits), + when u &lt; v.
/// The federation learns the sum only: pairwise masks cancel between survivors, and it removes the self masks with
/// the survivors' b recovered from t shares. The one rule that keeps every single input hidden is enforced here, not
/// trusted to the federation: for any gateway, this participant reveals either its self-mask share (it survived) or
/// its mask-key share (it dropped), never both, and it answers one unmask request only.
/// </remarks>
public sealed class SecAggParticipant : IDisposable
{
    private readonly int _index;
    private readonly SecAggParameters _parameters;
    private readonly X25519Key _cipherKey = SecAggKeyAgreement.NewKeyPair();
    /// <summary>The mask key is made from a field-sized secret, so the secret (not the 32-byte private key) is what is shared.</summary>
    private readonly byte[] _maskKeySecret = ShamirSharing.NewSecret();
    private readonly X25519Key _maskKey;
    private readonly byte[] _selfMaskSeed = ShamirSharing.NewSecret();
    /// <summary>Per neighbour, its relayed keys, the key its shares travel under both ways and the seed of the pairwise mask (stage 2 derives both: one agreement per key).</summary>
    private Dictionary<int, (SecAggKeys Keys, byte[] ShareKey, byte[] MaskSeed)>? _neighbours;
    private Dictionary<int, (ShamirShare SelfMask, ShamirShare MaskKey)>? _held;
    private readonly SecAggIdentity? _identity;
    private int[]? _signedSurvivors;
    private SecAggKeys? _ownKeys;
    private Stage _stage = Stage.New;

    private enum Stage { New, Advertised, Shared, Masked, Consistent, Unmasked, Disposed }

    /// <summary>Bounds the work one relayed list can cause (Shamir sharing is O(neighbours x threshold)).</summary>
    public const int MaxNeighbours = 4096;

    /// <param name="identity">
    /// Signed SecAgg+ (against a malicious federation): this gateway signs its keys and the survivor set, and takes
    /// part only with neighbours whose keys and signatures its verifier accepts. Null: the federation is trusted to
    /// relay honestly (honest-but-curious).
    /// </param>
    public SecAggParticipant(int index, SecAggParameters parameters, SecAggIdentity? identity = null)
    {
        _maskKey = SecAggKeyAgreement.MaskKeyPair(_maskKeySecret);
        if (index < 1) { Dispose(); throw new ArgumentOutOfRangeException(nameof(index), index, "cohort indices start at 1"); }
        try { parameters.Check(); }
        catch (ArgumentException) { Dispose(); throw; }
        _index = index;
        _parameters = parameters;
        _identity = identity;
    }

    /// <summary>Stage 1: this round's public keys.</summary>
    public SecAggKeys AdvertiseKeys()
    {
        Advance(Stage.New, Stage.Advertised);
        var keys = new SecAggKeys(_index, _cipherKey.PublicKey.ToArray(), _maskKey.PublicKey.ToArray(),
            SelfMaskCommitment.Of(_parameters.Context, _index, _selfMaskSeed));
        if (_identity is null) return keys;
        keys = keys with { Owner = _identity.Owner, Signer = _identity.Signer.Signer };
        return _ownKeys = keys with { Signature = _identity.Signer.Sign(SecAggSigned.Keys(_parameters.Context, keys)) };
    }

    /// <summary>Stage 2: t-of-k shares of the self-mask seed and of the mask key, one encrypted bundle per neighbour.</summary>
    /// <param name="neighbours">The keys of the neighbours that advertised, as the federation relays them.</param>
    public IReadOnlyList<EncryptedShare> ShareKeys(IReadOnlyList<SecAggKeys> neighbours)
    {
        Advance(Stage.Advertised, Stage.Shared);
        if (neighbours.Count > Math.Min(MaxNeighbours, _parameters.Neighbours))
            throw new InvalidDataException($"{neighbours.Count} neighbours relayed, more than the {_parameters.Neighbours} of this round: two groups of the threshold {_parameters.Threshold} among them could be asked for the two kinds of this gateway's shares, so it takes no part");
        if (neighbours.Any(k => k is null || k.Index < 1 || k.Index == _index) || neighbours.Select(k => k.Index).Distinct().Count() != neighbours.Count)
            throw new InvalidDataException("the relayed neighbour keys repeat a gateway or include this one");
        if (neighbours.Count < _parameters.Threshold)
            throw new InvalidOperationException($"only {neighbours.Count} neighbours advertised keys, fewer than the threshold {_parameters.Threshold}: the round cannot hide this input");
        if (_identity is not null) CheckSigned(neighbours);
        _neighbours = [];
        foreach (var k in neighbours) // kept as derived, so Dispose zeroes them even when a later neighbour's key is refused
            _neighbours[k.Index] = (k, SecAggKeyAgreement.Derive(_cipherKey, k.CipherPublicKey, "share", _parameters.Context, _index, k.Index),
                SecAggKeyAgreement.Derive(_maskKey, k.MaskPublicKey, "mask", _parameters.Context, _index, k.Index));
        var points = neighbours.Select(k => k.Index).ToArray();
        var selfShares = ShamirSharing.Split(_selfMaskSeed, _parameters.Threshold, points);
        var keyShares = ShamirSharing.Split(_maskKeySecret, _parameters.Threshold, points);
        var sent = new EncryptedShare[points.Length];
        for (int i = 0; i < points.Length; i++)
        {
            // Just the two field elements: who sent it to whom is bound by the AAD and the nonce, not repeated inside.
            var plaintext = new byte[2 * ShamirSharing.SecretBytes];
            selfShares[i].Y.CopyTo(plaintext, 0);
            keyShares[i].Y.CopyTo(plaintext, ShamirSharing.SecretBytes);
            sent[i] = Encrypt(points[i], plaintext);
            CryptographicOperations.ZeroMemory(selfShares[i].Y);
            CryptographicOperations.ZeroMemory(keyShares[i].Y);
        }
        return sent;
    }

    /// <summary>Stage 3: the masked input. It masks with exactly the neighbours whose shares it received.</summary>
    public uint[] MaskInput(ReadOnlySpan<uint> encoded, IReadOnlyList<EncryptedShare> received)
    {
        Advance(Stage.Shared, Stage.Masked);
        if (encoded.Length != _parameters.Length) throw new ArgumentException($"an encoded input of {encoded.Length} values where the round expects {_parameters.Length}");
        _held = new Dictionary<int, (ShamirShare, ShamirShare)>();
        foreach (var share in received)
        {
            if (share.To != _index || !_neighbours!.ContainsKey(share.From) || _held.ContainsKey(share.From))
                throw new InvalidDataException($"a relayed share from gateway {share.From} to {share.To} is not for this gateway from one of its neighbours, once");
            _held[share.From] = Decrypt(share);
        }
        if (_held.Count < _parameters.Threshold)
            throw new InvalidOperationException($"only {_held.Count} neighbours shared keys, fewer than the threshold {_parameters.Threshold}");
        var masked = encoded.ToArray();
        uint keep = ModularArithmetic.Mask(_parameters.Bits);
        for (int i = 0; i < masked.Length; i++) masked[i] &= keep;
        ModularArithmetic.AddInPlace(masked, MaskStream.Expand(_selfMaskSeed, masked.Length, _parameters.Bits), _parameters.Bits);
        foreach (var v in _held.Keys)
            ModularArithmetic.AddInPlace(masked, MaskStream.Expand(_neighbours![v].MaskSeed, masked.Length, _parameters.Bits), _parameters.Bits, subtract: _index > v);
        return masked;
    }

    /// <summary>
    /// Stage 4: the shares the federation needs, and never both kinds for one gateway. Which neighbours dropped is
    /// worked out here (those whose shares it holds that are not survivors), not taken from the request; and at least
    /// the threshold of its own neighbours must be among the survivors, so a request cannot single it out.
    /// </summary>
    public UnmaskShares Unmask(UnmaskRequest request)
    {
        if (_identity is null) Advance(Stage.Masked, Stage.Unmasked);
        else
        {
            Advance(Stage.Consistent, Stage.Unmasked);
            CheckConsistent(request);
        }
        if (request.Survivors.Intersect(request.Dropped).Any() || request.Survivors.Distinct().Count() != request.Survivors.Count || request.Dropped.Distinct().Count() != request.Dropped.Count)
            throw new InvalidDataException("the unmask request names a gateway twice, or as both survivor and dropped: answering would reveal its input");
        if (!request.Survivors.Contains(_index))
            throw new InvalidDataException("the unmask request does not count this gateway among the survivors");
        // A sum of one input is that input: never unmasked, whatever the threshold.
        if (request.Survivors.Count < Math.Max(2, _parameters.Threshold))
            throw new InvalidOperationException($"only {request.Survivors.Count} gateways survived, fewer than {Math.Max(2, _parameters.Threshold)} (the threshold {_parameters.Threshold}, and never fewer than 2): the round is aborted");
        var survivors = request.Survivors.ToHashSet();
        int neighboursSurviving = _held!.Keys.Count(survivors.Contains);
        if (neighboursSurviving < _parameters.Threshold)
            throw new InvalidOperationException($"only {neighboursSurviving} of this gateway's neighbours are among the survivors, fewer than the threshold {_parameters.Threshold}: the round is aborted");
        // Copies: Dispose zeroes the shares this participant holds, and the answer outlives it.
        var selfMask = _held.Keys.Where(survivors.Contains).ToDictionary(v => v, v => _held[v].SelfMask with { Y = [.. _held[v].SelfMask.Y] });
        var maskKey = _held.Keys.Where(v => !survivors.Contains(v)).ToDictionary(v => v, v => _held[v].MaskKey with { Y = [.. _held[v].MaskKey.Y] });
        return new UnmaskShares(_index, selfMask, maskKey);
    }

    /// <summary>
    /// Signed rounds, between the masked input and the unmasking (Bell et al.'s consistency check): signs the survivor
    /// set the federation announces, once. The unmask request must then name this very set and carry the signatures
    /// of at least the threshold of this gateway's neighbours over it.
    /// </summary>
    public byte[] SignSurvivors(IReadOnlyList<int> survivors)
    {
        if (_identity is null) throw new InvalidOperationException("this round is not signed: there is no survivor set to sign");
        Advance(Stage.Masked, Stage.Consistent);
        var set = survivors.Order().ToArray();
        if (set.Distinct().Count() != set.Length || !set.Contains(_index))
            throw new InvalidDataException("the announced survivors repeat a gateway or leave this one out");
        _signedSurvivors = set;
        return _identity.Signer.Sign(SecAggSigned.Survivors(_parameters.Context, _ownKeys!, set));
    }

    /// <summary>Every relayed key is signed by a signer the verifier accepts for its gateway, and no gateway appears twice.</summary>
    private void CheckSigned(IReadOnlyList<SecAggKeys> neighbours)
    {
        foreach (var k in neighbours)
            if (k.Owner is not { Length: > 0 } || k.Signer is null || k.Signature is null || k.Owner == _identity!.Owner
                || !_identity.Verifier.Verify(k.Owner, k.Signer, SecAggSigned.Keys(_parameters.Context, k), k.Signature))
                throw new InvalidDataException($"the keys relayed for neighbour {k.Index} ('{k.Owner}') are not signed for that gateway: the federation may have made them up, so this gateway takes no part");
        if (neighbours.Select(k => k.Owner).Distinct().Count() != neighbours.Count)
            throw new InvalidDataException("the relayed keys name one gateway under two indices: this gateway takes no part");
        // A signer (a site) other than this gateway's own answers for all its gateways: if it colludes with the
        // federation, its c neighbours give both kinds of shares, and two groups of honest neighbours of t - c each
        // then suffice, which fit among m neighbours once c >= 2t - m. So no other site may hold that many.
        int m = neighbours.Count, t = _parameters.Threshold;
        foreach (var site in neighbours.Where(k => !k.Signer!.AsSpan().SequenceEqual(_identity!.Signer.Signer)).GroupBy(k => Convert.ToHexString(k.Signer!)))
            if (site.Count() >= 2 * t - m)
                throw new InvalidDataException($"one site signs {site.Count()} of this gateway's {m} neighbours ({string.Join(", ", site.Select(k => k.Owner))}); with threshold {t}, that site and the federation together could rebuild both of this gateway's secrets, so it takes no part: raise aggregation.secure.threshold to at least {(m + site.Count()) / 2 + 1}, or give each site fewer gateways");
    }

    /// <summary>The request names the survivor set this gateway signed, with valid signatures over it from at least t of its neighbours.</summary>
    private void CheckConsistent(UnmaskRequest request)
    {
        if (!request.Survivors.Order().SequenceEqual(_signedSurvivors!))
            throw new InvalidDataException("the unmask request names other survivors than the set this gateway signed: the federation told gateways different sets, so nothing is revealed");
        int valid = 0;
        foreach (var (v, signature) in request.Signatures ?? new Dictionary<int, byte[]>())
        {
            if (!_held!.ContainsKey(v) || !_signedSurvivors!.Contains(v)) continue; // not a surviving neighbour: not this gateway's to check
            var keys = _neighbours![v].Keys;
            if (signature is null || !_identity!.Verifier.Verify(keys.Owner!, keys.Signer!, SecAggSigned.Survivors(_parameters.Context, keys, _signedSurvivors!), signature))
                throw new InvalidDataException($"neighbour {v}'s signature of the survivor set does not verify: nothing is revealed");
            valid++;
        }
        if (valid < _parameters.Threshold)
            throw new InvalidOperationException($"only {valid} of this gateway's neighbours signed the survivor set, fewer than the threshold {_parameters.Threshold}: nothing is revealed");
    }

    public void Dispose()
    {
        _stage = Stage.Disposed; // no stage runs on the zeroed secrets
        foreach (var (selfMask, maskKey) in _held?.Values ?? Enumerable.Empty<(ShamirShare, ShamirShare)>())
        {
            CryptographicOperations.ZeroMemory(selfMask.Y);
            CryptographicOperations.ZeroMemory(maskKey.Y);
        }
        _cipherKey.Dispose();
        _maskKey.Dispose();
        CryptographicOperations.ZeroMemory(_selfMaskSeed);
        CryptographicOperations.ZeroMemory(_maskKeySecret);
        foreach (var (_, shareKey, maskSeed) in _neighbours?.Values ?? Enumerable.Empty<(SecAggKeys, byte[], byte[])>())
        {
            CryptographicOperations.ZeroMemory(shareKey);
            CryptographicOperations.ZeroMemory(maskSeed);
        }
    }

    private void Advance(Stage from, Stage to)
    {
        if (_stage != from) throw new InvalidOperationException($"SecAgg+ stage {to} asked of a participant at stage {_stage}: each stage runs once, in order");
        _stage = to;
    }

    private EncryptedShare Encrypt(int to, byte[] plaintext)
    {
        var ciphertext = new byte[plaintext.Length];
        var tag = new byte[TagBytes];
        using (var aes = new AesGcm(_neighbours![to].ShareKey, tag.Length)) aes.Encrypt(Nonce(_index, to), plaintext, ciphertext, tag, Envelope(_index, to));
        CryptographicOperations.ZeroMemory(plaintext);
        return new EncryptedShare(_index, to, ciphertext, tag);
    }

    private (ShamirShare, ShamirShare) Decrypt(EncryptedShare share)
    {
        if (share.Tag is not { Length: TagBytes } || share.Ciphertext is not { Length: 2 * ShamirSharing.SecretBytes })
            throw new InvalidDataException($"the share from gateway {share.From} is malformed (a share holds {2 * ShamirSharing.SecretBytes} bytes and a {TagBytes}-byte tag)");
        var plaintext = new byte[share.Ciphertext.Length];
        try
        {
            using var aes = new AesGcm(_neighbours![share.From].ShareKey, TagBytes);
            aes.Decrypt(Nonce(share.From, _index), share.Ciphertext, share.Tag, plaintext, Envelope(share.From, _index));
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new InvalidDataException($"the share from gateway {share.From} does not decrypt: it was altered, or made for another round");
        }
        var selfMask = new ShamirShare(_index, plaintext[..ShamirSharing.SecretBytes]);
        var maskKey = new ShamirShare(_index, plaintext[ShamirSharing.SecretBytes..]);
        CryptographicOperations.ZeroMemory(plaintext);
        if (!ShamirSharing.InField(selfMask.Y) || !ShamirSharing.InField(maskKey.Y))
            throw new InvalidDataException($"the share from gateway {share.From} is not a field element");
        return (selfMask, maskKey);
    }

    private const int TagBytes = 16;

    /// <summary>
    /// The AES-GCM nonce: the direction (from, to). The share key is this pair's for this round and attempt only
    /// (derived with the round's context) and each direction encrypts once, so a nonce is never used twice under a key.
    /// </summary>
    private static byte[] Nonce(int from, int to)
    {
        var nonce = new byte[12];
        BinaryPrimitives.WriteInt32BigEndian(nonce, from);
        BinaryPrimitives.WriteInt32BigEndian(nonce.AsSpan(4), to);
        return nonce;
    }

    private byte[] Envelope(int from, int to)
    {
        var aad = new byte[8 + _parameters.Context.Length];
        BinaryPrimitives.WriteInt32BigEndian(aad, from);
        BinaryPrimitives.WriteInt32BigEndian(aad.AsSpan(4), to);
        _parameters.Context.CopyTo(aad, 8);
        return aad;
    }
}

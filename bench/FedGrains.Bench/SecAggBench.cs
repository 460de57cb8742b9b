using System.Diagnostics;
using System.Globalization;
using FedGrains.Learning.SecureAggregation;

namespace FedGrains.Bench;

/// <summary>
/// `secagg [MAX-CLASSIC]`: one SecAgg+ round in memory (the protocol of src/Learning/SecureAggregation, no cluster)
/// for 10, 100 and 1,000 gateways with a 10,000-parameter update at 20 bits, SecAgg+ (k = 2 ceil(log2 n)) against
/// classic SecAgg (k = n - 1, run up to MAX-CLASSIC gateways, default 100: it is quadratic), 5 % of the gateways
/// dropping after the masked input. Prints the compute per gateway and at the federation against a plain sum of the
/// same b-bit quantized updates, and the upload bytes per gateway (keys, commitment, shares, masked input, unmask
/// answer, as counted by the messages' WireBytes) against the b-bit upload alone.
/// </summary>
internal static class SecAggBench
{
    private const int Length = 10_000, Bits = 20;

    public static int Run(string[] args)
    {
        int maxClassic = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100;
        Console.WriteLine($"secure sum of {Length:N0} values at {Bits} bits, 5 % of gateways dropping after their masked input; one core, in memory:");
        Console.WriteLine("  gateways  graph     k   threshold  ms/gateway  federation ms  plain-sum ms  upload B/gateway  vs b-bit upload");
        foreach (int n in new[] { 10, 100, 1000 })
        {
            foreach (var classic in new[] { false, true })
            {
                if (classic && n > maxClassic) { Console.WriteLine($"  {n,8}  classic   (not run: quadratic; pass MAX-CLASSIC >= {n} to run it)"); continue; }
                int k = classic ? n - 1 : NeighbourGraph.LogarithmicDegree(n);
                int threshold = Math.Max(2, (int)Math.Ceiling(k * 0.6));
                var (perGateway, federation, plain, upload) = Measure(n, k, threshold);
                double plainUpload = Length * Bits / 8.0;
                Console.WriteLine($"  {n,8}  {(classic ? "classic" : "SecAgg+"),-8} {k,4}  {threshold,9}  {perGateway,10:F1}  {federation,13:F1}  {plain,12:F2}  {upload,16:N0}  {upload / plainUpload,14:F3}x");
            }
        }
        return 0;
    }

    private static (double PerGateway, double Federation, double PlainSum, double UploadBytes) Measure(int n, int k, int threshold)
    {
        var random = new Random(n * 7 + k);
        var parameters = new SecAggParameters(Bits, threshold, k, Length, "bench/1/0"u8.ToArray());
        var graph = NeighbourGraph.Build(n, k, random);
        var aggregator = new SecAggAggregator(parameters, graph);
        var participants = Enumerable.Range(1, n).ToDictionary(i => i, i => new SecAggParticipant(i, parameters));
        var inputs = participants.Keys.ToDictionary(i => i, _ => Enumerable.Range(0, Length).Select(_ => (uint)random.Next(1 << Bits)).ToArray());
        var dropped = participants.Keys.OrderBy(_ => random.Next()).Take(n / 20).ToHashSet();
        var gatewayClock = new Stopwatch();
        var federationClock = new Stopwatch();
        long upload = 0;

        T AtGateway<T>(Func<T> work) { gatewayClock.Start(); try { return work(); } finally { gatewayClock.Stop(); } }
        T AtFederation<T>(Func<T> work) { federationClock.Start(); try { return work(); } finally { federationClock.Stop(); } }

        var advertised = participants.ToDictionary(p => p.Key, p => AtGateway(p.Value.AdvertiseKeys));
        upload += advertised.Values.Sum(a => a.WireBytes);
        var keys = AtFederation(() => aggregator.RouteKeys(advertised));
        var sent = keys.ToDictionary(p => p.Key, p => AtGateway(() => participants[p.Key].ShareKeys(p.Value)));
        upload += sent.Values.SelectMany(s => s).Sum(s => s.WireBytes);
        var routed = AtFederation(() => aggregator.RouteShares(sent));
        var masked = routed.ToDictionary(p => p.Key, p => AtGateway(() => participants[p.Key].MaskInput(inputs[p.Key], p.Value)));
        upload += (long)(masked.Count * Length * Bits / 8.0);
        foreach (var i in dropped) masked.Remove(i);
        var request = AtFederation(() => aggregator.RequestUnmask(masked));
        var answers = request.Survivors.ToDictionary(i => i, i => AtGateway(() => participants[i].Unmask(request)));
        upload += answers.Values.Sum(a => a.WireBytes);
        var sum = AtFederation(() => aggregator.Unmask(answers));

        var plainClock = Stopwatch.StartNew();
        var plain = new uint[Length];
        foreach (var y in masked.Keys) ModularArithmetic.AddInPlace(plain, inputs[y], Bits);
        plainClock.Stop();
        if (!plain.AsSpan().SequenceEqual(sum)) throw new InvalidOperationException("the secure sum differs from the plain sum");
        foreach (var p in participants.Values) p.Dispose();
        return (gatewayClock.Elapsed.TotalMilliseconds / n, federationClock.Elapsed.TotalMilliseconds, plainClock.Elapsed.TotalMilliseconds, upload / (double)n);
    }
}

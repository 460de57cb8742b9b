namespace FedGrains.Cluster.Tests.Cli.BadInput;

/// <summary>Job specs and job flags that are syntactically fine but ask for something that cannot or must not run.</summary>
internal static class SpecCases
{
    private const string Spec = "{dir}/spec.json";

    private static BadInput Run(string name, string[] mustSay, params string[] args) =>
        new(name, ["run", .. args, "--output", "{dir}/out"], mustSay);

    private static BadInput SpecFile(string name, string json, params string[] mustSay) =>
        Run(name, mustSay, "--spec", Spec).With("spec.json", json);

    public static IEnumerable<BadInput> All() =>
    [
        SpecFile("duplicate privacy object", """{"rounds":1,"dataset":{"kind":"synthetic"},"privacy":{"noise_level":"sample"},"privacy":{"noise_level":"none"}}""", "privacy"),
        SpecFile("noise level in capitals", """{"rounds":1,"dataset":{"kind":"synthetic"},"privacy":{"noise_level":"SAMPLE"}}""", "noise_level"),
        SpecFile("empty gateway list", """{"rounds":1,"dataset":{"kind":"synthetic"},"gateways":[]}""", "gateways"),
        SpecFile("gateway id with a slash", """{"rounds":1,"dataset":{"kind":"synthetic"},"gateways":[{"id":"a/b"}]}""", "id"),
        SpecFile("gateway id ..", """{"rounds":1,"dataset":{"kind":"synthetic"},"gateways":[{"id":".."}]}""", "id"),
        SpecFile("a 1 MB gateway id", $$"""{"rounds":1,"dataset":{"kind":"synthetic"},"gateways":[{"id":"{{new string('x', 1 << 20)}}"}]}""", "id"),
        SpecFile("not JSON", "{ rounds: ", "spec.json"),
        SpecFile("unknown field", """{"rounds":1,"dataset":{"kind":"synthetic"},"roundz":3}""", "roundz"),
        Run("zero rounds", ["rounds"], "--dataset", "synthetic", "--rounds", "0"),
        Run("batch above a gateway's examples", ["batch"], "--dataset", "synthetic", "--rounds", "1", "--batch-size", "1000000"),
        Run("delta not below 1/examples", ["delta"], "--dataset", "synthetic", "--rounds", "1", "--delta", "0.5"),
        Run("job id ..", ["--job-id"], "--dataset", "synthetic", "--rounds", "1", "--job-id", ".."),
        Run("empty job id", ["--job-id"], "--dataset", "synthetic", "--rounds", "1", "--job-id", ""),
        Run("noise multiplier 1e308", ["noise_multiplier", "1000"], "--dataset", "synthetic", "--rounds", "1", "--noise-multiplier", "1e308"),
        Run("target epsilon 1e300 (calibration used to hang)", ["target_epsilon", "100"], "--dataset", "synthetic", "--rounds", "1", "--epsilon", "1e300"),
        Run("a hundred million rounds (calibration used to hang)", ["steps", "rounds"], "--dataset", "synthetic", "--rounds", "100000000"),
        Run("a hidden width of two billion", ["memory", "model.hidden", "GiB"], "--dataset", "synthetic", "--rounds", "1", "--hidden", "2000000000"),
        SpecFile("a billion synthetic features", """{"rounds":1,"dataset":{"kind":"synthetic","synthetic_features":1000000000}}""", "memory", "synthetic_features"),
        SpecFile("a vocabulary of two billion tokens", """{"rounds":1,"model":{"kind":"text","vocabulary":2000000000},"dataset":{"kind":"synthetic-text"}}""", "memory", "vocabulary"),
        SpecFile("a batch_norm layer", """{"rounds":1,"model":{"layers":[{"type":"conv2d","out":8,"kernel":3},{"type":"batch_norm2d"},{"type":"flatten"},{"type":"linear","out":10}]}}""", "model.layers[1]", "group_norm"),
        SpecFile("a kernel larger than its input", """{"rounds":1,"model":{"layers":[{"type":"conv2d","out":8,"kernel":29},{"type":"flatten"},{"type":"linear","out":10}]}}""", "model.layers[0]", "kernel 29"),
        SpecFile("a layer list that does not end in one score per class", """{"rounds":1,"model":{"layers":[{"type":"flatten"},{"type":"linear","out":7}]}}""", "[7]", "10 classes"),
        SpecFile("a null layer", """{"rounds":1,"model":{"layers":[null]}}""", "model.layers[0]"),
        SpecFile("a hundred thousand layers", $$$"""{"rounds":1,"model":{"layers":[{{{string.Join(",", Enumerable.Repeat("""{"type":"relu"}""", 100_000))}}}]}}""", "256"),
        SpecFile("a layer list beside model.kind mlp", """{"rounds":1,"model":{"kind":"mlp","layers":[{"type":"flatten"},{"type":"linear","out":10}]}}""", "model.layers", "model.kind"),
        SpecFile("a null privacy section", """{"rounds":1,"privacy":null}""", "$.privacy", "null is not a value"),
        SpecFile("a null personalization section", """{"rounds":1,"personalization":null}""", "$.personalization", "leave the field out"),
        SpecFile("a null local layer name", """{"rounds":1,"model":{"local":[null]}}""", "model.local", "null"),
        SpecFile("a local layer that does not exist", """{"rounds":1,"model":{"local":["head"]}}""", "model.local", "'head'", "fc1, out"),
        SpecFile("every layer local", """{"rounds":1,"model":{"local":["fc1","out"]}}""", "model.local", "no layer to train together"),
        SpecFile("a personalization without local layers", """{"rounds":1,"personalization":{"held_out_fraction":0.3}}""", "personalization", "model.local"),
        SpecFile("a personal held-out fraction of a half and more", """{"rounds":1,"model":{"local":["out"]},"personalization":{"held_out_fraction":0.75}}""", "held_out_fraction", "(0, 0.5]"),
        SpecFile("a negative personal accuracy noise", """{"rounds":1,"model":{"local":["out"]},"personalization":{"accuracy_noise_multiplier":-5}}""", "accuracy_noise_multiplier", "0 releases nothing"),
        SpecFile("a linear layer of two billion outputs", """{"rounds":1,"model":{"layers":[{"type":"flatten"},{"type":"linear","out":2000000000},{"type":"linear","out":10}]}}""", "memory", "GiB"),
        SpecFile("initial weights that do not exist", """{"rounds":1,"dataset":{"kind":"synthetic"},"model":{"initial_weights":"nowhere.safetensors"}}""", "model.initial_weights", "nowhere.safetensors", "does not exist"),
        SpecFile("initial weights that are a folder", """{"rounds":1,"dataset":{"kind":"synthetic"},"model":{"initial_weights":"."}}""", "model.initial_weights", "is a folder"),
        SpecFile("initial weights that are not safetensors", """{"rounds":1,"dataset":{"kind":"synthetic"},"model":{"initial_weights":"w.safetensors"}}""", "model.initial_weights (w.safetensors)", "not a safetensors file")
            .With("w.safetensors", "PK\u0003\u0004 a zip file, say a torch.save checkpoint"),
        SpecFile("initial weights of another model", """{"rounds":1,"dataset":{"kind":"synthetic"},"model":{"hidden":[8],"initial_weights":"w.safetensors"}}""", "'fc1.weight' is [8, 5] in the file but [8, 20] in the model", "The model has fc1.weight [8, 20]", "The file has fc1.weight [8, 5]")
            .With("w.safetensors", Learning.Codecs.Safetensors.Write([new("fc1.weight", [8, 5]), new("fc1.bias", [8]), new("out.weight", [4, 8]), new("out.bias", [4])], new float[8 * 5 + 8 + 32 + 4])),
        SpecFile("initial weights whose header claims 2^63 bytes", """{"rounds":1,"dataset":{"kind":"synthetic"},"model":{"initial_weights":"w.safetensors"}}""", "header length", "does not fit the file")
            .With("w.safetensors", [0, 0, 0, 0, 0, 0, 0, 0x80, (byte)'{', (byte)'}']),
        SpecFile("a pinned SHA-256 the file does not have", """{"rounds":1,"dataset":{"kind":"synthetic"},"model":{"initial_weights":"w.safetensors","initial_weights_sha256":"0000000000000000000000000000000000000000000000000000000000000000"}}""", "pins 0000", "the file changed")
            .With("w.safetensors", "anything"),
        SpecFile("a SHA-256 without initial weights", """{"rounds":1,"dataset":{"kind":"synthetic"},"model":{"initial_weights_sha256":"abc"}}""", "without model.initial_weights"),
        Run("device cuda without CUDA", ["cuda", "--device cpu"], "--dataset", "synthetic", "--rounds", "1", "--device", "cuda"),
        new BadInput("output names a file", ["run", "--dataset", "synthetic", "--rounds", "1", "--output", "{dir}/a-file"], ["--output", "is a file"]).With("a-file", "keep me"),
        new BadInput("output in a folder nobody can write", ["run", "--dataset", "synthetic", "--rounds", "1", "--output", "/proc/fedgrains-out"], ["--output", "cannot write"]),
    ];
}

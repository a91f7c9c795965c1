import ArgumentParser
import FloraAdapters
import FloraEngine

/// The engine's settings, shared by `generate`, `serve` and `bench`.
struct EngineOptions: ParsableArguments {
    @Option(name: .long, help: "Most sequences in one step.")
    var maxNumSeqs: Int = EngineDefaults.maxNumSeqs

    @Option(name: .long, help: "Most tokens computed in one step (longer prompts are prefilled in chunks).")
    var maxNumBatchedTokens: Int = EngineDefaults.maxNumBatchedTokens

    @Option(name: .long, help: "Size of the paged KV cache, in tokens (SmolLM2-135M: 46 KB each).")
    var kvCacheTokens: Int = EngineDefaults.kvCacheTokens

    @Option(name: .long, help: "Adapters held in memory at once; others load when a request needs them.")
    var maxResidentAdapters: Int = EngineDefaults.maxResidentAdapters

    @Option(name: .long, help: "LoRA kernel: segmented (grouped by adapter) or bmm (gathered per token).")
    var loraKernel: LoRAKernel = EngineDefaults.loraKernel

    @Option(name: .long, help: "MiB of fLoRA merged weights W ∘ (B A)/r kept across steps, for high-rank adapters with exact products (0: none).")
    var mergedWeightCacheMb: Int = EngineDefaults.mergedWeightBytes >> 20

    @Flag(name: .long, help: "Turn off the prefix cache (KV blocks shared between requests with the same prefix and adapter).")
    var noPrefixCaching = false

    @Option(name: .customLong("adapter"), help: "Register an adapter folder under a name: NAME=PATH (repeatable).")
    var adapters: [String] = []

    func validate() throws {
        for (name, value) in [("--max-num-seqs", maxNumSeqs), ("--max-num-batched-tokens", maxNumBatchedTokens),
                              ("--kv-cache-tokens", kvCacheTokens), ("--max-resident-adapters", maxResidentAdapters)] where value < 1 {
            throw ValidationError("\(name) must be at least 1, got \(value)")
        }
        if mergedWeightCacheMb < 0 { throw ValidationError("--merged-weight-cache-mb must be at least 0, got \(mergedWeightCacheMb)") }
        if kvCacheTokens < 16 { throw ValidationError("--kv-cache-tokens must hold at least one block of 16 tokens, got \(kvCacheTokens)") }
        _ = try namedAdapters()
    }

    var engineConfig: EngineConfig {
        EngineConfig(
            maxNumSeqs: maxNumSeqs, maxNumBatchedTokens: maxNumBatchedTokens, kvCacheTokens: kvCacheTokens,
            enablePrefixCaching: !noPrefixCaching, maxResidentAdapters: maxResidentAdapters, loraKernel: loraKernel,
            mergedWeightBytes: mergedWeightCacheMb << 20)
    }

    /// `--adapter NAME=PATH` pairs, in order.
    func namedAdapters() throws -> [(name: String, path: String)] {
        var seen: Set<String> = []
        return try adapters.map { spec in
            guard let equals = spec.firstIndex(of: "="), equals != spec.startIndex, spec.index(after: equals) != spec.endIndex else {
                throw ValidationError("--adapter expects NAME=PATH, got '\(spec)'")
            }
            let name = String(spec[..<equals]), path = String(spec[spec.index(after: equals)...])
            guard seen.insert(name).inserted else { throw ValidationError("--adapter: the name '\(name)' is given twice") }
            return (name, path)
        }
    }
}

import ArgumentParser
import FloraAdapters
import FloraModel
import Foundation

struct Adapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect or create adapters (PEFT folders: fLoRA, LoRA, IA3, DoRA, RoAd).",
        subcommands: [Inspect.self, Init.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an adapter's type, rank, targets, size and extra cost per token, and check it against a model.")

        @OptionGroup var modelOptions: ModelOptions

        @Argument(help: "The adapter folder (adapter_config.json + adapter_model.safetensors).")
        var path: String

        func run() throws {
            var loaded = try ModelLoader.load(path: modelOptions.resolvedPath(), loadWeights: false)
            let shapes = try loaded.config.adapterShapes()
            let name = URL(fileURLWithPath: path).lastPathComponent
            let manifest = try AdapterLoader.inspect(folder: path, shapes: shapes)
            var baseWeights: (any AdapterBaseWeights)?
            if manifest.kind == .dora {  // its norm ‖W + s·B A‖ needs the base weights
                loaded = try ModelLoader.load(path: modelOptions.resolvedPath())
                baseWeights = try loaded.requireModel()
            }
            let weights = try AdapterLoader.load(folder: path, name: name, shapes: shapes, baseWeights: baseWeights)
            print("adapter:  \(name) (\(path))")
            print("type:     \(weights.kind.rawValue)")
            print("rank:     \(weights.rank)")
            if let alpha = weights.loraAlpha { print("alpha:    \(alpha)\(weights.useRSLoRA ? " (rsLoRA)" : "")") }
            print("targets:  \(weights.targets.map(\.rawValue).joined(separator: ","))")
            if weights.kind == .ia3 { print("feed-forward: \(weights.feedForwardModules.map(\.rawValue).joined(separator: ","))") }
            let layers = Set(weights.moduleKeys.map(\.layer)).count
            print("modules:  \(weights.moduleKeys.count) in \(layers) of \(shapes.layers) layers")
            for part in weights.vocabularyPart { print("vocabulary: \(part)") }
            print("size:     \(weights.sizeInBytes) bytes (fp32)")
            let extra = manifest.extraFlopsPerToken(shapes: shapes), base = shapes.linearFlopsPerToken
            let percent = String(format: "%.3f", 100 * Double(extra) / Double(max(base, 1)))
            print("cost:     \(extra) extra FLOPs per token, \(percent)% of the base model's linear layers (\(base) FLOPs per token)")
            print("model:    fits \(loaded.name)")
        }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a fresh adapter: the training start point, or random weights for tests and benchmarks.")

        @OptionGroup var modelOptions: ModelOptions

        @Option(name: .long, help: "flora, lora, ia3, dora or road.")
        var type: AdapterKind

        @Option(name: .long, help: "Rank (ignored for ia3).")
        var rank: Int = 1

        @Option(name: .long, help: "Comma-separated target modules: q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj (Llama) or c_attn,attn.c_proj,c_fc,mlp.c_proj (GPTBigCode). Default: q_proj,k_proj or c_attn; for ia3 PEFT's defaults.")
        var targets: String?

        @Option(name: .long, help: "LoRA alpha (default: the rank).")
        var alpha: Float?

        @Option(name: .long, help: "The folder to write.")
        var out: String

        @Option(name: .long, help: "Seed of the initial weights.")
        var seed: UInt64 = 0

        @Flag(name: .long, help: "Random weights (fLoRA and IA3 1 + 0.1·N(0,1), LoRA with non-zero B) instead of the identity start.")
        var random = false

        func run() throws {
            let loaded = try ModelLoader.load(path: modelOptions.resolvedPath(), loadWeights: type == .dora)
            let shapes = try loaded.config.adapterShapes()
            let modules = try targets.map(TargetModule.parseList) ?? shapes.defaultTargets(for: type)
            let weights = try AdapterWeights.initialized(
                name: URL(fileURLWithPath: out).lastPathComponent, kind: type, rank: type == .ia3 || type == .road ? 1 : rank,
                targets: modules, shapes: shapes, seed: seed, random: random, alpha: alpha,
                baseWeights: type == .dora ? try loaded.requireModel() : nil)
            try AdapterWriter.write(weights, to: out)
            print("wrote \(type.rawValue) adapter (rank \(weights.rank), \(modules.map(\.rawValue).joined(separator: ","))) to \(out)")
        }
    }
}

extension AdapterKind: ExpressibleByArgument {}
extension LoRAKernel: ExpressibleByArgument {}


import ArgumentParser
import FloraAdapters
import FloraFormats
import FloraModel
import FloraTensor
import FloraTraining
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the held-out loss and perplexity of the base model, or of the model with an adapter, on some data.",
        discussion: """
            The data is read, packed and split as `flora train` does it: by default the last --eval-fraction of the \
            sequences is evaluated, with the sequence length and fraction of the training run when the adapter folder \
            sits in a `flora train` output folder.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "A PEFT adapter folder (fLoRA, LoRA or IA3); without it the base model is evaluated.")
    var adapter: String?

    @Option(help: "A text file, a folder (every file one document) or a JSONL file.")
    var data: String

    @Option(name: .customLong("seq-len"), help: "Tokens per sequence (default: the training run's, else 256 or the model's context length when shorter).")
    var sequenceLength: Int?

    @Option(help: "The held-out fraction, the last sequences (default: the training run's, else 0.1).")
    var evalFraction: Double?

    @Flag(help: "Evaluate every sequence, not only the held-out ones.")
    var all = false

    @Option(help: "Evaluate at most this many sequences (default: all of the selection).")
    var maxSequences: Int?

    @Option(help: "Sequences per forward pass.")
    var batchSize: Int = 8

    @Option(help: "Write the logits of the first evaluated sequence (its first --dump-tokens tokens) to this safetensors file: tensor `logits` [tokens, vocab], metadata `input_ids` (a JSON array).")
    var dumpLogits: String?

    @Option(help: "Tokens of the sequence whose logits --dump-logits writes.")
    var dumpTokens: Int = 32

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let maxSequences, maxSequences < 1 { throw ValidationError("--max-sequences must be at least 1, got \(maxSequences)") }
        if dumpTokens < 2 { throw ValidationError("--dump-tokens must be at least 2, got \(dumpTokens)") }
    }

    func run() throws {
        let loaded = try ModelLoader.load(path: modelOptions.resolvedPath(), products: modelOptions.products)
        let model = try loaded.requireModel()
        let trained = trainingOptions()
        let length = sequenceLength ?? trained?.sequenceLength ?? min(256, model.dimensions.contextLength)
        let fraction = evalFraction ?? trained?.evalFraction ?? 0.1
        let dataset = try TrainingDataset.load(
            name: "eval", path: data, tokenizer: loaded.tokenizer, sequenceLength: length, evalFraction: all ? 0 : fraction)
        var selection = all ? dataset.train : dataset.heldOut
        if let maxSequences { selection = Array(selection.prefix(maxSequences)) }
        guard !selection.isEmpty else {
            throw ValidationError("\(data): no held-out sequences (the data makes \(dataset.train.count) sequence(s)); pass --all")
        }
        let adapters = try adapter.map { folder -> [TrainableAdapter] in
            let weights = try AdapterLoader.load(
                folder: folder, name: URL(fileURLWithPath: folder).lastPathComponent, shapes: model.adapterShapes, baseWeights: model)
            try weights.refuseVocabularyModules(for: "training and evaluation")
            return [try TrainableAdapter(weights, baseWeights: model)]
        } ?? []
        let engine = try GradientEngine(model: model, adapters: adapters)
        let index = adapters.isEmpty ? -1 : 0
        let sums = try Evaluation.loss(engine: engine, examples: selection.map { ($0, index) }, sequencesPerBatch: batchSize)
        let (sum, count) = index >= 0 ? (sums.sums[0], sums.counts[0]) : (sums.baseSum, sums.baseCount)
        guard count > 0 else { throw ValidationError("\(data): the selected sequences hold no token to predict") }
        let loss = sum / Double(count)
        print(String(format: "loss %.4f nats/token, perplexity %.3f, over %d tokens in %d sequences (%@)",
                     loss, exp(loss), count, selection.count, all ? "all" : "held out"))
        if let dumpLogits {
            let tokens = Array(selection[0].tokens.prefix(dumpTokens))
            let logits = try engine.logits(tokens: tokens, adapter: index)
            let ids = "[" + tokens.map(String.init).joined(separator: ",") + "]"
            try SafetensorsWriter.write(
                tensors: [("logits", Tensor(shape: [tokens.count, model.dimensions.vocabularySize], values: logits))],
                metadata: ["input_ids": ids, "adapter": adapter ?? ""], to: dumpLogits)
            printError("flora: wrote the logits of \(tokens.count) tokens to \(dumpLogits)")
        }
    }

    /// The options of the `flora train` run that wrote the adapter, when its state is beside it.
    private func trainingOptions() -> TrainingOptions? {
        guard let adapter else { return nil }
        let parent = URL(fileURLWithPath: adapter).deletingLastPathComponent().path
        return try? Checkpoint.readState(parent).options
    }
}

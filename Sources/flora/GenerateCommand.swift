import ArgumentParser
import FloraAdapters
import FloraEngine
import FloraModel
import FloraTokenizer
import Foundation

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text for one or more prompts, run together in one batch.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "A prompt (repeat for several; they run together in one batch).")
    var prompt: [String] = []

    @Option(name: .long, help: "Register an adapter folder under a name: NAME=PATH (repeatable).")
    var adapter: [String] = []

    @Option(name: .long, help: "The adapter of each --prompt, by position (one --use applies to all; 'base' is none).")
    var use: [String] = []

    @Option(name: .long, help: "LoRA kernel: segmented (grouped by adapter) or bmm (gathered per token).")
    var loraKernel: LoRAKernel = .segmented

    @Option(name: .long, help: "A file with one prompt per line: a JSON string, or {\"prompt\": \"...\", \"adapter\": \"NAME\"}.")
    var promptsFile: String?

    @Option(name: .long, help: "Most tokens to generate per prompt.")
    var maxTokens: Int = 128

    @Option(name: .long, help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0

    @Option(name: .long, help: "Nucleus sampling: keep the most likely tokens up to this probability mass (0, 1].")
    var topP: Float = 1

    @Option(name: .long, help: "Keep only the K most likely tokens; 0 keeps all.")
    var topK: Int = 0

    @Option(name: .long, help: "Seed for sampling; the same seed gives the same text.")
    var seed: UInt64?

    @Flag(name: .long, help: "Wrap each prompt as a user message in the model's chat template.")
    var chat = false

    @Option(name: .long, help: "Output: text (streamed for one prompt) or json (one object per prompt, in input order).")
    var format: OutputFormat = .text

    @Option(name: .long, help: "With --format json: report the N most likely tokens at each step (0-20).")
    var logprobs: Int = 0

    @Option(name: .long, help: "Most tokens computed in one forward pass.")
    var maxBatchTokens: Int = 512

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    func validate() throws {
        if prompt.isEmpty && promptsFile == nil { throw ValidationError("give at least one --prompt or a --prompts-file") }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1, got \(maxTokens)") }
        if !use.isEmpty && use.count != 1 && use.count != prompt.count {
            throw ValidationError("give one --use for all prompts or one per --prompt (\(prompt.count)), got \(use.count)")
        }
        if maxBatchTokens < 1 { throw ValidationError("--max-batch-tokens must be at least 1, got \(maxBatchTokens)") }
    }

    func run() throws {
        let loaded = try ModelLoader.load(path: modelOptions.resolvedPath())
        guard let model = loaded.model else { throw ValidationError("the model has no weights") }
        let tokenizer = loaded.tokenizer
        let entries = prompt.enumerated().map { i, text in
            PromptEntry(prompt: text, adapter: use.isEmpty ? nil : use[use.count == 1 ? 0 : i])
        } + (try promptsFileEntries())
        let (bank, slots) = try registerAdapters(model: model)
        let parameters = SamplingParameters(
            temperature: temperature, topK: topK, topP: topP, seed: seed, maxTokens: maxTokens, logprobs: logprobs)
        try parameters.validate()
        let requests = try entries.map { entry in
            let text = entry.prompt
            let rendered = chat ? try tokenizer.applyChatTemplate(messages: [ChatMessage(role: "user", content: text)], addGenerationPrompt: true) : text
            var slot = AdapterBank.noAdapter
            if let name = entry.adapter, name != "base" {
                guard let found = slots[name] else {
                    throw ValidationError("adapter '\(name)' is not registered; known: \(slots.keys.sorted().joined(separator: ", ")) (register with --adapter NAME=PATH)")
                }
                slot = found
            }
            return GenerationRequest(promptTokens: tokenizer.encode(rendered).map(Int32.init), parameters: parameters, adapterSlot: slot)
        }
        let generator = BatchGenerator(
            model: model, stopTokenIds: Set(tokenizer.stopTokenIds.map(Int32.init)), maxBatchTokens: maxBatchTokens, adapters: bank)
        let streaming = format == .text && requests.count == 1
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        let results = try generator.generate(requests) { _, sampled in
            guard streaming, !tokenizer.stopTokenIds.contains(Int(sampled.token)) else { return }
            let piece = detokenizer.append(Int(sampled.token))
            if !piece.isEmpty { FileHandle.standardOutput.write(Data(piece.utf8)) }
        }
        if streaming {
            FileHandle.standardOutput.write(Data((detokenizer.finish() + "\n").utf8))
        } else {
            for result in results { try printResult(result, tokenizer: tokenizer) }
        }
        let s = generator.statistics
        FileHandle.standardError.write(Data(String(
            format: "flora: %d prompt tokens in %.2f s (%.1f tok/s), %d generated tokens, decode %.1f tok/s over %d sequences\n",
            s.promptTokens, s.prefillSeconds, s.promptTokensPerSecond, s.generatedTokens, s.decodeTokensPerSecond, requests.count).utf8))
    }

    private func printResult(_ result: GenerationResult, tokenizer: Tokenizer) throws {
        let ids = result.tokenIds.filter { !tokenizer.stopTokenIds.contains(Int($0)) }
        let text = tokenizer.decode(ids.map(Int.init))
        switch format {
        case .text:
            print(text)
            print("")
        case .json:
            var object: [String: Any] = [
                "prompt_ids": result.promptTokens.map(Int.init),
                "token_ids": result.tokenIds.map(Int.init),
                "text": text,
                "finish_reason": result.finishReason.rawValue,
            ]
            if logprobs > 0 {
                object["logprobs"] = result.tokens.map { step in step.top.map { [Int($0.token), Double($0.logprob)] as [Any] } }
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// Loads every `--adapter NAME=PATH` into one bank; returns the slot of each name.
    private func registerAdapters(model: LlamaModel) throws -> (AdapterBank?, [String: AdapterSlot]) {
        guard !adapter.isEmpty else { return (nil, [:]) }
        let bank = try AdapterBank(capacity: adapter.count, shapes: model.adapterShapes)
        bank.loraKernel = loraKernel
        var slots: [String: AdapterSlot] = [:]
        for spec in adapter {
            guard let equals = spec.firstIndex(of: "="), equals != spec.startIndex, spec.index(after: equals) != spec.endIndex else {
                throw ValidationError("--adapter expects NAME=PATH, got '\(spec)'")
            }
            let name = String(spec[..<equals]), path = String(spec[spec.index(after: equals)...])
            guard slots[name] == nil else { throw ValidationError("--adapter: the name '\(name)' is given twice") }
            slots[name] = try bank.install(AdapterLoader.load(folder: path, name: name, shapes: model.adapterShapes))
        }
        return (bank, slots)
    }

    struct PromptEntry { var prompt: String; var adapter: String? }

    /// Lines of `--prompts-file`: a JSON string, or an object with `prompt` and optional `adapter`.
    func promptsFileEntries() throws -> [PromptEntry] {
        guard let promptsFile else { return [] }
        guard let data = FileManager.default.contents(atPath: promptsFile) else {
            throw ValidationError("--prompts-file: cannot read \(promptsFile)")
        }
        var entries: [PromptEntry] = []
        for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let value = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8), options: [.fragmentsAllowed])
            if let text = value as? String {
                entries.append(PromptEntry(prompt: text))
            } else if let object = value as? [String: Any], let text = object["prompt"] as? String {
                let adapter = object["adapter"]
                guard adapter == nil || adapter is String || adapter is NSNull else {
                    throw ValidationError("\(promptsFile):\(number + 1): \"adapter\" must be a string")
                }
                entries.append(PromptEntry(prompt: text, adapter: adapter as? String))
            } else {
                throw ValidationError("\(promptsFile):\(number + 1): expected a JSON string or an object with a string \"prompt\", found: \(trimmed.prefix(80))")
            }
        }
        return entries
    }
}

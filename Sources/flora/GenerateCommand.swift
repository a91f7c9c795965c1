import ArgumentParser
import FloraAdapters
import FloraEngine
import FloraModel
import FloraTokenizer
import Foundation
import Synchronization

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text for one or more prompts, served together by the continuous-batching engine.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var engineOptions: EngineOptions

    @Option(name: .long, help: "A prompt (repeat for several; they run together in one batch).")
    var prompt: [String] = []

    @Option(name: .long, help: "The adapter of each --prompt, by position (one --use applies to all; 'base' is none); a weighted mixture as a:0.7,b:0.3.")
    var use: [String] = []

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

    @Flag(name: .long, help: "Do not stop at the model's end-of-sequence tokens (vLLM's ignore_eos).")
    var ignoreEos = false

    @Option(name: .long, help: "Generate at least this many tokens before an end-of-sequence token may end the text.")
    var minTokens: Int = 0

    @Option(name: .long, help: "Repetition penalty over prompt and output tokens (vLLM's, > 0; 1 is off).")
    var repetitionPenalty: Float = 1

    @Option(name: .long, help: "Presence penalty over the output's tokens (OpenAI's, -2...2; 0 is off).")
    var presencePenalty: Float = 0

    @Option(name: .long, help: "Frequency penalty over the output's tokens (OpenAI's, -2...2; 0 is off).")
    var frequencyPenalty: Float = 0

    @Flag(name: .long, help: "Wrap each prompt as a user message in the model's chat template.")
    var chat = false

    @Option(name: .long, help: "Output: text (streamed for one prompt) or json (one object per prompt, in input order).")
    var format: OutputFormat = .text

    @Option(name: .long, help: "With --format json: report the N most likely tokens at each step (0-20).")
    var logprobs: Int = 0

    @Flag(name: .long, help: "Constrain every output to a JSON object (the API's response_format json_object), token by token.")
    var jsonObject = false

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    func validate() throws {
        if prompt.isEmpty && promptsFile == nil { throw ValidationError("give at least one --prompt or a --prompts-file") }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1, got \(maxTokens)") }
        if !use.isEmpty && use.count != 1 && use.count != prompt.count {
            throw ValidationError("give one --use for all prompts or one per --prompt (\(prompt.count)), got \(use.count)")
        }
    }

    func run() async throws {
        let loaded = try ModelLoader.load(path: modelOptions.resolvedPath(), products: modelOptions.products)
        let model = try loaded.requireModel()
        let tokenizer = loaded.tokenizer
        let statistics = StepStatistics()
        let engine = try Engine(model: model, tokenizer: tokenizer, config: engineOptions.engineConfig) { event in
            statistics.record(event)
        }
        for (name, path) in try engineOptions.namedAdapters() {
            _ = try AdapterLoader.load(folder: path, name: name, shapes: model.adapterShapes, baseWeights: model)  // refuse a bad folder now, not mid-run
            try await engine.registerAdapter(name: name, path: path)
        }
        let entries = prompt.enumerated().map { i, text in
            PromptEntry(prompt: text, adapter: use.isEmpty ? nil : use[use.count == 1 ? 0 : i])
        } + (try promptsFileEntries())
        let parameters = SamplingParameters(
            temperature: temperature, topK: topK, topP: topP, seed: seed, maxTokens: maxTokens, logprobs: logprobs,
            ignoreEOS: ignoreEos, minTokens: minTokens, repetitionPenalty: repetitionPenalty, presencePenalty: presencePenalty,
            frequencyPenalty: frequencyPenalty, chosenLogprob: logprobs > 0)
        try parameters.validate()
        let grammar = jsonObject ? try JSONGrammar(.anyObject) : nil
        var requests: [EngineRequest] = []
        for entry in entries {
            let rendered = chat ? try tokenizer.applyChatTemplate(messages: [ChatMessage(role: "user", content: entry.prompt)], addGenerationPrompt: true) : entry.prompt
            let tokens = tokenizer.encode(rendered)
            guard let use = entry.adapter, use != "base" else {
                requests.append(EngineRequest(promptTokens: tokens, parameters: parameters, grammar: grammar))
                continue
            }
            let mixture = try Self.mixture(use, registered: engine.isRegistered(adapter:))
            for part in mixture?.parts.map(\.name) ?? [use] where !engine.isRegistered(adapter: part) {
                throw ValidationError("adapter '\(part)' is not registered (register it with --adapter \(part)=PATH)")
            }
            var request = mixture.map { EngineRequest(promptTokens: tokens, parameters: parameters, mixture: $0) }
                ?? EngineRequest(promptTokens: tokens, parameters: parameters, adapterName: use)
            request.grammar = grammar
            requests.append(request)
        }
        let streaming = format == .text && requests.count == 1
        let results = try await withThrowingTaskGroup(of: (Int, Completion).self) { group in
            for (index, request) in requests.enumerated() {
                group.addTask {
                    var completion = Completion(promptIds: request.promptTokens)
                    for try await piece in engine.generate(request) {
                        completion.tokens += piece.tokens
                        completion.text += piece.text
                        if let reason = piece.finishReason { completion.finishReason = reason }
                        if streaming, !piece.text.isEmpty { FileHandle.standardOutput.write(Data(piece.text.utf8)) }
                    }
                    return (index, completion)
                }
            }
            var results = [Completion?](repeating: nil, count: requests.count)
            for try await (index, completion) in group { results[index] = completion }
            return results.compactMap { $0 }
        }
        if streaming {
            FileHandle.standardOutput.write(Data("\n".utf8))
        } else {
            for result in results { try printResult(result) }
        }
        FileHandle.standardError.write(Data(statistics.summary(sequences: requests.count).utf8))
    }

    struct Completion {
        var promptIds: [Int32]
        var tokens: [SampledToken] = []
        var text = ""
        var finishReason: FinishReason = .length
    }

    private func printResult(_ result: Completion) throws {
        let text = result.text
        switch format {
        case .text:
            print(text)
            print("")
        case .json:
            var object: [String: Any] = [
                "prompt_ids": result.promptIds.map(Int.init),
                "token_ids": result.tokens.map { Int($0.token) },
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

    struct PromptEntry { var prompt: String; var adapter: String? }

    /// `a:0.7,b:0.3` as a mixture; nil for a plain adapter name (which may itself hold a colon).
    static func mixture(_ use: String, registered: (String) -> Bool) throws -> AdapterMixture? {
        guard !registered(use) else { return nil }
        let items = use.split(separator: ",", omittingEmptySubsequences: false)
        let parts = items.map { item -> AdapterMixture.Part? in
            guard let colon = item.lastIndex(of: ":"), let weight = Float(item[item.index(after: colon)...]) else { return nil }
            return AdapterMixture.Part(name: String(item[..<colon]), weight: weight)
        }
        guard parts.contains(where: { $0 != nil }) else { return nil }
        guard parts.allSatisfy({ $0 != nil }) else {
            throw ValidationError("--use '\(use)': a mixture is NAME:WEIGHT,NAME:WEIGHT… with a number after each name's last colon")
        }
        do {
            return try AdapterMixture(parts.compactMap { $0 })
        } catch {
            throw ValidationError("--use '\(use)': \(error)")
        }
    }

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

/// Where the time of a run went: steps that computed prompt tokens count as prefill, steps
/// that only decoded count as decode.
final class StepStatistics: Sendable {
    private struct Totals {
        var promptTokens = 0, decodeTokens = 0, decodeSteps = 0
        var prefillSeconds = 0.0, decodeSeconds = 0.0
    }
    private let totals = Mutex(Totals())

    func record(_ event: EngineEvent) {
        guard case .step(let seconds, let promptTokens, let decodeTokens) = event else { return }
        totals.withLock { t in
            if promptTokens > 0 {
                t.promptTokens += promptTokens
                t.prefillSeconds += seconds
            } else {
                t.decodeTokens += decodeTokens
                t.decodeSeconds += seconds
                t.decodeSteps += 1
            }
        }
    }

    func summary(sequences: Int) -> String {
        totals.withLock { t in
            String(format: "flora: %d prompt tokens in %.2f s of prefill steps (%.1f tok/s); decode-only steps: %d tokens in %.2f s (%.1f tok/s, %d sequences)\n",
                   t.promptTokens, t.prefillSeconds, t.prefillSeconds > 0 ? Double(t.promptTokens) / t.prefillSeconds : 0,
                   t.decodeTokens, t.decodeSeconds, t.decodeSeconds > 0 ? Double(t.decodeTokens) / t.decodeSeconds : 0, sequences)
        }
    }
}

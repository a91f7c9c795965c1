// Constrained generation through the whole engine on the tiny random model: 200 seeded sampled
// requests with a few schemas, mixed in one batch with unconstrained requests and adapters.
// A random model wanders, which is the point: whatever it prefers, every output must parse and
// validate against its schema (checked here by Foundation's decoder and a validator of its own,
// not by the automaton). Left alone it would write strings of ~200 random bytes (a quote is one
// byte of ~220 allowed), so its logits favour closing characters: values then end well within
// max_tokens, and every part of the grammar is still reached.

import FloraAdapters
import FloraEngine
import FloraModel
import FloraTensor
import FloraTestSupport
import Foundation
import Testing

@Suite struct JSONOutputEngineTests {
    static let schemas: [JSONSchema] = [
        .anyObject,
        JSONGrammarTests.person,
        .object([
            JSONSchemaProperty(name: "id", schema: .integer),
            JSONSchemaProperty(name: "ok", schema: .boolean),
            JSONSchemaProperty(name: "kind", schema: .literals(["\"cat\"", "\"dog\"", "3", "null"])),
            JSONSchemaProperty(name: "points", schema: .array(items: .object([
                JSONSchemaProperty(name: "x", schema: .number), JSONSchemaProperty(name: "y", schema: .anyOf([.number, .null])),
            ]), maxItems: 3)),
        ]),
        .array(items: .anyOf([.integer, .boolean, .array(items: .null, maxItems: 2)]), minItems: 1, maxItems: 5),
    ]

    @Test func twoHundredSampledRequestsAllParseAndValidate() async throws {
        var config = TinyModels.config
        config.contextLength = 2048
        let model = try TinyModels.model(config)
        let directory = try TestFiles.scratchDirectory()
        let adapters = try TinyModels.writeRandomAdapters(count: 2, to: directory, model: model)
        let engine = try Engine(
            model: EngineModel(model).biased(["\"": 4, "}": 2, "]": 2]), tokenizer: TinyModels.tokenizer(),
            config: EngineConfig(maxNumSeqs: 64, kvCacheTokens: 96 * 1024))
        for name in adapters { try await engine.registerAdapter(name: name, path: directory + "/" + name) }

        struct Case: Sendable { var request: EngineRequest; var schema: JSONSchema? }
        var generator = SeededGenerator(seed: 2024)
        let cases: [Case] = try (0..<200).map { i in
            let schema: JSONSchema? = i % 9 == 8 ? nil : Self.schemas[i % Self.schemas.count]
            let parameters = SamplingParameters(
                temperature: 0.7 + Float(generator.next() % 80) / 100, topK: i % 3 == 0 ? 40 : 0, topP: i % 4 == 0 ? 0.95 : 1,
                seed: generator.next(), maxTokens: schema == nil ? 24 : 1500)
            let pick = Int(generator.next() % 3)
            let prompt = (0..<(3 + Int(generator.next() % 20))).map { _ in Int32(generator.next() % 256) }
            return Case(
                request: EngineRequest(promptTokens: prompt, parameters: parameters, adapterName: pick < 2 ? adapters[pick] : nil,
                                       grammar: try schema.map { try JSONGrammar($0) }),
                schema: schema)
        }
        let runs = await withTaskGroup(of: (Int, EngineRun).self) { group in
            for (i, c) in cases.enumerated() { group.addTask { (i, await collect(engine.generate(c.request))) } }
            var runs = [EngineRun](repeating: EngineRun(), count: cases.count)
            for await (i, run) in group { runs[i] = run }
            return runs
        }
        var lengths: [Int] = []
        for (i, c) in cases.enumerated() {
            let run = runs[i]
            #expect(run.error == nil, "request \(i): \(String(describing: run.error))")
            guard let schema = c.schema else { continue }
            #expect(run.finishReason == .stop, "request \(i) did not finish its JSON in \(run.tokens.count) tokens")
            lengths.append(run.tokens.count)
            let value = ParsedJSON.parse(run.text)
            #expect(value != nil, "request \(i) is not JSON: \(run.text.debugDescription)")
            if let value { #expect(Self.validate(value, schema), "request \(i) does not match its schema: \(run.text)") }
        }
        #expect(lengths.count > 150)
        let snapshot = engine.snapshot()
        #expect(snapshot.freeKVBlocks == snapshot.totalKVBlocks)
    }

    @Test func greedyRequestsUnderAConstraintAreReproducibleAndStopAtTheEndOfTheValue() async throws {
        let model = try TinyModels.model()
        let engine = try Engine(model: model, tokenizer: TinyModels.tokenizer())
        let grammar = try JSONGrammar(Self.schemas[2])
        let request = EngineRequest(promptTokens: [1, 2, 3], parameters: SamplingParameters(maxTokens: 400), grammar: grammar)
        let first = await collect(engine.generate(request))
        let second = await collect(engine.generate(request))
        #expect(first.error == nil)
        #expect(first.tokens == second.tokens)
        #expect(first.finishReason == .stop)
        #expect(grammar.accepts(Array(first.text.utf8)), "\(first.text)")
        #expect(!first.tokens.contains(256), "the value ends the request itself: no stop token is sampled")
    }

    @Test func maxTokensCutsTheValueWithFinishReasonLength() async throws {
        let engine = try Engine(model: try TinyModels.model(), tokenizer: TinyModels.tokenizer())
        let request = EngineRequest(
            promptTokens: [5, 6], parameters: SamplingParameters(temperature: 1, seed: 3, maxTokens: 4), grammar: try JSONGrammar(Self.schemas[1]))
        let run = await collect(engine.generate(request))
        #expect(run.finishReason == .length)
        #expect(run.tokens.count == 4)
        #expect(try JSONGrammar(Self.schemas[1]).acceptsPrefix(Array(run.text.utf8)))
    }

    /// A validator of the schema subset, independent of the automaton.
    static func validate(_ value: ParsedJSON, _ schema: JSONSchema) -> Bool {
        switch (schema, value) {
        case (.any, _): return true
        case (.anyObject, .object): return true
        case (.object(let properties), .object(let object)):
            let names = Set(properties.map(\.name))
            guard object.keys.allSatisfy(names.contains) else { return false }
            return properties.allSatisfy { property in
                guard let item = object[property.name] else { return !property.required }
                return validate(item, property.schema)
            }
        case (.array(let items, let minItems, let maxItems), .array(let array)):
            return array.count >= minItems && array.count <= (maxItems ?? .max) && array.allSatisfy { validate($0, items) }
        case (.string, .string), (.number, .integer), (.number, .number), (.integer, .integer): return true
        case (.literals(let texts), _): return texts.contains { ParsedJSON.parse($0) == value }
        case (.anyOf(let alternatives), _): return alternatives.contains { validate(value, $0) }
        default: return false
        }
    }
}

/// A JSON value as Foundation's decoder reads it, with its exact kind (an integer is not a
/// number with a fraction, a boolean is not a number).
indirect enum ParsedJSON: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([ParsedJSON])
    case object([String: ParsedJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let bool = try? container.decode(Bool.self) { self = .bool(bool) }
        else if let integer = try? container.decode(Int64.self) { self = .integer(integer) }
        else if let number = try? container.decode(Double.self) { self = .number(number) }
        else if let string = try? container.decode(String.self) { self = .string(string) }
        else if let array = try? container.decode([ParsedJSON].self) { self = .array(array) }
        else { self = .object(try container.decode([String: ParsedJSON].self)) }
    }

    static func parse(_ text: String) -> ParsedJSON? { try? JSONDecoder().decode(ParsedJSON.self, from: Data(text.utf8)) }
}

/// A runner whose logits have constants added to some byte tokens (the tiny vocabulary's ids
/// are its bytes).
final class BiasedRunner: ModelRunner {
    let inner: any ModelRunner
    let bias: [(Int, Float)]
    private var scratch: [Float] = []

    init(_ inner: any ModelRunner, bias: [(Int, Float)]) {
        self.inner = inner
        self.bias = bias
    }

    func execute(_ batch: Batch, adapters: AdapterBank, row: (Int, UnsafeBufferPointer<Float>) -> Void) throws {
        try inner.execute(batch, adapters: adapters) { index, logits in
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: logits)
            for (token, value) in bias { scratch[token] += value }
            scratch.withUnsafeBufferPointer { row(index, $0) }
        }
    }
}

extension EngineModel {
    func biased(_ bias: [Character: Float]) -> EngineModel {
        var model = self
        let make = makeRunner
        let pairs = bias.map { (Int($0.key.asciiValue!), $0.value) }
        model.makeRunner = { blockCount, blockSize in BiasedRunner(make(blockCount, blockSize), bias: pairs) }
        return model
    }
}

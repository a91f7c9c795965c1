// The token mask of a JSON constraint against the naive rule it implements: at each state
// reached by a seeded random walk, a token is allowed exactly when the text so far followed by
// its bytes can still become a value (a stop token: when the text is one already). Run on the
// real SmolLM2 vocabulary (byte-level, 49,152 tokens) and the SentencePiece fixture (pieces
// with `▁`, byte fallback).

import FloraEngine
import FloraModel
import FloraTensor
import FloraTestSupport
import FloraTokenizer
import Foundation
import Testing

@Suite struct TokenMaskTests {
    static let schemas: [(String, JSONSchema)] = [
        ("json_object", .anyObject),
        ("person", JSONGrammarTests.person),
        ("anyOf", .array(items: .anyOf([.string, .integer, .null, .object([JSONSchemaProperty(name: "k", schema: .boolean)])]), maxItems: 6)),
    ]

    static func smolLM() throws -> Tokenizer {
        try ModelLoader.load(path: TestFiles.modelPath(), loadWeights: false).tokenizer
    }

    static func sentencePiece() throws -> Tokenizer {
        let folder = TestFiles.repositoryRoot + "/Tests/Fixtures/tokenizers/"
        return try Tokenizer(
            tokenizerJSON: Data(contentsOf: URL(fileURLWithPath: folder + "tokenizer.json")),
            tokenizerConfigJSON: Data(contentsOf: URL(fileURLWithPath: folder + "tokenizer_config.json")))
    }

    @Test(arguments: ["smollm2", "sentencepiece"])
    func everyAllowedTokenKeepsTheTextValidAndEveryRefusedOneBreaksIt(_ vocabulary: String) throws {
        let tokenizer = vocabulary == "smollm2" ? try Self.smolLM() : try Self.sentencePiece()
        if vocabulary == "smollm2" { #expect(tokenizer.vocabularySize == 49_152) }
        let trie = TokenTrie(tokenizer)
        let stops = tokenizer.stopTokenIds.isEmpty ? Set([Int32(0)]) : tokenizer.stopTokenIds
        let tokenBytes = (0..<Int32(tokenizer.vocabularySize)).map { tokenizer.isSpecial($0) ? [] : tokenizer.bytes(for: $0) ?? [] }
        let logits = [Float](repeating: 0, count: tokenizer.vocabularySize)
        let scratch = FloatBuffer(count: tokenizer.vocabularySize)
        var generator = SeededGenerator(seed: 11)
        let steps = vocabulary == "smollm2" ? 10 : 40

        for (name, schema) in Self.schemas {
            let grammar = try JSONGrammar(schema)
            for walk in 0..<2 {
                let constraint = JSONConstraint(grammar: grammar, trie: trie, stopTokens: stops)
                var text: [UInt8] = []
                for step in 0..<steps {
                    guard !constraint.isFinished else { break }
                    let allowed = logits.withUnsafeBufferPointer { constraint.masked($0, scratch: scratch.pointer) } != nil
                    #expect(allowed, "\(name): no token allowed after \(String(decoding: text, as: UTF8.self))")
                    var choices: [Int32] = []
                    var wrong: [String] = []
                    for id in 0..<Int32(tokenizer.vocabularySize) {
                        let expected = stops.contains(id)
                            ? grammar.accepts(text)
                            : !tokenBytes[Int(id)].isEmpty && grammar.acceptsPrefix(text + tokenBytes[Int(id)])
                        if constraint.allows(id) != expected, wrong.count < 5 { wrong.append("\(id) \(String(decoding: tokenBytes[Int(id)], as: UTF8.self).debugDescription) mask \(constraint.allows(id))") }
                        if expected, !stops.contains(id) { choices.append(id) }
                    }
                    #expect(wrong.isEmpty, "\(name) walk \(walk) step \(step) after \(String(decoding: text, as: UTF8.self).debugDescription): \(wrong)")
                    guard !choices.isEmpty else { break }
                    // Prefer structure over free text now and then, so the walk reaches deep states.
                    let structural = choices.filter { tokenBytes[Int($0)].contains { "{}[],:\"".utf8.contains($0) } }
                    let pool = !structural.isEmpty && generator.next() % 2 == 0 ? structural : choices
                    let token = pool[Int(generator.next() % UInt64(pool.count))]
                    constraint.accept(token)
                    text += tokenBytes[Int(token)]
                    #expect(!constraint.broken)
                }
            }
        }
    }

    @Test func theTrieHoldsEveryTokenThatAddsText() throws {
        let tokenizer = try Self.sentencePiece()
        let trie = TokenTrie(tokenizer)
        #expect(trie.vocabularySize == tokenizer.vocabularySize)
        let bytes = (0..<Int32(tokenizer.vocabularySize)).filter { !tokenizer.isSpecial($0) }.compactMap { tokenizer.bytes(for: $0) }
        #expect(trie.nodeCount - 1 == Set(bytes.filter { !$0.isEmpty }.flatMap { b in (1...b.count).map { Array(b[..<$0]) } }).count)
    }
}

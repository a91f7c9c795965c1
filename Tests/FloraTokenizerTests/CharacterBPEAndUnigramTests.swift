// Hugging Face's BPE over characters (byte fallback, unknown tokens) and Unigram (Viterbi), on
// hand-made tokenizer.json files; Unigram against a brute-force reference.

import Foundation
import Testing
import FloraTensor
import FloraTokenizer

@Suite("BPE over characters and Unigram, as tokenizer.json describes them")
struct CharacterBPEAndUnigramTests {
    static var decoder: [String: Any] { ["type": "Sequence", "decoders": [
        ["type": "Replace", "pattern": ["String": "▁"], "content": " "], ["type": "ByteFallback"], ["type": "Fuse"],
        ["type": "Strip", "content": " ", "start": 1, "stop": 0],
    ]] }
    static var metaspace: [String: Any] { ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true] }

    static func tokenizer(model: [String: Any], preTokenizer: Any = metaspace, added: [[String: Any]] = []) throws -> Tokenizer {
        let object: [String: Any] = ["added_tokens": added, "normalizer": NSNull(), "pre_tokenizer": preTokenizer,
                                     "post_processor": NSNull(), "decoder": decoder, "model": model]
        return try Tokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: object), tokenizerConfigJSON: nil)
    }

    /// `<unk>`, then the given tokens.
    static func bpe(_ tokens: [String], merges: [String], byteFallback: Bool = false, fuseUnknown: Bool = true,
                    unknown: Bool = true) throws -> Tokenizer {
        var vocab: [String: Int] = ["<unk>": 0]
        for token in tokens where vocab[token] == nil { vocab[token] = vocab.count }
        return try tokenizer(model: ["type": "BPE", "vocab": vocab, "merges": merges, "byte_fallback": byteFallback,
                                     "fuse_unk": fuseUnknown, "unk_token": unknown ? "<unk>" : NSNull()])
    }

    @Test("Metaspace with split cuts before every ▁, and merges stay inside a word")
    func metaspaceSplit() throws {
        let t = try Self.bpe(["▁", "a", "b", "▁a", "ab", "▁ab"], merges: ["▁ a", "a b", "▁a b"])
        #expect(t.metaspace == Metaspace(prependScheme: .always, split: true))
        #expect(t.encode("ab  ab") == [t.id(for: "▁ab")!, t.id(for: "▁")!, t.id(for: "▁ab")!])
        #expect(t.decode(t.encode("ab  ab")) == "ab  ab")
    }

    @Test("Characters the vocabulary lacks: their byte tokens, else the unknown token (runs fused with fuse_unk), else nothing")
    func unknownCharacters() throws {
        let bytes = (0..<256).map { ByteFallbackName.of(UInt8($0)) }
        let withBytes = try Self.bpe(["▁", "a"] + bytes, merges: [], byteFallback: true)
        #expect(withBytes.encode("a€") == [withBytes.id(for: "▁")!, withBytes.id(for: "a")!, withBytes.id(for: "<0xE2>")!,
                                           withBytes.id(for: "<0x82>")!, withBytes.id(for: "<0xAC>")!])
        #expect(withBytes.decode(withBytes.encode("a€")) == "a€")
        let fused = try Self.bpe(["▁", "a"], merges: [])
        #expect(fused.encode("a€€a") == [1, 2, 0, 2])
        let apart = try Self.bpe(["▁", "a"], merges: [], fuseUnknown: false)
        #expect(apart.encode("a€€a") == [1, 2, 0, 0, 2])
        let dropped = try Self.bpe(["▁", "a"], merges: [], unknown: false)
        #expect(dropped.encode("a€€a") == [1, 2, 2])
    }

    /// `[piece, score]` entries in id order; `<unk>` first.
    static func unigram(_ pieces: [(String, Double)], byteFallback: Bool = false) throws -> Tokenizer {
        let vocab: [[Any]] = [["<unk>", 0.0]] + pieces.map { [$0.0, $0.1] }
        return try tokenizer(model: ["type": "Unigram", "unk_id": 0, "vocab": vocab, "byte_fallback": byteFallback],
                             preTokenizer: ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": false])
    }

    @Test("Unigram picks the segmentation with the highest total score")
    func unigramViterbi() throws {
        let t = try Self.unigram([("▁", -1), ("▁ab", -4), ("▁a", -1.5), ("b", -1.5), ("c", -2), ("bc", -1)])
        #expect(t.model == .unigram)
        // ▁a + bc (-2.5) beats ▁ab + c (-6) and ▁a + b + c (-5).
        #expect(t.encode("abc") == [t.id(for: "▁a")!, t.id(for: "bc")!])
        #expect(t.decode(t.encode("abc")) == "abc")
    }

    @Test("Random Unigram vocabularies encode as exhaustive search does", arguments: [1, 2, 3] as [UInt64])
    func unigramAgainstBruteForce(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let alphabet = ["a", "b", "c", "▁"]
        var pieces: [(String, Double)] = [("a", -3), ("b", -3), ("▁", -3)]   // "c" alone is unknown
        var seen = Set(pieces.map(\.0))
        while pieces.count < 24 {
            let piece = (0..<(2 + Int(rng.next() % 3))).map { _ in alphabet[Int(rng.next() % 4)] }.joined()
            if seen.insert(piece).inserted { pieces.append((piece, -Double(rng.next() % 1000) / 97 - 0.1)) }
        }
        let t = try Self.unigram(pieces)
        let minScore = pieces.map(\.1).min()!
        for _ in 0..<200 {
            let text = (0..<(1 + Int(rng.next() % 7))).map { _ in ["a", "b", "c"][Int(rng.next() % 3)] }.joined()
            let normalized = Array(("▁" + text).unicodeScalars)
            // Every segmentation of the first `end` characters: tokens, or a lone character with no
            // one-character token as unknown; the best ending at `end` is the first (by start) of
            // the highest score, as Hugging Face's table keeps it.
            func best(_ end: Int) -> (score: Double, ids: [TokenID])? {
                if end == 0 { return (0, []) }
                var result: (score: Double, ids: [TokenID])? = nil
                for start in 0..<end {
                    let piece = String(String.UnicodeScalarView(normalized[start..<end]))
                    var candidate: (id: TokenID, score: Double)? = nil
                    if let index = pieces.firstIndex(where: { $0.0 == piece }) {
                        candidate = (TokenID(index + 1), pieces[index].1)
                    } else if end == start + 1 {
                        candidate = (0, minScore - 10)
                    }
                    guard let candidate, let prefix = best(start) else { continue }
                    if result == nil || prefix.score + candidate.score > result!.score {
                        let fused = candidate.id == 0 && prefix.ids.last == 0
                        result = (prefix.score + candidate.score, prefix.ids + (fused ? [] : [candidate.id]))
                    }
                }
                return result
            }
            #expect(t.encode(text) == best(normalized.count)?.ids, "\(text.debugDescription)")
        }
    }

    @Test("Unigram spells unknown characters in byte tokens with byte_fallback")
    func unigramByteFallback() throws {
        let bytes = (0..<256).map { (ByteFallbackName.of(UInt8($0)), 0.0) }
        let t = try Self.unigram([("▁", -1), ("a", -1)] + bytes, byteFallback: true)
        #expect(t.encode("a€") == [t.id(for: "▁")!, t.id(for: "a")!, t.id(for: "<0xE2>")!, t.id(for: "<0x82>")!, t.id(for: "<0xAC>")!])
        #expect(t.decode(t.encode("a€")) == "a€")
    }
}

enum ByteFallbackName {
    static func of(_ byte: UInt8) -> String { "<0x" + String(byte, radix: 16, uppercase: true).leftPadded(2) + ">" }
}

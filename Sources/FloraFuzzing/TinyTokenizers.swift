// Two small tokenizers built in code, one per GGUF tokenizer family, for the fuzzers that need
// a tokenizer without reading one from disk: byte-level BPE (SmolLM, Llama 3) and
// SentencePiece BPE with byte fallback (Llama 2). Enough merges that encoding merges.

import FloraTokenizer

package enum TinyTokenizers {
    static let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

    package static func byteLevel(chatTemplate: String? = nil) throws -> Tokenizer {
        let bytes = (0 ..< 256).map { ByteLevel.token(ofBytes: [UInt8($0)]) }
        let merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "Ġ Ġ", "ĠĠ ĠĠ"]
        let merged = ["Ġt", "he", "Ġthe", "in", "Ġa", "ĠĠ", "ĠĠĠĠ"]
        let tokens = bytes + merged + specials
        let types = [Int](repeating: 1, count: bytes.count + merged.count) + [Int](repeating: 3, count: specials.count)
        let first = bytes.count + merged.count
        return try Tokenizer(gguf: GGUFTokenizerMetadata(
            source: "tiny-byte-level", model: "gpt2", pre: "smollm", tokens: tokens, tokenTypes: types, merges: merges,
            bosTokenId: first, eosTokenId: first + 2, chatTemplate: chatTemplate))
    }

    package static func sentencePiece(chatTemplate: String? = nil) throws -> Tokenizer {
        let control = ["<unk>", "<s>", "</s>"]
        let bytes = (0 ..< 256).map { "<0x" + String(format2: $0) + ">" }
        let pieces = ["▁", "t", "h", "e", "▁t", "he", "▁the", "a", "▁a", "é", "▁é"]
        let tokens = control + bytes + pieces
        let types = [2, 3, 3] + [Int](repeating: 6, count: bytes.count) + [Int](repeating: 1, count: pieces.count)
        // Scores give the merge priority: longer pieces first.
        let scores = [Float](repeating: 0, count: control.count + bytes.count) + pieces.map { -Float(10 - $0.count) }
        return try Tokenizer(gguf: GGUFTokenizerMetadata(
            source: "tiny-sentencepiece", model: "llama", tokens: tokens, scores: scores, tokenTypes: types,
            chatTemplate: chatTemplate))
    }

    /// Both, built once.
    static let all: [Tokenizer] = [try? byteLevel(), try? sentencePiece()].compactMap { $0 }
}

private extension String {
    /// Two upper-case hexadecimal digits.
    init(format2 value: Int) {
        let digits = Array("0123456789ABCDEF")
        self = String([digits[value >> 4], digits[value & 15]])
    }
}

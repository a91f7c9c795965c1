// Incremental decoding for streamed generation. A token may end inside a UTF-8 character
// (byte-level BPE and byte-fallback tokens split emoji and CJK across tokens), so the bytes of an
// unfinished character are held back until the next token completes them; a SentencePiece
// vocabulary's leading space is dropped once, at the start of a text — not when the stream
// continues a prompt, as generated text does (llama.cpp, vLLM and transformers' streamers keep
// it too). Concatenating every `append` result and `finish()` gives exactly
// `tokenizer.decode(ids, continuesText:)`.

public struct StreamingDetokenizer: Sendable {
    public let tokenizer: Tokenizer
    public let skipSpecialTokens: Bool
    /// Bytes decoded but not yet emitted: at most the first 1–3 bytes of one character.
    private var pending: [UInt8] = []
    /// The decoder's own state (byte-fallback bytes, leading spaces still to strip).
    private var state: DecodeState

    /// - Parameter continuesText: the tokens continue a text already written (a prompt).
    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = false, continuesText: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
        self.state = DecodeState(tokenizer.decoder, continuesText: continuesText)
    }

    /// The text that `id` completes (possibly empty).
    public mutating func append(_ id: TokenID) -> String {
        tokenizer.appendDecoded(id, skipSpecialTokens: skipSpecialTokens, state: &state, to: &pending)
        let cut = Self.completePrefixLength(pending)
        if cut == 0 { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// The rest: an unfinished character at the end becomes U+FFFD, as `decode` would write it.
    public mutating func finish() -> String {
        tokenizer.finishDecoding(&state, to: &pending)
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Whether bytes are held back waiting for the rest of a character.
    public var hasPendingBytes: Bool { !pending.isEmpty || !state.pendingBytes.isEmpty }

    /// Length of the longest prefix after which UTF-8 decoding cannot change, whatever bytes
    /// follow: everything except a trailing sequence that is a valid but incomplete character.
    /// Decoding is then compositional at the cut: the byte after it starts a new character (or
    /// is invalid on its own), exactly as in the decoding of the whole.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // The last byte that is not a continuation byte, within the longest character's reach.
        var lead = n - 1
        while lead >= 0, lead >= n - 4, bytes[lead] & 0xC0 == 0x80 { lead -= 1 }
        guard lead >= 0, lead >= n - 4 else { return n }
        let first = bytes[lead]
        let length: Int
        switch first {
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return n  // ASCII, or a byte no character starts with: nothing to wait for.
        }
        let have = n - lead
        if have >= length { return n }
        // The second byte's range depends on the lead (no overlongs, no surrogates, ≤ U+10FFFF).
        if have >= 2 {
            let second = bytes[lead + 1]
            let valid: ClosedRange<UInt8> = switch first {
            case 0xE0: 0xA0...0xBF
            case 0xED: 0x80...0x9F
            case 0xF0: 0x90...0xBF
            case 0xF4: 0x80...0x8F
            default: 0x80...0xBF
            }
            if !valid.contains(second) { return n }
        }
        return lead
    }
}

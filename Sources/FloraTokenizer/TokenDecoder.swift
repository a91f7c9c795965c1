// How ids become text: Hugging Face `tokenizers`' decoders, one shape per vocabulary family.
// - ByteLevel: every token's characters stand for bytes (GPT-2's table); the bytes are read as
//   UTF-8, an invalid sequence as U+FFFD (`from_utf8_lossy`).
// - SentencePiece vocabularies: Replace("▁" → " "), ByteFallback, Fuse, Strip(" ", n, 0) — or the
//   Metaspace decoder, which drops the `▁` of the first token instead of stripping a space.
// Decoding is one pass over the ids with a little state, so that `decode` and the streaming
// detokenizer share it and agree byte for byte.

/// A tokenizer's decoder.
public enum TokenDecoder: Sendable, Equatable, CustomStringConvertible {
    /// GPT-2 byte-level decoding.
    case byteLevel
    /// SentencePiece-style decoding.
    case sentencePiece(SentencePieceDecoding)

    public var description: String {
        switch self {
        case .byteLevel: "byte-level"
        case .sentencePiece(let d): "sentencepiece(\(d))"
        }
    }
}

/// The decoder of a SentencePiece vocabulary.
public struct SentencePieceDecoding: Sendable, Equatable, CustomStringConvertible {
    /// The character written for a space (`▁`): decoded as " " (nil: tokens decode as spelled).
    public var replacement: Unicode.Scalar?
    /// `<0xNN>` tokens decode to their byte (Hugging Face ByteFallback; GGUF byte tokens).
    public var byteFallback: Bool
    /// Spaces dropped from the start of the decoded text (Strip(" ", n, 0) after Fuse).
    public var stripLeadingSpaces: Int
    /// The Metaspace decoder: the first token's replacement characters are dropped rather than
    /// decoded as spaces.
    public var dropReplacementInFirstToken: Bool

    public init(replacement: Unicode.Scalar? = "▁", byteFallback: Bool = true, stripLeadingSpaces: Int = 1,
                dropReplacementInFirstToken: Bool = false) {
        self.replacement = replacement
        self.byteFallback = byteFallback
        self.stripLeadingSpaces = stripLeadingSpaces
        self.dropReplacementInFirstToken = dropReplacementInFirstToken
    }

    /// Llama's decoder (Replace, ByteFallback, Fuse, Strip one space), which llama.cpp also
    /// applies to GGUF "llama" vocabularies with `add_space_prefix`.
    public static let llama = SentencePieceDecoding()

    public var description: String {
        var parts: [String] = []
        if let replacement { parts.append("\"\(replacement)\" → \" \"") }
        if byteFallback { parts.append("byte fallback") }
        if stripLeadingSpaces > 0 { parts.append("strip \(stripLeadingSpaces)") }
        if dropReplacementInFirstToken { parts.append("metaspace") }
        return parts.joined(separator: ", ")
    }
}

/// What one decoding pass remembers between tokens.
struct DecodeState: Sendable {
    /// Bytes of byte-fallback tokens that do not form a whole character yet.
    var pendingBytes: [UInt8] = []
    /// Leading spaces still to drop (Strip), until the first other character.
    var spacesToStrip: Int
    /// Tokens decoded so far (skipped ones not counted), for the Metaspace decoder's first token.
    var tokenCount = 0

    /// - Parameter continuesText: the ids continue a text decoded before (generated tokens after
    ///   their prompt): nothing is stripped, and no token is the first.
    init(_ decoder: TokenDecoder, continuesText: Bool = false) {
        if case .sentencePiece(let d) = decoder, !continuesText { spacesToStrip = d.stripLeadingSpaces } else { spacesToStrip = 0 }
        if continuesText { tokenCount = 1 }
    }
}

extension Tokenizer {
    /// Appends what `id` decodes to. Byte-level output may end inside a character (the caller
    /// reads it as UTF-8 at the end); SentencePiece output is always whole characters, since
    /// unfinished byte-fallback characters wait in `state`.
    func appendDecoded(_ id: TokenID, skipSpecialTokens: Bool, state: inout DecodeState, to output: inout [UInt8]) {
        guard id >= 0, Int(id) < tokens.count else { return }
        let index = Int(id)
        let kind = tokenKinds[index]
        if skipSpecialTokens && kind & TokenKind.special != 0 { return }
        let surface = tokenBytes[Int(tokenByteOffsets[index])..<Int(tokenByteOffsets[index + 1])]
        guard case .sentencePiece(let decoding) = decoder else {
            output.append(contentsOf: surface)
            return
        }
        state.tokenCount += 1
        if kind & TokenKind.byte != 0 {
            state.pendingBytes.append(contentsOf: surface)
            emitPending(&state, endOfRun: false, to: &output)
            return
        }
        emitPending(&state, endOfRun: true, to: &output)
        if state.tokenCount == 1, decoding.dropReplacementInFirstToken, let replacement = decoding.replacement {
            var text = String.UnicodeScalarView()
            text.append(contentsOf: tokens[index].unicodeScalars.lazy.filter { $0 != replacement })
            emit(Array(String(text).utf8)[...], &state, to: &output)
        } else {
            emit(surface, &state, to: &output)
        }
    }

    /// Ends a decoding pass: an unfinished byte-fallback character becomes U+FFFD per byte.
    func finishDecoding(_ state: inout DecodeState, to output: inout [UInt8]) {
        emitPending(&state, endOfRun: true, to: &output)
    }

    private func emitPending(_ state: inout DecodeState, endOfRun: Bool, to output: inout [UInt8]) {
        if state.pendingBytes.isEmpty { return }
        var characters: [UInt8] = []
        ByteFallback.drain(&state.pendingBytes, endOfRun: endOfRun, into: &characters)
        emit(characters[...], &state, to: &output)
    }

    /// Appends whole characters, dropping the leading spaces Strip removes.
    private func emit(_ bytes: ArraySlice<UInt8>, _ state: inout DecodeState, to output: inout [UInt8]) {
        var start = bytes.startIndex
        while state.spacesToStrip > 0, start < bytes.endIndex {
            if bytes[start] == UInt8(ascii: " ") {
                state.spacesToStrip -= 1
                start += 1
            } else {
                state.spacesToStrip = 0
            }
        }
        output.append(contentsOf: bytes[start...])
    }
}

/// Bits of `Tokenizer.tokenKinds`.
enum TokenKind {
    /// Dropped by `decode(skipSpecialTokens: true)`.
    static let special: UInt8 = 1
    /// A byte-fallback token: its surface is one raw byte.
    static let byte: UInt8 = 2
}

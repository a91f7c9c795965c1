// Hugging Face `tokenizers`' Metaspace pre-tokenizer (pre_tokenizers/metaspace.rs): spaces are
// written as the replacement character (SentencePiece's `▁`, U+2581), the replacement is put
// before the text by the prepend scheme, and the text is optionally cut before every
// replacement. transformers writes it for Llama-family SentencePiece vocabularies
// (prepend_scheme "first", split false).

/// The Metaspace pre-tokenizer's settings.
public struct Metaspace: Sendable, Equatable, CustomStringConvertible {
    public enum PrependScheme: String, Sendable {
        /// Before every piece of text that does not start with the replacement.
        case always
        /// Only before the piece that starts the whole input (not after an added token).
        case first
        case never
    }

    public var replacement: Unicode.Scalar
    public var prependScheme: PrependScheme
    /// Cut before every replacement character (Hugging Face's MergedWithNext: `▁a▁▁b` gives
    /// `▁a`, `▁`, `▁b`).
    public var split: Bool

    public init(replacement: Unicode.Scalar = "▁", prependScheme: PrependScheme, split: Bool) {
        self.replacement = replacement
        self.prependScheme = prependScheme
        self.split = split
    }

    public var description: String { "metaspace(\(prependScheme.rawValue)\(split ? ", split" : ""))" }

    /// Writes spaces as the replacement and prepends it as the scheme says (never to an empty
    /// piece, which has no pieces at all). `startsInput`: the piece begins at the input's first character.
    func apply(_ text: inout [Unicode.Scalar], startsInput: Bool) {
        if text.isEmpty { return }
        for i in text.indices where text[i] == " " { text[i] = replacement }
        let prepend = switch prependScheme {
        case .always: true
        case .first: startsInput
        case .never: false
        }
        if prepend, text.first != replacement { text.insert(replacement, at: 0) }
    }

    /// Calls `body` with the range of every piece: cut before each replacement when `split`.
    func forEachPiece(_ text: [Unicode.Scalar], _ body: (Range<Int>) -> Void) {
        guard split else {
            if !text.isEmpty { body(0..<text.count) }
            return
        }
        var start = 0
        for i in text.indices where i > start && text[i] == replacement {
            body(start..<i)
            start = i
        }
        if start < text.count { body(start..<text.count) }
    }
}

// Normalization: what happens to each piece of plain text (between added tokens) before it is
// cut into pieces. Follows Hugging Face `tokenizers`' normalizers NFC, Prepend and Replace (with a
// literal pattern), applied in order; GGUF "llama" vocabularies get Prepend("▁") + Replace(" ",
// "▁"), which is llama.cpp's space prefix and whitespace escaping (llama-vocab.cpp, SPM path).

import Foundation

/// An ordered list of normalization steps (Hugging Face `normalizer`, possibly a `Sequence`).
public struct Normalizer: Sendable, Equatable, CustomStringConvertible {
    public enum Step: Sendable, Equatable {
        /// Unicode canonical composition.
        case nfc
        /// Puts the text before a piece that is not empty (Hugging Face `Prepend`).
        case prepend(String)
        /// Replaces every occurrence of a literal text, left to right (Hugging Face `Replace`
        /// with a `String` pattern).
        case replace(String, with: String)
    }

    public let steps: [Step]

    public init(steps: [Step]) { self.steps = steps }

    /// No normalization.
    public static let none = Normalizer(steps: [])
    /// Canonical composition only.
    public static let nfc = Normalizer(steps: [.nfc])
    /// SentencePiece's whitespace handling as Llama's tokenizer.json (legacy) and llama.cpp do
    /// it: `▁` before the text, every space written as `▁`.
    public static let sentencePiece = Normalizer(steps: [.prepend("▁"), .replace(" ", with: "▁")])

    public var isEmpty: Bool { steps.isEmpty }

    public var description: String {
        if steps.isEmpty { return "none" }
        return steps.map { step in
            switch step {
            case .nfc: "NFC"
            case .prepend(let text): "prepend(\(text.debugDescription))"
            case .replace(let pattern, let content): "replace(\(pattern.debugDescription) → \(content.debugDescription))"
            }
        }.joined(separator: " → ")
    }

    /// The normalized text of `scalars`.
    func apply(_ scalars: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        var text = Array(scalars)
        for step in steps {
            switch step {
            case .nfc:
                var view = String.UnicodeScalarView()
                view.append(contentsOf: text)
                text = Array(String(view).precomposedStringWithCanonicalMapping.unicodeScalars)
            case .prepend(let prefix):
                if !text.isEmpty { text.insert(contentsOf: prefix.unicodeScalars, at: 0) }
            case .replace(let pattern, let content):
                text = Self.replacing(Array(pattern.unicodeScalars), with: Array(content.unicodeScalars), in: text)
            }
        }
        return text
    }

    /// `text` with every non-overlapping occurrence of `pattern` (searched left to right) replaced.
    static func replacing(_ pattern: [Unicode.Scalar], with content: [Unicode.Scalar], in text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard let first = pattern.first, text.count >= pattern.count else { return text }
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if text[i] == first, i + pattern.count <= text.count, text[i..<(i + pattern.count)].elementsEqual(pattern) {
                result.append(contentsOf: content)
                i += pattern.count
            } else {
                result.append(text[i])
                i += 1
            }
        }
        return result
    }
}

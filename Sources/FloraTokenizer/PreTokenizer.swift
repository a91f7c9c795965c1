// Pre-tokenization: how text is cut into the pieces that BPE merges within. Follows Hugging
// Face `tokenizers` (pre_tokenizers: Sequence, Digits, Split with Isolated behaviour, ByteLevel
// with use_regex) and llama.cpp's table of `tokenizer.ggml.pre` names (llama-vocab.cpp).

/// An ordered list of splitting steps; each step splits every piece the previous one produced.
public struct PreTokenizer: Sendable, Equatable, CustomStringConvertible {
    public enum Step: Sendable, Equatable {
        /// Hugging Face `Digits`: each \p{N} character alone (`individually`), or runs of them,
        /// cut out of the text; the text between stays whole.
        case digits(individually: Bool)
        /// Hugging Face `Split` (behaviour Isolated) or `ByteLevel(use_regex: true)`: the
        /// pattern's matches become the pieces.
        case pattern(SplitPattern)
    }

    public let steps: [Step]

    public init(steps: [Step]) { self.steps = steps }

    /// GPT-2's byte-level regex alone.
    public static let gpt2 = PreTokenizer(steps: [.pattern(.gpt2)])
    /// SmolLM, StarCoder and their family: every digit alone, then GPT-2's regex.
    public static let smolLM = PreTokenizer(steps: [.digits(individually: true), .pattern(.gpt2)])
    public static let llama3 = PreTokenizer(steps: [.pattern(.llama3)])
    public static let qwen2 = PreTokenizer(steps: [.pattern(.qwen2)])

    public var description: String {
        if steps.isEmpty { return "none" }
        return steps.map { step in
            switch step {
            case .digits(let individually): individually ? "digits(individually)" : "digits"
            case .pattern(let pattern): "split(\(pattern.rawValue))"
            }
        }.joined(separator: " → ")
    }

    /// The pre-tokenizer a GGUF file names in `tokenizer.ggml.pre`, and whether llama.cpp
    /// looks a whole piece up in the vocabulary before merging (`ignore_merges`).
    /// An absent name means "default", which Flora reads as GPT-2's regex.
    public static func gguf(_ name: String?) throws -> (preTokenizer: PreTokenizer, ignoreMerges: Bool) {
        let name = name ?? "default"
        switch name {
        case "default", "gpt2", "gpt-2", "phi-2", "roberta-bpe", "mpt", "olmo", "jais", "trillion", "exaone4",
             "gigachat", "jina-es", "jina-de", "jina-v1-en", "jina-v2-es", "jina-v2-de", "jina-v2-code":
            return (.gpt2, false)
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b":
            return (.smolLM, false)
        case "llama3", "llama-v3", "llama-bpe", "falcon3":
            return (.llama3, true)
        case "dbrx", "smaug-bpe":
            return (.llama3, false)
        case "qwen2", "stablelm2", "deepseek-r1-qwen", "megrez":
            return (.qwen2, false)
        default:
            throw TokenizerError.unsupported(
                item: "tokenizer.ggml.pre", found: "\"\(name)\"",
                supported: "gpt2/default family, smollm/starcoder/refact/command-r/codeshell/exaone/minerva-7b, "
                    + "llama3/llama-bpe/llama-v3/falcon3/dbrx/smaug-bpe, qwen2/stablelm2/deepseek-r1-qwen/megrez")
        }
    }

    /// The pieces of `text` (for inspection and tests; the encoder works on scalar ranges).
    public func split(_ text: String) -> [String] {
        let classified = ClassifiedText(text)
        var pieces: [String] = []
        forEachPiece(classified, 0..<classified.scalars.count) { range in
            var piece = String.UnicodeScalarView()
            piece.append(contentsOf: classified.scalars[range])
            pieces.append(String(piece))
        }
        return pieces
    }

    /// Calls `body` with the scalar range of every piece of `range`, in order.
    func forEachPiece(_ text: ClassifiedText, _ range: Range<Int>, _ body: (Range<Int>) -> Void) {
        forEachPiece(text, range, step: 0, body)
    }

    private func forEachPiece(_ text: ClassifiedText, _ range: Range<Int>, step: Int, _ body: (Range<Int>) -> Void) {
        if range.isEmpty { return }
        if step == steps.count { body(range); return }
        switch steps[step] {
        case .digits(let individually):
            var start = range.lowerBound
            var i = range.lowerBound
            while i < range.upperBound {
                guard text.classes[i] & CharClass.number != 0 else { i += 1; continue }
                forEachPiece(text, start..<i, step: step + 1, body)
                var digitsEnd = i + 1
                if !individually {
                    while digitsEnd < range.upperBound, text.classes[digitsEnd] & CharClass.number != 0 { digitsEnd += 1 }
                }
                forEachPiece(text, i..<digitsEnd, step: step + 1, body)
                i = digitsEnd
                start = i
            }
            forEachPiece(text, start..<range.upperBound, step: step + 1, body)
        case .pattern(let pattern):
            var i = range.lowerBound
            while i < range.upperBound {
                let end = pattern.matchEnd(text, i, range.upperBound)
                forEachPiece(text, i..<end, step: step + 1, body)
                i = end
            }
        }
    }
}

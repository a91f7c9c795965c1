// Tokenized training data of one adapter: documents packed into windows, prompt/completion pairs
// one sequence each, and the held-out split (the last fraction of the sequences, in file order,
// so that `flora eval` finds the same split without knowing the training seed).

import FloraTensor
import FloraTokenizer

public struct TrainingDataset: Sendable {
    public let name: String
    /// Where the data came from (for messages and the checkpoint).
    public let source: String
    public let train: [TrainingExample]
    public let heldOut: [TrainingExample]
    /// Pairs dropped because not one completion token fit into the sequence length.
    public let droppedPairs: Int

    public init(name: String, source: String, train: [TrainingExample], heldOut: [TrainingExample], droppedPairs: Int = 0) {
        self.name = name
        self.source = source
        self.train = train
        self.heldOut = heldOut
        self.droppedPairs = droppedPairs
    }

    /// FNV-1a (a whole word per step) over every token, target flag and segment start: a resumed run checks it sees the same data.
    public var fingerprint: UInt64 {
        var hash = FNV1a()
        for example in train + [TrainingExample(tokens: [])] + heldOut {
            hash.mix(wholeWord: UInt64(example.tokens.count))
            for (token, target) in zip(example.tokens, example.targetMask) {
                hash.mix(wholeWord: UInt64(UInt32(bitPattern: token)) << 1 | (target ? 1 : 0))
            }
            for start in example.segmentStarts { hash.mix(wholeWord: UInt64(start)) }
        }
        return hash.value
    }

    /// Reads, tokenizes, packs and splits the data at `path`.
    public static func load(
        name: String, path: String, tokenizer: Tokenizer, sequenceLength: Int, evalFraction: Double
    ) throws -> TrainingDataset {
        let records = try TrainingRecords.load(path: path)
        let (examples, dropped) = try sequences(records, tokenizer: tokenizer, sequenceLength: sequenceLength)
        guard !examples.isEmpty else {
            throw TrainingError.data(file: path, line: nil, detail: "no sequence with a token to predict fits in --seq-len \(sequenceLength)")
        }
        let (train, heldOut) = split(examples, evalFraction: evalFraction)
        return TrainingDataset(name: name, source: path, train: train, heldOut: heldOut, droppedPairs: dropped)
    }

    /// Documents (each followed by the end-of-sequence token) are concatenated and cut into
    /// windows of `sequenceLength` tokens that overlap by one, so every token after a document's
    /// first is predicted exactly once; attention and positions restart at document boundaries.
    /// A pair is `prompt + completion + eos`, scored on `completion + eos`; a long one keeps its
    /// end (the prompt is cut from the left).
    public static func sequences(
        _ records: [TrainingRecord], tokenizer: Tokenizer, sequenceLength: Int
    ) throws -> (examples: [TrainingExample], droppedPairs: Int) {
        try sequences(
            records, sequenceLength: sequenceLength, endOfSequence: tokenizer.eosTokenId,
            encode: { text, addSpecialTokens in tokenizer.encode(text, addSpecialTokens: addSpecialTokens) })
    }

    /// `sequences(_:tokenizer:sequenceLength:)` with any tokenizer: `encode(text, addSpecialTokens)`.
    public static func sequences(
        _ records: [TrainingRecord], sequenceLength: Int, endOfSequence: Int32?, encode: (String, Bool) -> [Int32]
    ) throws -> (examples: [TrainingExample], droppedPairs: Int) {
        guard sequenceLength >= 2 else { throw TrainingError.invalidArgument("the sequence length must be at least 2, got \(sequenceLength)") }
        let eos = endOfSequence.map { [$0] } ?? []
        var stream: [Int32] = []
        var documentStarts: [Int] = []
        var pairs: [TrainingExample] = []
        var dropped = 0
        for record in records {
            switch record {
            case .text(let text):
                let tokens = encode(text, true) + eos
                documentStarts.append(stream.count)
                stream += tokens
            case .pair(let prompt, let completion):
                var promptTokens = encode(prompt, true)
                var completionTokens = encode(completion, false) + eos
                if promptTokens.isEmpty || completionTokens.isEmpty {
                    dropped += 1
                    continue
                }
                if promptTokens.count + completionTokens.count > sequenceLength {
                    completionTokens = Array(completionTokens.prefix(sequenceLength - 1))
                    promptTokens = Array(promptTokens.suffix(sequenceLength - completionTokens.count))
                }
                let tokens = promptTokens + completionTokens
                let mask = [Bool](repeating: false, count: promptTokens.count) + [Bool](repeating: true, count: completionTokens.count)
                pairs.append(TrainingExample(tokens: tokens, targetMask: mask))
            }
        }
        var windows: [TrainingExample] = []
        var start = 0
        var nextDocument = 0
        while stream.count - start >= 2 {
            let end = min(start + sequenceLength, stream.count)
            while nextDocument < documentStarts.count && documentStarts[nextDocument] < start { nextDocument += 1 }
            var starts = [0]
            var d = nextDocument
            while d < documentStarts.count && documentStarts[d] < end {
                if documentStarts[d] > start { starts.append(documentStarts[d] - start) }
                d += 1
            }
            let window = TrainingExample(tokens: Array(stream[start..<end]), segmentStarts: starts)
            if window.targetCount > 0 { windows.append(window) }
            if end == stream.count { break }
            start = end - 1
        }
        return (windows + pairs, dropped)
    }

    /// The last `ceil(fraction · count)` sequences are held out (none for fraction 0; at least one
    /// training sequence is kept).
    public static func split(_ examples: [TrainingExample], evalFraction: Double) -> (train: [TrainingExample], heldOut: [TrainingExample]) {
        guard evalFraction > 0, examples.count >= 2 else { return (examples, []) }
        let held = min(examples.count - 1, max(1, Int((Double(examples.count) * evalFraction).rounded(.up))))
        return (Array(examples.dropLast(held)), Array(examples.suffix(held)))
    }
}

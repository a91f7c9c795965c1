// One request's side of the engine: its sampler, its text so far, the one place that decides
// when it finishes (stop token, stop string, length), and the continuation its client reads.
//
// Stop strings are matched on the UTF-8 bytes of the decoded text, incrementally: a stop string
// that ends in the newest piece starts at most `longest stop − 1` bytes before it, so each token
// searches only that window (O(new text) per token, not a rescan of the whole output). Bytes at
// the end that could begin a stop string are held back until they cannot; a held-back suffix
// equals a prefix of a valid UTF-8 string, so it starts on a character boundary.
//
// Under `min_tokens` (vLLM's rule) a stop string ends nothing while `generated ≤ min_tokens`:
// only a match that ends in the text of a later token counts (`stopFloor`).

import FloraTokenizer

struct RequestStream {
    typealias Continuation = AsyncThrowingStream<EngineOutput, any Error>.Continuation

    let continuation: Continuation
    let promptTokenCount: Int
    let adapterName: String?
    /// Generated tokens after which the request finishes with `.length` (the request's
    /// `max_tokens`, cut to what the context holds).
    let maxTokens: Int
    let stopTokens: Set<Int32>
    private let stopStrings: [[UInt8]]
    private let longestStop: Int
    private let minTokens: Int
    /// A stop string counts only if it ends after this byte of `text` (the text made while
    /// `min_tokens` held stop strings off).
    private var stopFloor = 0
    var sampler: Sampler
    /// The request's response_format, if it has one.
    var constraint: JSONConstraint?
    private var detokenizer: StreamingDetokenizer
    private(set) var generated = 0
    /// The decoded text so far, as UTF-8, and how much of it the client has been sent.
    private var text: [UInt8] = []
    private var sentCount = 0
    let arrival: ContinuousClock.Instant
    var lastToken: ContinuousClock.Instant?

    init(continuation: Continuation, request: EngineRequest, maxTokens: Int, tokenizer: Tokenizer, arrival: ContinuousClock.Instant) {
        self.continuation = continuation
        promptTokenCount = request.promptTokens.count
        adapterName = request.adapterName
        self.maxTokens = maxTokens
        // ignore_eos drops the model's own stop tokens; the request's still stop it.
        let stopTokens = (request.parameters.ignoreEOS ? [] : tokenizer.stopTokenIds).union(request.parameters.stopTokenIds)
        self.stopTokens = stopTokens
        stopStrings = request.parameters.stopStrings.filter { !$0.isEmpty }.map { Array($0.utf8) }
        longestStop = stopStrings.map(\.count).max() ?? 0
        minTokens = request.parameters.minTokens
        sampler = Sampler(request.parameters, promptTokens: request.promptTokens, stopTokens: stopTokens)
        // Generated text continues the prompt: a SentencePiece vocabulary keeps its first space.
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: true, continuesText: true)
        self.arrival = arrival
    }

    /// Takes a chosen token; returns the piece to send, with a finish reason when this token
    /// ends the request: a stop token, a stop string (cut from the output with what follows
    /// it), or `maxTokens` reached.
    mutating func accept(_ sampled: SampledToken) -> EngineOutput {
        generated += 1
        if stopTokens.contains(sampled.token) {
            text += Array(detokenizer.finish().utf8)
            return output([sampled], upTo: stopStringStart(after: sentCount) ?? text.count, finish: .stop)
        }
        let searchFrom = max(sentCount, text.count - max(longestStop - 1, 0))
        text += Array(detokenizer.append(sampled.token).utf8)
        if generated <= minTokens { stopFloor = text.count }
        if let cut = stopStringStart(after: searchFrom) {
            return output([sampled], upTo: cut, finish: .stop)
        }
        if let constraint {
            constraint.accept(sampled.token)
            if constraint.isFinished {
                text += Array(detokenizer.finish().utf8)
                return output([sampled], upTo: stopStringStart(after: searchFrom) ?? text.count, finish: .stop)
            }
        }
        if generated >= maxTokens {
            text += Array(detokenizer.finish().utf8)
            if generated <= minTokens { stopFloor = text.count }
            return output([sampled], upTo: stopStringStart(after: searchFrom) ?? text.count, finish: .length)
        }
        return output([sampled], upTo: text.count - heldBack(), finish: nil)
    }

    /// The logits the sampler may choose from: the model's, or under a response_format those
    /// of the allowed tokens (the rest −∞, in `scratch`); nil when the format allows no token.
    func constrained(_ logits: UnsafeBufferPointer<Float>, scratch: UnsafeMutablePointer<Float>) -> UnsafeBufferPointer<Float>? {
        guard let constraint else { return logits }
        return constraint.masked(logits, scratch: scratch)
    }

    /// The last piece when the engine ends the request for another reason (abort, shutdown).
    mutating func finish(_ reason: FinishReason) -> EngineOutput {
        let searchFrom = max(sentCount, text.count - max(longestStop - 1, 0))
        text += Array(detokenizer.finish().utf8)
        return output([], upTo: stopStringStart(after: searchFrom) ?? text.count, finish: reason)
    }

    private mutating func output(_ tokens: [SampledToken], upTo end: Int, finish: FinishReason?) -> EngineOutput {
        let end = max(end, sentCount)
        let piece = String(decoding: text[sentCount..<end], as: UTF8.self)
        sentCount = end
        return EngineOutput(tokens: tokens, text: piece, finishReason: finish, promptTokenCount: promptTokenCount, generatedTokenCount: generated)
    }

    /// Where the earliest stop string starting at or after byte `start` begins, if one has appeared.
    private func stopStringStart(after start: Int) -> Int? {
        guard !stopStrings.isEmpty, start < text.count else { return nil }
        var best: Int?
        for stop in stopStrings where text.count - start >= stop.count {
            var at = max(start, stopFloor + 1 - stop.count)
            while at + stop.count <= text.count, at < (best ?? .max) {
                if text[at] == stop[0], text[at..<(at + stop.count)].elementsEqual(stop) {
                    best = at
                    break
                }
                at += 1
            }
        }
        return best
    }

    /// Bytes at the end of the text that could begin a stop string: not sent yet.
    private func heldBack() -> Int {
        var held = 0
        for stop in stopStrings {
            for length in stride(from: min(stop.count - 1, text.count - sentCount), to: held, by: -1)
            where text[(text.count - length)...].elementsEqual(stop[..<length]) {
                held = length
                break
            }
        }
        return held
    }
}

// One request's side of the engine: its sampler, its text so far, stop-string matching across
// token boundaries, and the continuation its client reads.

import FloraTokenizer

struct RequestStream {
    typealias Continuation = AsyncThrowingStream<EngineOutput, any Error>.Continuation

    let continuation: Continuation
    let handle: RequestHandle
    let promptTokenCount: Int
    let adapterName: String?
    let parameters: SamplingParameters
    let stopTokens: Set<Int32>
    var sampler: Sampler
    var detokenizer: StreamingDetokenizer
    var generated = 0
    /// Text decoded so far, and how much of it the client has been sent.
    var text = ""
    var sentCount = 0
    let arrival: ContinuousClock.Instant
    var lastToken: ContinuousClock.Instant?

    init(continuation: Continuation, handle: RequestHandle, request: EngineRequest, tokenizer: Tokenizer, arrival: ContinuousClock.Instant) {
        self.continuation = continuation
        self.handle = handle
        promptTokenCount = request.promptTokens.count
        adapterName = request.adapterName
        parameters = request.parameters
        stopTokens = Set(tokenizer.stopTokenIds.map(Int32.init)).union(request.parameters.stopTokenIds)
        sampler = Sampler(request.parameters)
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: true)
        self.arrival = arrival
    }

    /// Takes a chosen token; returns the piece to send and whether the request stopped (a stop
    /// token, or a stop string, whose text is cut from the output).
    mutating func accept(_ sampled: SampledToken) -> (piece: EngineOutput, stopped: Bool) {
        generated += 1
        if stopTokens.contains(sampled.token) {
            text += detokenizer.finish()
            return (output([sampled], upTo: text.count, finish: .stop), true)
        }
        text += detokenizer.append(Int(sampled.token))
        if let cut = stopStringStart() {
            return (output([sampled], upTo: cut, finish: .stop), true)
        }
        return (output([sampled], upTo: text.count - heldBack(), finish: nil), false)
    }

    /// The last piece when the engine ends the request for another reason (length, abort).
    mutating func finish(_ reason: FinishReason) -> EngineOutput {
        text += detokenizer.finish()
        let cut = stopStringStart() ?? text.count
        return output([], upTo: cut, finish: reason)
    }

    private mutating func output(_ tokens: [SampledToken], upTo end: Int, finish: FinishReason?) -> EngineOutput {
        let end = max(end, sentCount)
        let start = text.index(text.startIndex, offsetBy: sentCount)
        let piece = String(text[start..<text.index(text.startIndex, offsetBy: end)])
        sentCount = end
        return EngineOutput(tokens: tokens, text: piece, finishReason: finish, promptTokenCount: promptTokenCount, generatedTokenCount: generated)
    }

    /// Where the first stop string starts in the text, if one has appeared.
    private func stopStringStart() -> Int? {
        var best: Int?
        for stop in parameters.stopStrings where !stop.isEmpty {
            if let range = text.range(of: stop) {
                let at = text.distance(from: text.startIndex, to: range.lowerBound)
                best = min(best ?? at, at)
            }
        }
        return best
    }

    /// Characters at the end of the text that could begin a stop string: not sent yet.
    private func heldBack() -> Int {
        var held = 0
        for stop in parameters.stopStrings where !stop.isEmpty {
            for length in stride(from: min(stop.count - 1, text.count), to: held, by: -1)
            where text.hasSuffix(String(stop.prefix(length))) {
                held = length
                break
            }
        }
        return held
    }
}

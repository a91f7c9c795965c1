// Picks the next token of one sequence from its logits: greedy, or temperature with top-k and
// top-p (applied in that order, as vLLM does), with a per-request seeded generator.

import FloraTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct TokenLogprob: Sendable, Equatable {
    public var token: Int32
    public var logprob: Float
    public init(token: Int32, logprob: Float) {
        self.token = token
        self.logprob = logprob
    }
}

/// The chosen token, its log-probability under the model, and the most likely alternatives.
public struct SampledToken: Sendable, Equatable {
    public var token: Int32
    public var logprob: Float
    public var top: [TokenLogprob]
}

public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var generator: SeededGenerator
    /// nil when every processor is off (the model's logits are sampled as they are).
    public private(set) var processors: LogitsProcessors?

    /// `promptTokens` feed the repetition penalty; `stopTokens` are masked under `min_tokens`.
    public init(_ parameters: SamplingParameters, promptTokens: [Int32] = [], stopTokens: Set<Int32> = []) {
        self.parameters = parameters
        generator = SeededGenerator(seed: parameters.seed ?? UInt64.random(in: 0...UInt64.max))
        processors = LogitsProcessors(parameters, promptTokens: promptTokens, stopTokens: stopTokens)
    }

    /// `probabilities` and `processed` are scratch of at least `logits.count` floats each,
    /// reused across calls (`processed` holds the logits after the logits processors).
    ///
    /// The reported log-probabilities are the model's raw ones, before bias, penalties and
    /// temperature (vLLM v1's default `logprobs_mode = raw_logprobs`): the processors change
    /// which token is picked, not what the model thought of it.
    public mutating func sample(
        _ logits: UnsafeBufferPointer<Float>, probabilities: UnsafeMutablePointer<Float>, processed: UnsafeMutablePointer<Float>
    ) -> SampledToken {
        let vocab = logits.count
        let logNormalizer = Self.logSumExp(logits)
        var scores = logits
        if let processors {
            processors.apply(logits, into: processed)
            scores = UnsafeBufferPointer(start: processed, count: vocab)
        }
        let token: Int
        if parameters.temperature == 0 {
            token = Self.argmax(scores)
        } else {
            token = sampleTempered(scores, probabilities: probabilities)
        }
        processors?.record(Int32(token))
        let top = parameters.logprobs > 0
            ? Self.topIndices(logits, count: parameters.logprobs).map { TokenLogprob(token: Int32($0), logprob: logits[$0] - logNormalizer) }
            : []
        precondition(token >= 0 && token < vocab)
        return SampledToken(token: Int32(token), logprob: logits[token] - logNormalizer, top: top)
    }

    private mutating func sampleTempered(_ logits: UnsafeBufferPointer<Float>, probabilities p: UnsafeMutablePointer<Float>) -> Int {
        let vocab = logits.count
        let inverseTemperature = 1 / parameters.temperature
        var candidates: [Int]? = nil   // nil: the whole vocabulary
        if parameters.topK > 0, parameters.topK < vocab {
            candidates = Self.topIndices(logits, count: parameters.topK)
        }
        // Probabilities over the candidates, relative to the best logit for stability.
        let best = candidates.map { logits[$0[0]] } ?? logits.max() ?? 0
        var total: Float = 0
        if let candidates {
            for i in 0..<vocab { p[i] = 0 }
            for i in candidates { p[i] = expf((logits[i] - best) * inverseTemperature); total += p[i] }
        } else {
            for i in 0..<vocab { p[i] = expf((logits[i] - best) * inverseTemperature); total += p[i] }
        }
        for i in 0..<vocab { p[i] /= total }
        if parameters.topP < 1 {
            nucleus(p, count: vocab)
        }
        var mass: Float = 0
        for i in 0..<vocab { mass += p[i] }
        let u = generator.nextUnitFloat() * mass
        var cumulative: Float = 0
        var last = 0
        for i in 0..<vocab where p[i] > 0 {
            cumulative += p[i]
            last = i
            if u < cumulative { return i }
        }
        return last
    }

    /// Zeroes every probability outside the smallest set of most likely tokens whose mass
    /// reaches top-p. Bisects for a threshold first so that only the few tokens near the
    /// nucleus are sorted, not the whole vocabulary.
    private func nucleus(_ p: UnsafeMutablePointer<Float>, count: Int) {
        let topP = parameters.topP
        var low: Float = 0, high: Float = 0
        for i in 0..<count where p[i] > high { high = p[i] }
        for _ in 0..<30 {
            let middle = (low + high) / 2
            var mass: Float = 0
            for i in 0..<count where p[i] >= middle { mass += p[i] }
            if mass >= topP { low = middle } else { high = middle }
        }
        var candidates: [Int] = []
        for i in 0..<count where p[i] >= low && p[i] > 0 { candidates.append(i) }
        candidates.sort { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }
        var kept = Set<Int>()
        var mass: Float = 0
        for i in candidates {
            kept.insert(i)
            mass += p[i]
            if mass >= topP { break }
        }
        for i in 0..<count where p[i] > 0 && !kept.contains(i) { p[i] = 0 }
    }

    static func argmax(_ x: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<x.count where x[i] > x[best] { best = i }
        return best
    }

    static func logSumExp(_ x: UnsafeBufferPointer<Float>) -> Float {
        let maximum = x.max() ?? 0
        var sum: Double = 0
        for v in x { sum += Double(expf(v - maximum)) }
        return maximum + Float(log(sum))
    }

    /// Indices of the `count` largest values, largest first (lower index first among equals).
    public static func topIndices(_ x: UnsafeBufferPointer<Float>, count: Int) -> [Int] {
        let k = min(count, x.count)
        var top: [Int] = []
        top.reserveCapacity(k + 1)
        for i in 0..<x.count {
            if top.count == k, let last = top.last, x[i] <= x[last] { continue }
            var at = top.count
            while at > 0, x[top[at - 1]] < x[i] { at -= 1 }
            top.insert(i, at: at)
            if top.count > k { top.removeLast() }
        }
        return top
    }
}

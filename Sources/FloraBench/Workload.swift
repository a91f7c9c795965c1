// The synthetic serving workload of `flora bench` (DESIGN.md section 7): a seeded request set
// shaped like the chat data of vLLM's throughput benchmark (ShareGPT after its filtering: prompts
// and outputs of a few hundred tokens with long tails), without shipping that data set.
//
// Prompt and output lengths are log-normal, `exp(ln(median) + σ·N(0, 1))`, clipped; the paper-
// sized set (`scale` 1) is 1,000 requests. `scale` multiplies the request count and, by default,
// every length and bound, so that a 2-core machine finishes in minutes.

import FloraTensor
import FloraTokenizer
import Foundation

/// A clipped log-normal distribution of token counts.
public struct LengthDistribution: Sendable, Equatable, CustomStringConvertible {
    public var median: Double
    /// Standard deviation of the logarithm.
    public var sigma: Double
    public var minimum: Int
    public var maximum: Int

    public init(median: Double, sigma: Double, minimum: Int, maximum: Int) {
        self.median = median
        self.sigma = sigma
        self.minimum = minimum
        self.maximum = maximum
    }

    /// Prompts: median 160 tokens, σ 1.0, clipped to [50, 2000] (mean about 260).
    public static let chatPrompt = LengthDistribution(median: 160, sigma: 1.0, minimum: 50, maximum: 2000)
    /// Outputs: median 128 tokens, σ 0.8, clipped to [16, 512] (mean about 170).
    public static let chatOutput = LengthDistribution(median: 128, sigma: 0.8, minimum: 16, maximum: 512)

    /// The bounds after scaling: `round(bound · scale)`, at least 1.
    public func bounds(scale: Double) -> ClosedRange<Int> {
        let low = max(1, Int((Double(minimum) * scale).rounded()))
        return low...max(low, Int((Double(maximum) * scale).rounded()))
    }

    /// One draw, multiplied by `scale`, rounded and clipped to `bounds(scale:)`.
    public func sample(scale: Double, using generator: inout SeededGenerator) -> Int {
        let value = exp(log(median) + sigma * Double(generator.nextGaussian())) * scale
        let range = bounds(scale: scale)
        return min(range.upperBound, max(range.lowerBound, Int(value.rounded())))
    }

    public var description: String {
        "log-normal, median \(Int(median)), σ \(sigma), clipped to [\(minimum), \(maximum)]"
    }
}

/// What request set to build.
public struct WorkloadSpec: Sendable, Equatable {
    public static let paperRequestCount = 1_000

    public var seed: UInt64
    public var requestCount: Int
    /// Multiplies every prompt and output length and their bounds.
    public var lengthScale: Double
    public var promptLength: LengthDistribution
    public var outputLength: LengthDistribution
    /// Adapters to draw from; nil gives every request its own.
    public var adapterPoolSize: Int?
    /// Poisson arrivals at this many requests per second; nil: every request at time 0.
    public var arrivalRate: Double?

    public init(
        seed: UInt64 = 0, requestCount: Int = WorkloadSpec.paperRequestCount, lengthScale: Double = 1,
        promptLength: LengthDistribution = .chatPrompt, outputLength: LengthDistribution = .chatOutput,
        adapterPoolSize: Int? = nil, arrivalRate: Double? = nil
    ) {
        self.seed = seed
        self.requestCount = requestCount
        self.lengthScale = lengthScale
        self.promptLength = promptLength
        self.outputLength = outputLength
        self.adapterPoolSize = adapterPoolSize
        self.arrivalRate = arrivalRate
    }

    /// The paper-sized set scaled: `round(1000 · scale)` requests (at least 1), lengths × `scale`.
    public static func scaled(_ scale: Double, seed: UInt64 = 0) -> WorkloadSpec {
        WorkloadSpec(seed: seed, requestCount: max(1, Int((Double(paperRequestCount) * scale).rounded())), lengthScale: scale)
    }

    /// Adapters the requests draw from.
    public var poolSize: Int { adapterPoolSize ?? requestCount }

    public func validate() throws {
        guard requestCount >= 1 else { throw BenchError.invalidArgument("request count must be at least 1, got \(requestCount)") }
        guard lengthScale.isFinite, lengthScale > 0 else {
            throw BenchError.invalidArgument("length scale must be a positive number, got \(lengthScale)")
        }
        for (name, d) in [("prompt", promptLength), ("output", outputLength)] {
            guard d.median > 0, d.sigma >= 0, d.minimum >= 1, d.maximum >= d.minimum else {
                throw BenchError.invalidArgument("\(name) lengths: need median > 0, σ ≥ 0 and 1 ≤ minimum ≤ maximum, got \(d)")
            }
        }
        if let pool = adapterPoolSize, pool < 1 { throw BenchError.invalidArgument("adapter pool must hold at least 1 adapter, got \(pool)") }
        if let rate = arrivalRate, !(rate.isFinite && rate > 0) {
            throw BenchError.invalidArgument("arrival rate must be a positive number of requests per second, got \(rate)")
        }
    }
}

/// One request of a workload.
public struct WorkloadRequest: Sendable, Equatable {
    public var promptTokens: [Int32]
    /// Tokens to generate (the engine is kept from stopping earlier).
    public var outputTokens: Int
    /// Index into the adapter pool.
    public var adapter: Int
    /// Seconds after the start at which the request arrives.
    public var arrivalSeconds: Double
}

/// A built request set. Lengths, prompts, adapters and arrivals come from separate streams of
/// the seed, so that changing the pool size or the rate leaves the lengths and prompts alone.
public struct Workload: Sendable, Equatable {
    public let spec: WorkloadSpec
    public let requests: [WorkloadRequest]

    /// - Parameter tokenIds: the ids prompts are drawn from, uniformly (ordinary tokens only).
    public init(spec: WorkloadSpec, tokenIds: [Int32]) throws {
        try spec.validate()
        guard !tokenIds.isEmpty else { throw BenchError.invalidArgument("no token ids to draw prompts from") }
        self.spec = spec
        var lengths = SeededGenerator(seed: spec.seed &+ 0x1000)
        var prompts = SeededGenerator(seed: spec.seed &+ 0x2000)
        var adapters = SeededGenerator(seed: spec.seed &+ 0x3000)
        var arrivals = SeededGenerator(seed: spec.seed &+ 0x4000)
        let n = spec.requestCount
        // Every adapter of the pool is used once when the pool is no larger than the set; the
        // rest draw uniformly; then the order is shuffled.
        let pool = spec.poolSize
        var adapterOfRequest = (0..<n).map { i in i < pool ? i : Int(adapters.next() % UInt64(pool)) }
        adapterOfRequest.shuffle(using: &adapters)
        var time = 0.0
        var built: [WorkloadRequest] = []
        built.reserveCapacity(n)
        for i in 0..<n {
            let promptCount = spec.promptLength.sample(scale: spec.lengthScale, using: &lengths)
            let outputCount = spec.outputLength.sample(scale: spec.lengthScale, using: &lengths)
            let prompt = (0..<promptCount).map { _ in tokenIds[Int(prompts.next() % UInt64(tokenIds.count))] }
            if i > 0, let rate = spec.arrivalRate {
                // Exponential gaps: a Poisson process.
                let u = max(Double(arrivals.nextUnitFloat()), 1e-9)
                time += -log(u) / rate
            }
            built.append(WorkloadRequest(promptTokens: prompt, outputTokens: outputCount, adapter: adapterOfRequest[i], arrivalSeconds: time))
        }
        requests = built
    }

    /// Ids of a tokenizer's ordinary tokens: no added, special or stop tokens.
    public static func ordinaryTokenIds(of tokenizer: Tokenizer) -> [Int32] {
        let excluded = Set(tokenizer.addedTokens.map(\.id)).union(tokenizer.stopTokenIds)
        return (0..<TokenID(tokenizer.vocabularySize)).filter { !excluded.contains($0) }
    }

    public var promptTokenCount: Int { requests.reduce(0) { $0 + $1.promptTokens.count } }
    public var outputTokenCount: Int { requests.reduce(0) { $0 + $1.outputTokens } }
    /// Adapters the requests actually use.
    public var distinctAdapters: [Int] { Set(requests.map(\.adapter)).sorted() }
    public var longestRequest: Int { requests.map { $0.promptTokens.count + $0.outputTokens }.max() ?? 0 }
}

public enum BenchError: Error, CustomStringConvertible, Sendable {
    case invalidArgument(String)
    case runFailed(String)

    public var description: String {
        switch self {
        case .invalidArgument(let detail): detail
        case .runFailed(let detail): detail
        }
    }
}

// A training minibatch: sequences of several adapters laid end to end in one token dimension
// (no padding: each segment attends causally to itself only), grouped by adapter so that every
// adapter owns one contiguous token range.

/// One training sequence (a packed window of text or a prompt/completion pair).
public struct TrainingExample: Sendable, Equatable {
    /// Token ids, `[L]`.
    public var tokens: [Int32]
    /// `[L]`: whether token i is a prediction target (the model predicts it from the tokens before
    /// it in its segment). The first token of a segment never is.
    public var targetMask: [Bool]
    /// Starts of the segments (documents) packed into this sequence, ascending, the first 0:
    /// attention and positions restart at each.
    public var segmentStarts: [Int]

    /// `targetMask` nil: every token but the segments' first is a target.
    public init(tokens: [Int32], targetMask: [Bool]? = nil, segmentStarts: [Int] = [0]) {
        self.tokens = tokens
        self.segmentStarts = segmentStarts.isEmpty ? [0] : segmentStarts
        var mask = targetMask ?? [Bool](repeating: true, count: tokens.count)
        for start in self.segmentStarts where start < mask.count { mask[start] = false }
        self.targetMask = mask
    }

    /// Number of tokens the loss counts.
    public var targetCount: Int { targetMask.reduce(0) { $0 + ($1 ? 1 : 0) } }
}

/// The flat minibatch one forward and backward runs over.
public struct TrainingBatch: Sendable {
    public private(set) var tokens: [Int32] = []          // [T]
    public private(set) var positions: [Int32] = []       // [T], from 0 in every segment
    /// `[T]`: the token that token t's logits are scored against (the next token), -1 for none.
    public private(set) var targets: [Int32] = []
    /// `[T]`: the weight of token t's cross-entropy in the objective (0 without target).
    public private(set) var lossWeights: [Float] = []
    /// Attention spans: token t attends to the tokens of its segment up to itself.
    public private(set) var segments: [Range<Int>] = []
    /// Contiguous token ranges of one adapter each (adapter -1: the base model alone), ascending by adapter.
    public private(set) var groups: [(adapter: Int, tokens: Range<Int>)] = []
    /// `[adapterCount]`: targets of each adapter in this batch.
    public private(set) var targetCounts: [Int]

    public var tokenCount: Int { tokens.count }

    /// Lays `examples` out grouped by adapter (stable within an adapter). Adapter indices are
    /// -1 (no adapter) or `0..<adapterCount`. Every adapter's loss is its mean over its own
    /// targets in this batch until `normalize(byTargetCounts:)` says otherwise.
    public init(examples: [(example: TrainingExample, adapter: Int)], adapterCount: Int) throws {
        targetCounts = [Int](repeating: 0, count: adapterCount)
        let order = examples.indices.sorted { (examples[$0].adapter, $0) < (examples[$1].adapter, $1) }
        var adapterOfToken: [Int] = []
        for index in order {
            let (example, adapter) = examples[index]
            guard adapter >= -1, adapter < adapterCount else {
                throw TrainingError.invalidArgument("example \(index) names adapter \(adapter), expected -1 or 0..<\(adapterCount)")
            }
            guard example.targetMask.count == example.tokens.count else {
                throw TrainingError.invalidArgument("example \(index) has \(example.tokens.count) tokens and \(example.targetMask.count) mask entries")
            }
            let starts = example.segmentStarts
            guard starts.first == 0, zip(starts, starts.dropFirst()).allSatisfy({ $0 < $1 }), starts.last! <= max(example.tokens.count - 1, 0) else {
                throw TrainingError.invalidArgument("example \(index) has segment starts \(starts) that are not ascending within its \(example.tokens.count) tokens")
            }
            if example.tokens.isEmpty { continue }
            let base = tokens.count
            let ends = Array(starts.dropFirst()) + [example.tokens.count]
            for (start, end) in zip(starts, ends) {
                segments.append((base + start)..<(base + end))
                for i in start..<end {
                    tokens.append(example.tokens[i])
                    positions.append(Int32(i - start))
                    let hasTarget = i + 1 < end && example.targetMask[i + 1]
                    targets.append(hasTarget ? example.tokens[i + 1] : -1)
                    adapterOfToken.append(adapter)
                    if hasTarget && adapter >= 0 { targetCounts[adapter] += 1 }
                }
            }
        }
        var t = 0
        while t < adapterOfToken.count {
            let adapter = adapterOfToken[t]
            var end = t
            while end < adapterOfToken.count && adapterOfToken[end] == adapter { end += 1 }
            groups.append((adapter, t..<end))
            t = end
        }
        lossWeights = [Float](repeating: 0, count: tokens.count)
        normalize(byTargetCounts: targetCounts, baseTargets: targets.indices.filter { targets[$0] >= 0 && adapterOfToken[$0] < 0 }.count)
    }

    /// Sets every target's loss weight to `1 / counts[adapter]` (tokens without adapter: `1 / baseTargets`):
    /// with gradient accumulation, the counts of the whole optimiser step make each adapter's
    /// objective its mean over all the step's targets.
    public mutating func normalize(byTargetCounts counts: [Int], baseTargets: Int? = nil) {
        for (adapter, range) in groups {
            let count: Int
            if adapter >= 0 {
                count = counts[adapter]
            } else {
                count = baseTargets ?? range.filter { targets[$0] >= 0 }.count
            }
            let weight: Float = count > 0 ? 1 / Float(count) : 0
            for t in range { lossWeights[t] = targets[t] >= 0 ? weight : 0 }
        }
    }
}

/// Cross-entropy sums of one forward, per adapter.
public struct LossSums: Sendable, Equatable {
    /// `Σ CE` over each adapter's targets, `[adapterCount]`.
    public var sums: [Double]
    /// Targets counted per adapter.
    public var counts: [Int]
    /// The same for tokens without adapter.
    public var baseSum: Double = 0
    public var baseCount: Int = 0

    public init(adapterCount: Int) {
        sums = [Double](repeating: 0, count: adapterCount)
        counts = [Int](repeating: 0, count: adapterCount)
    }

    /// Mean cross-entropy of adapter `a` (nats per target token), nil without targets.
    public func mean(_ a: Int) -> Double? { counts[a] > 0 ? sums[a] / Double(counts[a]) : nil }

    /// Mean over all targets.
    public var overallMean: Double? {
        let n = counts.reduce(baseCount, +)
        return n > 0 ? (sums.reduce(baseSum, +)) / Double(n) : nil
    }

    public mutating func add(_ other: LossSums) {
        for i in sums.indices {
            sums[i] += other.sums[i]
            counts[i] += other.counts[i]
        }
        baseSum += other.baseSum
        baseCount += other.baseCount
    }
}

public enum TrainingError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidArgument(String)
    /// Training data that cannot be used: the file (or folder), the line when there is one, what is wrong.
    case data(file: String, line: Int?, detail: String)
    case checkpoint(path: String, detail: String)

    public var description: String {
        switch self {
        case .invalidArgument(let detail): detail
        case .data(let file, let line, let detail): "\(file)\(line.map { ":\($0)" } ?? ""): \(detail)"
        case .checkpoint(let path, let detail): "\(path): \(detail)"
        }
    }
}

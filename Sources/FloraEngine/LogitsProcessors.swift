// The logits processors one sequence applies before its token is picked, in vLLM v1's order:
// `logit_bias`, the `min_tokens` mask, then the penalties (repetition, frequency, presence);
// temperature, top-k and top-p follow in the sampler. Greedy decoding picks the argmax of the
// processed logits too.
//
// Semantics, as vLLM (vllm/v1/sample) computes them:
//   bias:        logits[t] += bias[t]
//   min_tokens:  while generated < min_tokens: logits[s] = -inf for every stop token s
//   repetition:  for t in prompt ∪ output: logits[t] = logits[t] > 0 ? logits[t] / p : logits[t] * p
//   frequency:   for t in output: logits[t] -= frequency * count[t]
//   presence:    for t in output: logits[t] -= presence
// The penalties read per-sequence token tables kept as tokens are generated, so a step costs
// O(distinct tokens seen), never a rescan of the output and never an allocation (the tables grow
// by doubling).

public struct LogitsProcessors: Sendable {
    private let biasTokens: [Int32]     // sorted, so the order of additions never varies
    private let biasValues: [Float]
    private let minTokens: Int
    private let maskedTokens: [Int32]   // stop tokens, masked while generated < minTokens
    private let repetitionPenalty: Float
    private let presencePenalty: Float
    private let frequencyPenalty: Float
    /// Distinct tokens of the prompt and of the output (for the repetition penalty).
    private var seen = TokenCounts()
    /// How often each token was generated (for the frequency and presence penalties).
    public private(set) var outputCounts = TokenCounts()
    public private(set) var generated = 0

    /// nil when no processor is on: the model's logits are then sampled untouched.
    /// `stopTokens` are the ones that would finish the sequence (masked under `minTokens`).
    public init?(_ parameters: SamplingParameters, promptTokens: [Int32], stopTokens: Set<Int32>) {
        guard parameters.processesLogits else { return nil }
        let bias = parameters.logitBias.sorted { $0.key < $1.key }
        biasTokens = bias.map(\.key)
        biasValues = bias.map(\.value)
        minTokens = parameters.minTokens
        maskedTokens = parameters.minTokens > 0 ? stopTokens.sorted() : []
        repetitionPenalty = parameters.repetitionPenalty
        presencePenalty = parameters.presencePenalty
        frequencyPenalty = parameters.frequencyPenalty
        if repetitionPenalty != 1 {
            for token in promptTokens { seen.add(token) }
        }
    }

    /// Writes the processed `logits` into `processed` (at least `logits.count` floats).
    public func apply(_ logits: UnsafeBufferPointer<Float>, into processed: UnsafeMutablePointer<Float>) {
        let vocab = logits.count
        processed.update(from: logits.baseAddress!, count: vocab)
        for i in biasTokens.indices where Int(biasTokens[i]) < vocab {
            processed[Int(biasTokens[i])] += biasValues[i]
        }
        if generated < minTokens {
            for token in maskedTokens where Int(token) < vocab { processed[Int(token)] = -.infinity }
        }
        if repetitionPenalty != 1 {
            let p = repetitionPenalty
            seen.forEach { token, _ in
                guard Int(token) < vocab else { return }
                let x = processed[Int(token)]
                processed[Int(token)] = x > 0 ? x / p : x * p
            }
        }
        if frequencyPenalty != 0 || presencePenalty != 0 {
            let (frequency, presence) = (frequencyPenalty, presencePenalty)
            outputCounts.forEach { token, count in
                guard Int(token) < vocab else { return }
                processed[Int(token)] -= frequency * Float(count)
                processed[Int(token)] -= presence
            }
        }
    }

    /// Records the token the sequence generated.
    public mutating func record(_ token: Int32) {
        generated += 1
        if repetitionPenalty != 1 { seen.add(token) }
        if frequencyPenalty != 0 || presencePenalty != 0 { outputCounts.add(token) }
    }
}

/// A sparse count per token id: open addressing with linear probing over a power-of-two table,
/// plus the distinct tokens in first-seen order so that a pass visits only those.
public struct TokenCounts: Sendable {
    private var slots: [Int32] = []     // [capacity] token id, or -1 when empty
    private var slotIndex: [Int32] = [] // [capacity] index into `tokens`/`counts`
    private var tokens: [Int32] = []    // [distinct]
    private var counts: [Int32] = []    // [distinct]

    public init() {}

    public var distinctCount: Int { tokens.count }

    public func count(of token: Int32) -> Int {
        guard !slots.isEmpty else { return 0 }
        var at = Self.hash(token) & (slots.count - 1)
        while slots[at] != -1 {
            if slots[at] == token { return Int(counts[Int(slotIndex[at])]) }
            at = (at + 1) & (slots.count - 1)
        }
        return 0
    }

    public mutating func add(_ token: Int32) {
        if (tokens.count + 1) * 2 > slots.count { grow() }
        var at = Self.hash(token) & (slots.count - 1)
        while slots[at] != -1 {
            if slots[at] == token { counts[Int(slotIndex[at])] += 1; return }
            at = (at + 1) & (slots.count - 1)
        }
        slots[at] = token
        slotIndex[at] = Int32(tokens.count)
        tokens.append(token)
        counts.append(1)
    }

    /// Visits every distinct token with its count, in first-seen order.
    public func forEach(_ body: (Int32, Int) -> Void) {
        for i in tokens.indices { body(tokens[i], Int(counts[i])) }
    }

    private mutating func grow() {
        let capacity = max(64, slots.count * 2)
        slots = [Int32](repeating: -1, count: capacity)
        slotIndex = [Int32](repeating: 0, count: capacity)
        tokens.reserveCapacity(capacity / 2)
        counts.reserveCapacity(capacity / 2)
        for (i, token) in tokens.enumerated() {
            var at = Self.hash(token) & (capacity - 1)
            while slots[at] != -1 { at = (at + 1) & (capacity - 1) }
            slots[at] = token
            slotIndex[at] = Int32(i)
        }
    }

    /// Fibonacci hashing: consecutive ids (common in vocabularies) spread over the table.
    private static func hash(_ token: Int32) -> Int {
        Int(truncatingIfNeeded: (UInt64(UInt32(bitPattern: token)) &* 0x9E37_79B9_7F4A_7C15) >> 32)
    }
}
